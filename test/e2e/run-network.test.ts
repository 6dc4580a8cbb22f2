// The default network and published ports, checked from outside: a
// container's httpd answers through -p on 127.0.0.1, two containers on the
// bridge reach each other, a port in use fails the run cleanly, and rm
// gives back the namespace, the veth, the address and the port.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { containerEnv, expectNothingLeft, freePort, NOTHING, portIsFree, waitFor, type ContainerEnv } from '../helpers/containers.js';

const canRun = process.getuid?.() === 0;
const HTTPD = ['sh', '-c', 'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && exec httpd -f -p 80 -h /www'];

function curl(url: string): { code: number | null; body: string } {
  const r = spawnSync('curl', ['-s', '--max-time', '2', url], { encoding: 'utf8' });
  return { code: r.status, body: r.stdout };
}

interface Inspected {
  Id: string;
  NetworkSettings: { IPAddress: string; Gateway: string; IPPrefixLen: number; SandboxKey: string; PortsText: string[] };
}

describe.skipIf(!canRun)(`the default network${canRun ? '' : ' (skipped: needs root)'}`, () => {
  let ctx: ContainerEnv;
  beforeAll(async () => {
    ctx = await containerEnv();
  }, 120_000);
  afterEach(async () => ctx.removeAll());
  afterAll(async () => ctx?.dispose());

  const inspect = async (name: string): Promise<Inspected> => (JSON.parse((await ctx.tsb(['inspect', name])).stdout) as Inspected[])[0] as Inspected;

  test('run -d -p PORT:80 httpd answers on 127.0.0.1:PORT; rm gives everything back', async () => {
    const port = await freePort();
    const r = await ctx.tsb(['run', '-d', '--name', 'web', '-p', `${port}:80`, 'busybox:test', ...HTTPD]);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    expect(id).toMatch(/^[0-9a-f]{64}$/);
    await waitFor(() => curl(`http://127.0.0.1:${port}/`).body !== '', 5000, 'httpd through the published port');
    expect(curl(`http://127.0.0.1:${port}/`).body).toBe(`hello from ${id.slice(0, 12)}\n`);
    const ps = await ctx.tsb(['ps']);
    expect(ps.stdout).toContain(`0.0.0.0:${port}->80/tcp`);
    const info = await inspect('web');
    expect(info.NetworkSettings.IPAddress.startsWith(ctx.subnet.slice(0, ctx.subnet.lastIndexOf('.')))).toBe(true);
    expect(info.NetworkSettings.SandboxKey).toBe(`/run/netns/tsb-${id.slice(0, 12)}`);
    expect(readdirSync('/run/netns')).toContain(`tsb-${id.slice(0, 12)}`);
    expect(await portIsFree(port)).toBe(false);

    expect((await ctx.tsb(['rm', '-f', 'web'])).code).toBe(0);
    expect(await expectNothingLeft(ctx, [id])).toEqual(NOTHING);
    expect(await portIsFree(port)).toBe(true);
  });

  test('a port already in use is a one-line error (exit 125) and leaves nothing', async () => {
    const port = await freePort();
    const blocker = net.createServer();
    await new Promise<void>((res) => blocker.listen(port, '0.0.0.0', () => res()));
    try {
      const r = await ctx.tsb(['run', '-d', '-p', `${port}:80`, 'busybox:test', ...HTTPD]);
      expect(r.code).toBe(125);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`ERROR: port is already allocated: cannot listen on 0.0.0.0:${port}/tcp (TSB_RUN_PORT_IN_USE)\n`);
      expect((await ctx.tsb(['ps', '-aq'])).stdout).toBe('');
      expect(await expectNothingLeft(ctx, [])).toEqual(NOTHING);
      // The same in the foreground.
      const fg = await ctx.tsb(['run', '--rm', '-p', `127.0.0.1:${port}:80`, 'busybox:test', 'true']);
      expect(fg.code).toBe(125);
      expect(fg.stderr).toContain('TSB_RUN_PORT_IN_USE');
    } finally {
      await new Promise<void>((res) => blocker.close(() => res()));
    }
  });

  test('two containers on the bridge reach each other', async () => {
    expect((await ctx.tsb(['run', '-d', '--name', 'server', 'busybox:test', ...HTTPD])).code).toBe(0);
    const server = await inspect('server');
    const ip = server.NetworkSettings.IPAddress;
    const r = await ctx.tsb([
      'run', '--rm', 'busybox:test', 'sh', '-c',
      `for i in $(seq 50); do wget -q -O- http://${ip}/ && exit 0; sleep 0.1; done; exit 1`,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`hello from ${server.Id.slice(0, 12)}\n`);
    // The client saw the bridge's gateway as its default route, and its own address on eth0.
    const routes = await ctx.tsb(['run', '--rm', 'busybox:test', 'sh', '-c', 'ip -4 route; ip -4 -o addr show eth0']);
    expect(routes.stdout).toContain(`default via ${server.NetworkSettings.Gateway} dev eth0`);
    expect(routes.stdout).toMatch(new RegExp(`eth0\\s+inet ${ctx.subnet.split('.').slice(0, 3).join('\\.')}\\.\\d+/24`));
  });

  test('a random host port (-p CTR) and a host address are published', async () => {
    const r = await ctx.tsb(['run', '-d', '--name', 'anyport', '-p', '80', '-p', '127.0.0.1::8080', 'busybox:test', ...HTTPD]);
    expect(r.code).toBe(0);
    const ports = (await inspect('anyport')).NetworkSettings.PortsText;
    expect(ports).toHaveLength(2);
    const port = Number(/^0\.0\.0\.0:(\d+)->80\/tcp$/.exec(ports[0] as string)?.[1]);
    expect(ports[1]).toMatch(/^127\.0\.0\.1:\d+->8080\/tcp$/);
    await waitFor(() => curl(`http://127.0.0.1:${port}/`).body !== '', 5000, 'httpd on the random port');
  });

  test('--network none has only loopback, --network host the host interfaces', async () => {
    const none = await ctx.tsb(['run', '--rm', '--network', 'none', 'busybox:test', 'sh', '-c', 'ls /sys/class/net']);
    expect(none.stdout.split(/\s+/).filter(Boolean)).toEqual(['lo']);
    const host = await ctx.tsb(['run', '--rm', '--network', 'host', 'busybox:test', 'sh', '-c', 'ls /sys/class/net']);
    expect(host.stdout.split(/\s+/)).toContain(ctx.bridge);
    const discarded = await ctx.tsb(['run', '--rm', '--network', 'none', '-p', '80:80', 'busybox:test', 'true']);
    expect(discarded.code).toBe(0);
    expect(discarded.stderr).toBe('WARNING: Published ports are discarded when using none network mode\n');
  });
});
