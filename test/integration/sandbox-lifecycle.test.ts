// tsbuild-sandbox from start to end: exit statuses, setup failures, abort
// and a dying caller (nothing may remain), signals, stdio, setuid, the
// default network, deep overlay stacks and mounts.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { etcFiles, listOpaque, runSandbox, SandboxError, setOpaque, type SandboxSpec } from '../../executor/sandbox/index.js';
import {
  BINARY,
  TEST_PATH,
  busyboxRootfs,
  buildHelper,
  cannotRun,
  cgroupLeaves,
  collector,
  describeStart,
  expectNothingLeft,
  overlayDirs,
  privateCgroupParent,
  processesInPidNamespace,
  removeCgroupParent,
  removeTree,
  runIn,
  type Started,
} from './fixtures/sandbox-rootfs.js';

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}

function exitedZombie(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') === true;
  } catch {
    return true;
  }
}

describe.skipIf(cannotRun !== null)(`sandbox lifecycle${cannotRun !== null ? ` (skipped: ${cannotRun})` : ''}`, () => {
  const parent = privateCgroupParent();
  const ctx = { base: '', lowers: [] as string[], parent };
  const run = (script: string, extra: Partial<SandboxSpec> = {}) => runIn(ctx, ['sh', '-c', script], extra);
  const spec = (args: string[], extra: Partial<SandboxSpec> = {}): SandboxSpec => ({
    rootfs: overlayDirs(ctx.base, ctx.lowers),
    args,
    env: [TEST_PATH],
    cgroup_parent: parent,
    ...extra,
  });

  beforeAll(() => {
    buildHelper();
    ctx.lowers = [busyboxRootfs()];
    ctx.base = mkdtempSync(path.join(os.tmpdir(), 'tsb-sbx-life-'));
  });
  afterAll(() => {
    for (const d of ctx.lowers) removeTree(d);
    removeTree(ctx.base);
    removeCgroupParent(parent);
  });

  test('exit statuses pass through: 42, 143 for SIGTERM, and 125 is just the command’s', async () => {
    expect((await run('exit 42')).result).toMatchObject({ status: 42, signal: null, oom: false });
    expect((await run('kill -TERM $$')).result).toMatchObject({ status: 143, signal: 15 });
    expect((await run('kill -KILL $$')).result).toMatchObject({ status: 137, signal: 9, oom: false });
    // The exit code the helper uses for its own failures: still a normal result.
    expect((await run('exit 125')).result).toMatchObject({ status: 125, signal: null });
  });

  test('a nonexistent lower directory rejects with SandboxError at stage "mount overlay"', async () => {
    const missing = path.join(ctx.base, 'no-such-layer');
    const err = await runSandbox(spec(['true'], { rootfs: { ...overlayDirs(ctx.base, ctx.lowers), lower: [missing, ...ctx.lowers] } })).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SandboxError);
    expect(err).toMatchObject({ code: 'TSB_SANDBOX_SETUP', stage: 'mount overlay', syscall: 'stat', errno: 2, errnoName: 'ENOENT' });
    expect((err as Error).message).toContain(missing);
    await expectNothingLeft(null, ctx.base, parent);
  });

  test('a command that does not exist is a setup failure at stage "exec"', async () => {
    const err = await runSandbox(spec(['no-such-command'])).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TSB_SANDBOX_SETUP', stage: 'exec', syscall: 'execve', errnoName: 'ENOENT' });
    await expectNothingLeft(null, ctx.base, parent);
  });

  test('a bad spec is a setup failure at stage "spec"', async () => {
    const err = await runSandbox({ ...spec(['true']), network: 'bridge' as 'none' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TSB_SANDBOX_SETUP', stage: 'spec', errno: 22 });
  });

  test('aborting a long sleep kills the whole sandbox and leaves no process, mount or cgroup', async () => {
    const ac = new AbortController();
    let started: Started | null = null;
    const promise = runSandbox(spec(['sh', '-c', 'sleep 1000 & sleep 1000']), {
      signal: ac.signal,
      onStart: (s) => {
        started = describeStart(s);
        setTimeout(() => ac.abort(new Error('stop')), 100);
      },
    });
    const err = await promise.catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TSB_SANDBOX_ABORTED' });
    expect((err as Error).cause).toEqual(new Error('stop'));
    expect(started).not.toBeNull();
    expect((started as unknown as Started).pidns).not.toBeNull();
    await expectNothingLeft(started, ctx.base, parent);
  });

  test('an already aborted signal starts nothing', async () => {
    await expect(runSandbox(spec(['true']), { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'TSB_SANDBOX_ABORTED' });
  });

  test('a caller killed with SIGKILL leaves nothing: the helper kills the sandbox and removes its cgroup', async () => {
    const specFile = path.join(ctx.base, 'orphan-spec.json');
    writeFileSync(specFile, JSON.stringify(spec(['sleep', '1000'])));
    const caller = spawn('sh', ['-c', `"${BINARY}" --spec "${specFile}" --status-fd 1 & echo helper=$!; wait`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    caller.stdout.on('data', (c: Buffer) => (out += c.toString()));
    await waitFor(() => /"ok":true/.test(out));
    const helper = Number(/helper=(\d+)/.exec(out)?.[1]);
    const init = Number(/"pid":(\d+)/.exec(out)?.[1]);
    const cgroups = (JSON.parse(out.split('\n').find((l) => l.startsWith('{"cgroup"')) ?? '{}') as { cgroup: string[] }).cgroup;
    const started = describeStart({ pid: init, cgroups });
    caller.kill('SIGKILL');
    // Orphaned, the helper is reaped by the host's pid 1, whenever that gets to it.
    await waitFor(() => !existsSync(`/proc/${helper}`) || exitedZombie(helper));
    // No cleanup by us: the helper did it all.
    for (const c of cgroups) expect(existsSync(c)).toBe(false);
    expect(processesInPidNamespace(started.pidns as string)).toEqual([]);
    await expectNothingLeft(started, ctx.base, parent);
  });

  test('signals sent to the helper reach the command through init', async () => {
    const specFile = path.join(ctx.base, 'signal-spec.json');
    writeFileSync(specFile, JSON.stringify(spec(['sh', '-c', 'trap "echo got-term; exit 3" TERM; while :; do sleep 0.05; done'])));
    const child = spawn(BINARY, ['--spec', specFile, '--status-fd', '3'], { stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
    let out = '';
    let status = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stdio[3]?.on('data', (c: Buffer) => (status += c.toString()));
    await waitFor(() => status.includes('"ok":true'));
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(out).toBe('got-term\n');
    expect(code).toBe(3);
    expect(status).toContain('"exited":true,"status":3,"signal":null');
    expect(cgroupLeaves(parent)).toEqual([]);
  });

  test('init reaps orphaned zombies', async () => {
    const { stdout } = await run('(sleep 0.1 &); (sleep 0.1 &); sleep 0.6; cat /proc/[0-9]*/stat | cut -d" " -f3 | grep -c Z; true');
    expect(stdout.trim()).toBe('0');
  });

  test('stdin, stdout and stderr are streamed through pipes, never a terminal', async () => {
    const stdout = new PassThrough();
    const chunks: Buffer[] = [];
    stdout.on('data', (c: Buffer) => chunks.push(c));
    const err = collector();
    const result = await runSandbox(spec(['sh', '-c', 'cat; echo to-stderr >&2; [ -t 0 ] || [ -t 1 ] && echo tty; true']), {
      stdin: Readable.from([Buffer.from('line one\n'), Buffer.from('line two\n')]),
      stdout,
      stderr: err.sink,
    });
    expect(result.status).toBe(0);
    expect(Buffer.concat(chunks).toString()).toBe('line one\nline two\n');
    expect(err.out()).toBe('to-stderr\n');
  });

  test('setuid programs keep working: no_new_privs stays off (su, sudo as in docker build)', async () => {
    const { stdout } = await run('probe; probe-suid; id -u', { uid: 1000, gid: 1000, groups: [5] });
    expect(stdout).toBe('uid=1000 euid=1000\nuid=1000 euid=0\n1000\n');
  });

  test('network "default" reaches a server of the test as 10.0.2.2 through slirp4netns', async () => {
    const server = http.createServer((_req, res) => res.end('hello-from-host'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      // The leftover checks of runIn include the slirp4netns process.
      const { stdout, started } = await runIn(
        ctx,
        ['sh', '-c', `wget -q -O - http://10.0.2.2:${port}/; echo; cat /etc/resolv.conf; ls /sys/class/net | tr "\\n" " "`],
        { network: 'default', hostname: 'tsb', etc: etcFiles('tsb', 'default') },
      );
      expect(started).not.toBeNull();
      const [body, resolv, nets] = stdout.split('\n');
      expect(body).toBe('hello-from-host');
      expect(resolv).toBe('nameserver 10.0.2.3');
      expect(nets?.trim().split(' ').sort()).toEqual(['lo', 'tap0']);
    } finally {
      server.close();
    }
  });

  test('hundreds of lower layers mount, with whiteouts and opaque directories applied', async () => {
    const layers: string[] = [];
    const count = 300;
    for (let i = 0; i < count; i++) {
      // Long names: the plain option string would be ~40 KiB, far over a page.
      const dir = path.join(ctx.base, `layers/${String(i).padStart(4, '0')}-${'l'.repeat(120)}`);
      mkdirSync(path.join(dir, 'files'), { recursive: true });
      writeFileSync(path.join(dir, 'files', `f${i}`), String(i));
      writeFileSync(path.join(dir, 'shared'), String(i));
      layers.push(dir);
    }
    const bottom = layers[0] as string;
    mkdirSync(path.join(bottom, 'gone'));
    writeFileSync(path.join(bottom, 'gone/file'), 'x');
    mkdirSync(path.join(bottom, 'opq'));
    writeFileSync(path.join(bottom, 'opq/old'), 'x');
    // Layer 150 deletes /gone (overlay whiteout: char 0/0) and replaces /opq (opaque).
    execFileSync('mknod', [path.join(layers[150] as string, 'gone'), 'c', '0', '0']);
    mkdirSync(path.join(layers[150] as string, 'opq'));
    writeFileSync(path.join(layers[150] as string, 'opq/new'), 'y');
    await setOpaque([path.join(layers[150] as string, 'opq')]);
    expect(await listOpaque(layers[150] as string)).toEqual(['opq']);

    const lowers = [...layers].reverse().concat(ctx.lowers); // top first, busybox at the bottom
    const { stdout } = await runIn({ ...ctx, lowers }, ['sh', '-c', 'ls /files | wc -l; cat /shared; echo; ls -A /opq; ls /gone 2>&1 | head -1']);
    const [files, shared, opq, gone] = stdout.trim().split('\n');
    expect(files).toBe(String(count));
    expect(shared).toBe(String(count - 1));
    expect(opq).toBe('new');
    expect(gone).toMatch(/No such file or directory/);
  });

  test('replacing a directory inside the sandbox leaves an opaque directory in the upper dir', async () => {
    const rootfs = overlayDirs(ctx.base, ctx.lowers);
    const result = await runSandbox({ ...spec(['sh', '-c', 'rm -rf /etc && mkdir /etc && echo x > /etc/new']), rootfs });
    expect(result.status).toBe(0);
    const upper = (rootfs as { upper: string }).upper;
    expect(await listOpaque(upper)).toEqual(['etc']);
    expect(readFileSync(path.join(upper, 'etc/new'), 'utf8')).toBe('x\n');
  });

  test('cwd is created; binds and tmpfs mounts apply; a read-only dir rootfs refuses writes', async () => {
    const src = path.join(ctx.base, 'bind-src');
    mkdirSync(src);
    writeFileSync(path.join(src, 'in'), 'from-host');
    const rw = mkdtempSync(path.join(ctx.base, 'bind-rw-'));
    const script = [
      'pwd',
      'cat /mnt/src/in; echo',
      'echo no > /mnt/src/x 2>/dev/null && echo src-writable || echo src-ro',
      'echo out > /mnt/rw/out',
      'stat -c %a /scratch',
      'head -c 2097152 /dev/zero > /scratch/big 2>/dev/null && echo tmpfs-unbounded || echo tmpfs-full',
      'touch /newfile 2>&1 | grep -o "Read-only file system"',
    ].join('; ');
    const { stdout } = await runIn(ctx, ['sh', '-c', script], {
      rootfs: { dir: ctx.lowers[0] as string, readonly: true },
      cwd: '/tmp/work/deep',
      mounts: [
        { type: 'bind', source: src, target: '/mnt/src', readonly: true },
        { type: 'bind', source: rw, target: '/mnt/rw' },
        { type: 'tmpfs', target: '/scratch', size: 1024 * 1024, mode: 0o1777 },
      ],
    });
    expect(stdout.split('\n')).toEqual(['/tmp/work/deep', 'from-host', 'src-ro', '1777', 'tmpfs-full', 'Read-only file system', '']);
    expect(readFileSync(path.join(rw, 'out'), 'utf8')).toBe('out\n');
    // The working directory was created in the (read-only to the command) rootfs before it became read-only.
    expect(statSync(path.join(ctx.lowers[0] as string, 'tmp/work/deep')).isDirectory()).toBe(true);
    removeTree(path.join(ctx.lowers[0] as string, 'tmp/work'));
  });
});
