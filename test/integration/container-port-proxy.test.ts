// Published ports: the userspace proxy with real sockets (the "container"
// is a server on loopback here; the e2e tests go through real containers).
import dgram from 'node:dgram';
import net from 'node:net';
import { describe, expect, test } from 'vitest';
import { publishPorts } from '../../src/container/port-proxy.js';

async function tcpServer(handler: (s: net.Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const srv = net.createServer({ allowHalfOpen: true }, handler);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  return { port: (srv.address() as net.AddressInfo).port, close: () => new Promise((r) => srv.close(() => r())) };
}

function exchange(port: number, send: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => c.end(send));
    let got = '';
    c.on('data', (d) => (got += d.toString()));
    c.on('end', () => resolve(got));
    c.on('error', reject);
  });
}

describe('port proxy', () => {
  test('TCP: bytes both ways, with half-close; a random host port is reported', async () => {
    // Echo after the client's FIN: proves half-close is carried through.
    const backend = await tcpServer((s) => {
      let buf = '';
      s.on('data', (d) => (buf += d.toString()));
      s.on('end', () => s.end(`echo:${buf}`));
    });
    const pub = await publishPorts([{ hostIp: '127.0.0.1', hostPort: 0, containerPort: backend.port, protocol: 'tcp' }], '127.0.0.1');
    try {
      const port = pub.ports[0]?.hostPort as number;
      expect(port).toBeGreaterThan(0);
      expect(await exchange(port, 'hello')).toBe('echo:hello');
      const big = 'x'.repeat(1 << 20);
      expect((await exchange(port, big)).length).toBe(big.length + 5);
    } finally {
      await pub.close();
      await backend.close();
    }
  });

  test('TCP: nothing listening behind the port closes the client connection', async () => {
    const dead = await tcpServer(() => undefined);
    await dead.close();
    const pub = await publishPorts([{ hostIp: '127.0.0.1', hostPort: 0, containerPort: dead.port, protocol: 'tcp' }], '127.0.0.1');
    try {
      const got = await exchange(pub.ports[0]?.hostPort as number, 'x').catch(() => 'closed');
      expect(['', 'closed']).toContain(got);
    } finally {
      await pub.close();
    }
  });

  test('UDP: datagrams go to the container, replies come back to each client', async () => {
    const backend = dgram.createSocket('udp4');
    backend.on('message', (msg, rinfo) => backend.send(Buffer.concat([Buffer.from('re:'), msg]), rinfo.port, rinfo.address));
    await new Promise<void>((r) => backend.bind(0, '127.0.0.1', () => r()));
    const pub = await publishPorts([{ hostIp: '127.0.0.1', hostPort: 0, containerPort: backend.address().port, protocol: 'udp' }], '127.0.0.1');
    try {
      const port = pub.ports[0]?.hostPort as number;
      const ask = async (text: string): Promise<string> => {
        const c = dgram.createSocket('udp4');
        try {
          return await new Promise<string>((resolve) => {
            c.on('message', (m) => resolve(m.toString()));
            c.send(text, port, '127.0.0.1');
          });
        } finally {
          c.close();
        }
      };
      expect(await Promise.all([ask('a'), ask('b')])).toEqual(['re:a', 're:b']);
    } finally {
      await pub.close();
      backend.close();
    }
  });

  test('a port in use: TSB_RUN_PORT_IN_USE, and the ports bound before it are released', async () => {
    const blocker = await tcpServer(() => undefined);
    const free = await tcpServer(() => undefined);
    const freePort = free.port;
    await free.close();
    const err = await publishPorts(
      [
        { hostIp: '127.0.0.1', hostPort: freePort, containerPort: 80, protocol: 'tcp' },
        { hostIp: '127.0.0.1', hostPort: blocker.port, containerPort: 81, protocol: 'tcp' },
      ],
      '127.0.0.1',
    ).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TSB_RUN_PORT_IN_USE', message: `port is already allocated: cannot listen on 127.0.0.1:${blocker.port}/tcp` });
    const again = await tcpServer(() => undefined).catch(() => null);
    await again?.close();
    const rebind = net.createServer();
    await new Promise<void>((resolve, reject) => {
      rebind.once('error', reject);
      rebind.listen(freePort, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((r) => rebind.close(() => r()));
    await blocker.close();
  });
});
