// The helper's container features (native/README.md): joining a network
// namespace made by the caller and configuring its interface, a read-only
// overlay root, a pty for the command, and `exec` into a running sandbox
// with the sandbox's namespaces, cgroup, a chosen user and the same
// capability and seccomp restrictions.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execSandbox, runSandbox, SandboxError, type SandboxHandle, type SandboxResult, type SandboxSpec } from '../../executor/sandbox/index.js';
import {
  TEST_PATH,
  busyboxRootfs,
  buildHelper,
  cannotRun,
  cgroupLeaves,
  collector,
  overlayDirs,
  privateCgroupParent,
  removeCgroupParent,
  removeTree,
} from './fixtures/sandbox-rootfs.js';

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}

describe.skipIf(cannotRun !== null)(`sandbox container features${cannotRun !== null ? ` (skipped: ${cannotRun})` : ''}`, () => {
  const parent = privateCgroupParent();
  const ctx = { base: '', lowers: [] as string[] };
  const netns = `tsbtest-${process.pid}`;
  const spec = (args: string[], extra: Partial<SandboxSpec> = {}): SandboxSpec => ({
    rootfs: overlayDirs(ctx.base, ctx.lowers),
    args,
    env: [TEST_PATH],
    cgroup_parent: parent,
    ...extra,
  });

  /** A long-running sandbox to exec into; resolves once it runs. */
  async function startLong(extra: Partial<SandboxSpec> = {}): Promise<{ pid: number; cgroups: readonly string[]; done: Promise<SandboxResult>; handle: SandboxHandle }> {
    let started: { pid: number; cgroups: readonly string[] } | null = null;
    let handle: SandboxHandle | null = null;
    const done = runSandbox(spec(['sh', '-c', 'mkdir -p /tmp; echo inside > /tmp/mark; exec sleep 60'], { hostname: 'longbox', ...extra }), {
      onStart: (s) => {
        started = s;
      },
      onSpawn: (h) => {
        handle = h;
      },
    });
    await waitFor(() => started !== null);
    const s = started as unknown as { pid: number; cgroups: readonly string[] };
    return { ...s, done, handle: handle as unknown as SandboxHandle };
  }

  beforeAll(() => {
    buildHelper();
    ctx.lowers = [busyboxRootfs()];
    ctx.base = mkdtempSync(path.join(os.tmpdir(), 'tsb-sbx-ctr-'));
    execFileSync('ip', ['netns', 'add', netns]);
    // A veth pair whose inner end the sandbox configures; the outer end has the peer address.
    execFileSync('ip', ['link', 'add', `tsbh${process.pid % 100000}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', netns]);
    execFileSync('ip', ['addr', 'add', '10.88.99.1/24', 'dev', `tsbh${process.pid % 100000}`]);
    execFileSync('ip', ['link', 'set', `tsbh${process.pid % 100000}`, 'up']);
  });
  afterAll(() => {
    spawnSync('ip', ['link', 'del', `tsbh${process.pid % 100000}`]);
    spawnSync('ip', ['netns', 'del', netns]);
    for (const d of ctx.lowers) removeTree(d);
    removeTree(ctx.base);
    removeCgroupParent(parent);
  });

  test('network {netns, interface}: the sandbox joins the namespace with eth0 configured before it starts', async () => {
    const out = collector();
    const nsInode = execFileSync('stat', ['-L', '-c', '%i', `/run/netns/${netns}`], { encoding: 'utf8' }).trim();
    const r = await runSandbox(
      spec(['sh', '-c', 'stat -L -c %i /proc/self/ns/net; ip -4 -o addr show eth0; ip route; ping -c1 -W2 10.88.99.1 >/dev/null && echo pong'], {
        network: { netns: `/run/netns/${netns}`, interface: { name: 'eth0', address: '10.88.99.2/24', gateway: '10.88.99.1' } },
      }),
      { stdout: out.sink },
    ).catch((e: unknown) => {
      throw e;
    });
    expect(r.status).toBe(0);
    const lines = out.out().split('\n');
    expect(lines[0]).toBe(nsInode);
    expect(lines[1]).toMatch(/eth0\s+inet 10\.88\.99\.2\/24/);
    expect(out.out()).toContain('default via 10.88.99.1 dev eth0');
    expect(out.out()).toContain('pong');
    // The namespace outlives the sandbox (it is the caller's); eth0 keeps its address.
    expect(execFileSync('ip', ['-n', netns, '-4', '-o', 'addr', 'show', 'eth0'], { encoding: 'utf8' })).toContain('10.88.99.2/24');
    execFileSync('ip', ['-n', netns, 'addr', 'flush', 'dev', 'eth0']);
    execFileSync('ip', ['-n', netns, 'link', 'set', 'eth0', 'down']);
  });

  test('a namespace file that does not exist is a setup failure at stage network', async () => {
    const err = (await runSandbox(spec(['true'], { network: { netns: '/run/netns/no-such-ns' } })).catch((e: unknown) => e)) as SandboxError;
    expect(err).toBeInstanceOf(SandboxError);
    expect(err).toMatchObject({ code: 'TSB_SANDBOX_SETUP', stage: 'network', errno: 2 });
    expect(cgroupLeaves(parent)).toEqual([]);
  });

  test('rootfs.readonly on an overlay: the root is read-only, mounts are not', async () => {
    const out = collector();
    const r = await runSandbox(spec(['sh', '-c', 'touch /x 2>&1; touch /dev/shm/ok && echo shm-ok'], { rootfs: { ...overlayDirs(ctx.base, ctx.lowers), readonly: true } }), { stdout: out.sink });
    expect(r.status).toBe(0);
    expect(out.out()).toContain('Read-only file system');
    expect(out.out()).toContain('shm-ok');
  });

  test('tty: the command gets a pty as its controlling terminal, sized, relayed both ways, resizable', async () => {
    const out = collector();
    const stdin = new PassThrough();
    let handle: SandboxHandle | null = null;
    const done = runSandbox(spec(['sh', '-c', 'tty; stty size; read line; echo "got $line"; sleep 0.3; stty size'], { tty: { rows: 30, cols: 100 }, stdin: 'inherit', uid: 1000, gid: 1000 }), {
      stdout: out.sink,
      stdin,
      onSpawn: (h) => {
        handle = h;
      },
    });
    await waitFor(() => out.out().includes('30 100'));
    stdin.write('hello\n');
    await waitFor(() => out.out().includes('got hello'));
    (handle as unknown as SandboxHandle).resize(40, 120);
    const r = await done;
    stdin.end();
    expect(r.status).toBe(0);
    const text = out.out().replace(/\r/g, '');
    expect(text).toMatch(/^\/dev\/pts\/0\n30 100\nhello\ngot hello\n40 120\n$/);
  });

  test('exec: runs in the sandbox namespaces and cgroup, as the given user, with the given env and cwd', async () => {
    const long = await startLong();
    try {
      const out = collector();
      const r = await execSandbox(
        long.pid,
        { args: ['sh', '-c', 'hostname; cat /tmp/mark; id -u; echo $FOO; pwd; cat /proc/self/cgroup | grep -c :/$; grep CapEff /proc/self/status; ps -o pid,comm | grep -c sleep'], env: [TEST_PATH, 'FOO=bar'], cwd: '/tmp', uid: 1000, gid: 1000 },
        { stdout: out.sink },
      );
      expect(r.status).toBe(0);
      const lines = out.out().split('\n');
      expect(lines.slice(0, 5)).toEqual(['longbox', 'inside', '1000', 'bar', '/tmp']);
      expect(Number(lines[5])).toBeGreaterThan(0); // in the sandbox's cgroup namespace: its leaf is "/"
      expect(lines[6]).toMatch(/^CapEff:\s+0000000000000000$/); // non-root: no capabilities
      expect(lines[7]).toBe('1');
      // As root, docker's default capability set, and the seccomp filter (no mount, no unshare).
      const root = collector();
      await execSandbox(long.pid, { args: ['sh', '-c', 'grep CapEff /proc/self/status; mount -t tmpfs x /mnt 2>&1; unshare -n true 2>&1; echo end'], env: [TEST_PATH] }, { stdout: root.sink });
      expect(root.out()).toMatch(/CapEff:\s+00000000a80425fb/);
      expect(root.out()).toMatch(/mount: permission denied|Operation not permitted/);
      expect(root.out()).toContain('end');
      // Exit status and signals come back like run's.
      expect((await execSandbox(long.pid, { args: ['sh', '-c', 'exit 9'], env: [TEST_PATH] })).status).toBe(9);
      expect((await execSandbox(long.pid, { args: ['sh', '-c', 'kill -TERM $$'], env: [TEST_PATH] })).status).toBe(143);
    } finally {
      long.handle.signal('SIGPWR');
      await long.done.catch(() => undefined);
    }
    expect(cgroupLeaves(parent)).toEqual([]);
  });

  test('exec failures: a missing command is stage exec; a pid that is not a sandbox init is refused', async () => {
    const long = await startLong();
    try {
      const missing = (await execSandbox(long.pid, { args: ['nosuchcmd'], env: [TEST_PATH] }).catch((e: unknown) => e)) as SandboxError;
      expect(missing).toMatchObject({ code: 'TSB_SANDBOX_SETUP', stage: 'exec', errno: 2 });
      const bad = (await execSandbox(process.pid, { args: ['true'], env: [TEST_PATH] }).catch((e: unknown) => e)) as SandboxError;
      expect(bad).toMatchObject({ code: 'TSB_SANDBOX_SETUP', stage: 'join', errno: 1 });
      const gone = (await execSandbox(2 ** 22 + 12345, { args: ['true'], env: [TEST_PATH] }).catch((e: unknown) => e)) as SandboxError;
      expect(gone).toMatchObject({ code: 'TSB_SANDBOX_SETUP', stage: 'join' });
    } finally {
      long.handle.signal('SIGPWR');
      await long.done.catch(() => undefined);
    }
  });

  test('exec dies with its sandbox, and an aborted exec leaves nothing', async () => {
    const long = await startLong();
    const running = execSandbox(long.pid, { args: ['sleep', '61'], env: [TEST_PATH] });
    await sleep(200);
    long.handle.signal('SIGPWR');
    expect((await running).status).toBe(137);
    await long.done.catch(() => undefined);
    const again = await startLong();
    const ctl = new AbortController();
    const aborted = execSandbox(again.pid, { args: ['sleep', '62'], env: [TEST_PATH] }, { signal: ctl.signal });
    await sleep(200);
    ctl.abort();
    expect(await aborted.catch((e: unknown) => (e as SandboxError).code)).toBe('TSB_SANDBOX_ABORTED');
    const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
    expect(ps.split('\n').filter((l) => l === 'sleep 61' || l === 'sleep 62')).toEqual([]);
    again.handle.signal('SIGPWR');
    await again.done.catch(() => undefined);
    expect(readFileSync('/proc/self/mountinfo', 'utf8').includes(ctx.base)).toBe(false);
  });
});
