// Published ports: a userspace proxy in the supervisor, like docker-proxy.
// TCP: each accepted connection gets its own connection to the container's
// address, both directions piped with half-close; UDP: each client address
// gets its own socket towards the container, replies go back to the
// client, and a flow idle for 90 s is dropped. Every listener is bound
// before the container starts; one that cannot be is a run error and the
// others are closed again.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';
import net from 'node:net';
import { ContainerError } from './errors.js';
import type { PortSpec } from './port-spec.js';

const UDP_IDLE_MS = 90_000;

export interface Publication {
  /** The bindings as bound (host port 0 replaced by the chosen one). */
  ports: PortSpec[];
  close(): Promise<void>;
}

function addressInUse(p: PortSpec, err: NodeJS.ErrnoException): ContainerError {
  const where = `${p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp}:${p.hostPort}/${p.protocol}`;
  if (err.code === 'EADDRINUSE') {
    return new ContainerError('TSB_RUN_PORT_IN_USE', `port is already allocated: cannot listen on ${where}`, { cause: err });
  }
  return new ContainerError('TSB_RUN_INVALID_PORT', `cannot listen on ${where}: ${err.message}`, { cause: err });
}

async function publishTcp(p: PortSpec, target: string): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) => {
    const upstream = net.connect({ host: target, port: p.containerPort, allowHalfOpen: true });
    sockets.add(client);
    sockets.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', () => {
      sockets.delete(client);
      if (upstream.writableEnded || upstream.destroyed) drop();
    });
    upstream.on('close', () => {
      sockets.delete(upstream);
      if (client.writableEnded || client.destroyed) drop();
    });
    upstream.on('connect', () => {
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: p.hostIp, port: p.hostPort, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

async function publishUdp(p: PortSpec, target: string): Promise<{ port: number; close(): Promise<void> }> {
  const server = dgram.createSocket({ type: isIPv6(p.hostIp) ? 'udp6' : 'udp4' });
  const flows = new Map<string, { socket: dgram.Socket; timer: NodeJS.Timeout }>();
  const closeFlow = (key: string): void => {
    const f = flows.get(key);
    if (f === undefined) return;
    clearTimeout(f.timer);
    f.socket.close();
    flows.delete(key);
  };
  server.on('message', (msg, rinfo) => {
    const key = `${rinfo.address}|${rinfo.port}`;
    let flow = flows.get(key);
    if (flow === undefined) {
      const socket = dgram.createSocket('udp4');
      socket.on('message', (reply) => {
        server.send(reply, rinfo.port, rinfo.address);
        const f = flows.get(key);
        f?.timer.refresh();
      });
      socket.on('error', () => closeFlow(key));
      flow = { socket, timer: setTimeout(() => closeFlow(key), UDP_IDLE_MS) };
      flows.set(key, flow);
    } else {
      flow.timer.refresh();
    }
    flow.socket.send(msg, p.containerPort, target);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.bind({ address: p.hostIp, port: p.hostPort, exclusive: true }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => undefined);
  return {
    port: server.address().port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const key of [...flows.keys()]) closeFlow(key);
        server.close(() => resolve());
      }),
  };
}

/** Binds every port (or none) and forwards each to `target` (the container's address). */
export async function publishPorts(specs: readonly PortSpec[], target: string): Promise<Publication> {
  const open: Array<{ close(): Promise<void> }> = [];
  const ports: PortSpec[] = [];
  const closeAll = async (): Promise<void> => {
    await Promise.all(open.splice(0).map((o) => o.close()));
  };
  try {
    for (const p of specs) {
      try {
        const bound = p.protocol === 'tcp' ? await publishTcp(p, target) : await publishUdp(p, target);
        open.push(bound);
        ports.push({ ...p, hostPort: bound.port });
      } catch (err) {
        throw err instanceof ContainerError ? err : addressInUse(p, err as NodeJS.ErrnoException);
      }
    }
  } catch (err) {
    await closeAll();
    throw err;
  }
  return { ports, close: closeAll };
}
