// What a command inside tsbuild-sandbox can see and do, checked from
// outside wherever possible: namespaces, /proc and /sys, devices,
// capabilities, seccomp, descriptors, the init process.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  BINARY,
  TEST_PATH,
  busyboxRootfs,
  buildHelper,
  cannotRun,
  cgroupLeaves,
  overlayDirs,
  privateCgroupParent,
  removeCgroupParent,
  removeTree,
  runIn,
} from './fixtures/sandbox-rootfs.js';

const DOCKER_DEFAULT_CAPS = '00000000a80425fb';

describe.skipIf(cannotRun !== null)(`sandbox isolation${cannotRun !== null ? ` (skipped: ${cannotRun})` : ''}`, () => {
  const parent = privateCgroupParent();
  const ctx = { base: '', lowers: [] as string[], parent };
  const run = (script: string, extra = {}) => runIn(ctx, ['sh', '-c', script], extra);

  beforeAll(() => {
    buildHelper();
    ctx.lowers = [busyboxRootfs()];
    ctx.base = mkdtempSync(path.join(os.tmpdir(), 'tsb-sbx-iso-'));
  });
  afterAll(() => {
    for (const d of ctx.lowers) removeTree(d);
    removeTree(ctx.base);
    removeCgroupParent(parent);
  });

  test('the command is pid 2 under the helper init (pid 1) in its own pid namespace', async () => {
    const { result, stdout, started } = await run(
      'echo $$; cat /proc/1/comm; readlink /proc/self/ns/pid; ls /proc | grep -c "^[0-9]"; sleep 0.2',
    );
    expect(result.status).toBe(0);
    const [self, initName, ns, count] = stdout.trim().split('\n');
    expect(self).toBe('2');
    expect(initName).toBe('tsbuild-init');
    expect(ns).not.toBe(readlinkSync('/proc/self/ns/pid'));
    // From outside: the init the helper reported lives in exactly that namespace.
    expect(started?.pidns).toBe(ns);
    expect(result.pid).toBe(started?.pid);
    // init, sh, ls, grep: nothing of the host is visible.
    expect(Number(count)).toBeLessThanOrEqual(4);
  });

  test('hostname and uts namespace are its own', async () => {
    const { stdout } = await run('hostname; cat /etc/hostname; readlink /proc/self/ns/uts', {
      hostname: 'tsb-iso',
      etc: { hostname: 'tsb-iso\n' },
    });
    const [name, file, uts] = stdout.trim().split('\n');
    expect(name).toBe('tsb-iso');
    expect(file).toBe('tsb-iso');
    expect(uts).not.toBe(readlinkSync('/proc/self/ns/uts'));
    expect(os.hostname()).not.toBe('tsb-iso');
  });

  test('network "none": a new netns with only lo, and lo is up', async () => {
    const { stdout } = await run('ls /sys/class/net; cat /sys/class/net/lo/flags; readlink /proc/self/ns/net; tail -n +3 /proc/net/dev | cut -d: -f1', {
      network: 'none',
    });
    const lines = stdout.trim().split('\n').map((l) => l.trim());
    expect(lines[0]).toBe('lo');
    expect(Number(lines[1]) & 1).toBe(1); // IFF_UP
    expect(lines[2]).not.toBe(readlinkSync('/proc/self/ns/net'));
    expect(lines.slice(3)).toEqual(['lo']);
  });

  test('docker-masked paths are empty, /proc/sys and friends are read-only', async () => {
    const { stdout } = await run(
      [
        'for f in /proc/kcore /proc/keys /proc/timer_list /proc/latency_stats /proc/sched_debug; do [ -e $f ] && echo "$f $(wc -c < $f)"; done',
        'for d in /proc/acpi /proc/scsi /sys/firmware /proc/asound; do [ -d $d ] && echo "$d $(ls -A $d | wc -l)"; done',
        'echo 1 > /proc/sys/kernel/ns_last_pid 2>/dev/null && echo sys-writable || echo sys-ro',
        'echo h > /proc/sysrq-trigger 2>/dev/null && echo sysrq-writable || echo sysrq-ro',
        'touch /sys/x 2>/dev/null && echo sysfs-writable || echo sysfs-ro',
        'grep -E " /proc/(sys|bus|fs|irq|sysrq-trigger) " /proc/mounts | cut -d" " -f2,4 | cut -d, -f1',
      ].join('; '),
    );
    const lines = stdout.trim().split('\n');
    const sizes = lines.filter((l) => /^\/(proc|sys)\/\S+ \d+$/.test(l));
    expect(sizes.length).toBeGreaterThanOrEqual(3); // at least /proc/keys, /proc/timer_list, /sys/firmware
    for (const l of sizes) expect(l).toMatch(/ 0$/);
    expect(lines).toContain('sys-ro');
    expect(lines).toContain('sysrq-ro'); // or absent: written nowhere either way
    expect(lines).toContain('sysfs-ro');
    expect(lines).toContain('/proc/sys ro');
    // Kernels without CONFIG_MAGIC_SYSRQ have no such file.
    if (existsSync('/proc/sysrq-trigger')) expect(lines).toContain('/proc/sysrq-trigger ro');
  });

  test("capabilities are docker's default set, inheritable and ambient empty, no_new_privs off, seccomp on", async () => {
    const { stdout } = await run('grep -E "^(Cap|NoNewPrivs|Seccomp:)" /proc/self/status');
    const status = Object.fromEntries(stdout.trim().split('\n').map((l) => l.split(/:\s+/) as [string, string]));
    expect(status).toMatchObject({
      CapEff: DOCKER_DEFAULT_CAPS,
      CapPrm: DOCKER_DEFAULT_CAPS,
      CapBnd: DOCKER_DEFAULT_CAPS,
      CapInh: '0000000000000000',
      CapAmb: '0000000000000000',
      NoNewPrivs: '0',
      Seccomp: '2',
    });
  });

  test('capabilities "all" keeps the full bounding set; a non-root user gets no capabilities', async () => {
    const hostBnd = /CapBnd:\s+(\S+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    const all = await run('grep CapEff /proc/self/status', { capabilities: 'all', seccomp: false });
    expect(all.stdout).toContain(hostBnd);
    const user = await run('grep -E "CapEff|CapPrm" /proc/self/status; id -u', { uid: 1000, gid: 1000 });
    expect(user.stdout).toBe('CapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n1000\n');
  });

  test('seccomp denies new namespaces and mounts even where capabilities would not', async () => {
    // A user namespace needs no capability: only the filter stops it.
    const userns = Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8'));
    const script = 'unshare -U true 2>&1 && echo userns-ok; unshare -n true 2>&1; mount -t tmpfs none /mnt 2>&1; true';
    const on = await run(script);
    expect(on.stdout).toContain('unshare(0x10000000): Operation not permitted');
    expect(on.stdout).not.toContain('userns-ok');
    expect(on.stdout).toMatch(/mount: .*(permission denied|Operation not permitted)/i);
    if (userns > 0) {
      const off = await run(script, { seccomp: false });
      expect(off.stdout).toContain('userns-ok');
    }
  });

  test('/dev is minimal, and device nodes made with CAP_MKNOD cannot be opened', async () => {
    const { stdout } = await run(
      'ls -A /dev | tr "\\n" " "; echo; echo x > /dev/null && head -c 4 /dev/zero | wc -c; readlink /dev/ptmx; readlink /dev/fd; ' +
        'mknod /tmp/mem c 1 1 && (head -c 1 /tmp/mem >/dev/null 2>&1 && echo mem-open || echo mem-denied)',
    );
    const [list, zeros, ptmx, fd, mem] = stdout.trim().split('\n');
    expect(list?.trim().split(' ').sort()).toEqual(
      ['fd', 'full', 'mqueue', 'null', 'ptmx', 'pts', 'random', 'shm', 'stderr', 'stdin', 'stdout', 'tty', 'urandom', 'zero'].sort(),
    );
    expect(zeros).toBe('4');
    expect(ptmx).toBe('pts/ptmx');
    expect(fd).toBe('/proc/self/fd');
    expect(mem).toBe('mem-denied');
  });

  test('the cgroup namespace roots the command at its own leaf', async () => {
    const { stdout } = await run('cat /proc/self/cgroup');
    for (const line of stdout.trim().split('\n')) expect(line).toMatch(/:\/$/);
  });

  test('generated /etc files are bind-mounted read-only', async () => {
    const { stdout } = await run('cat /etc/hosts /etc/resolv.conf; echo x >> /etc/hosts 2>/dev/null && echo writable || echo ro', {
      etc: { hosts: '127.0.0.1 localhost\n', resolv_conf: 'nameserver 192.0.2.53\n' },
    });
    expect(stdout).toBe('127.0.0.1 localhost\nnameserver 192.0.2.53\nro\n');
  });

  test('no descriptor but 0-2 reaches the command (CVE-2024-21626 class)', async () => {
    // A descriptor of ours that is not close-on-exec, handed to the helper at fd 3 and 4.
    const secret = path.join(ctx.base, 'secret-file');
    writeFileSync(secret, 'secret');
    const leak = openSync(secret, 'r');
    const specFile = path.join(ctx.base, 'fd-spec.json');
    const script = 'for f in /proc/self/fd/*; do echo "$f $(readlink $f)"; done; sleep 0.3';
    writeFileSync(
      specFile,
      JSON.stringify({ rootfs: overlayDirs(ctx.base, ctx.lowers), args: ['sh', '-c', script], env: [TEST_PATH], cgroup_parent: parent }),
    );
    try {
      const child = spawn(BINARY, ['--spec', specFile, '--status-fd', '5'], { stdio: ['ignore', 'pipe', 'pipe', leak, leak, 'pipe'] });
      let out = '';
      let status = '';
      let initFds: string[] = [];
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.stdio[5]?.on('data', (c: Buffer) => {
        status += c.toString();
        const m = /"ok":true,"pid":(\d+)/.exec(status);
        if (m && initFds.length === 0) {
          // From outside: what the init (pid 1 inside) holds.
          initFds = readdirSync(`/proc/${m[1]}/fd`).map((n) => readlinkSync(`/proc/${m[1]}/fd/${n}`));
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(code).toBe(0);
      const fds = out.trim().split('\n').map((l) => l.split(' '));
      // 0, 1, 2, and the directory the shell's glob had open; none is ours.
      for (const [, target] of fds) expect(target).not.toBe(secret);
      expect(fds.map(([f]) => Number(f?.split('/').pop())).filter((n) => n > 3)).toEqual([]);
      expect(initFds.length).toBeGreaterThan(0);
      expect(initFds).not.toContain(secret);
      expect(initFds.length).toBeLessThanOrEqual(4); // 0-2 and the channel to the helper
      expect(cgroupLeaves(parent)).toEqual([]);
    } finally {
      closeSync(leak);
    }
  });

  test('mount targets and cwd resolve symlinks inside the rootfs, never on the host', async () => {
    // A layer whose symlinks point at a host directory, and out of the root with "..".
    const hostDir = mkdtempSync(path.join(ctx.base, 'host-target-'));
    const layer = mkdtempSync(path.join(ctx.base, 'evil-layer-'));
    symlinkSync(hostDir, path.join(layer, 'to-host'));
    symlinkSync('../../../../../../usr', path.join(layer, 'up-and-out'));
    const lowers = [layer, ...ctx.lowers];
    const err = await runIn({ ...ctx, lowers }, ['true'], { mounts: [{ type: 'tmpfs', target: '/to-host/mnt' }] }).catch((e: unknown) => e);
    // The host path does not exist inside the rootfs: refused, not created on the host.
    expect(err).toMatchObject({ code: 'TSB_SANDBOX_SETUP', stage: 'mount tmpfs', errnoName: 'ENOENT' });
    expect(readdirSync(hostDir)).toEqual([]);
    // ".." stops at the rootfs's "/": this lands in the rootfs's /usr.
    const { stdout } = await runIn({ ...ctx, lowers }, ['sh', '-c', 'pwd; grep -c " /usr/inner/mnt tmpfs" /proc/mounts'], {
      mounts: [{ type: 'tmpfs', target: '/up-and-out/inner/mnt' }],
      cwd: '/up-and-out/work',
    });
    expect(stdout).toBe('/usr/work\n1\n');
    expect(existsSync(path.join(hostDir, 'mnt'))).toBe(false);
  });

  test('the init is not dumpable and runs from a sealed memfd, not the helper file (CVE-2019-5736 class)', async () => {
    const before = createHash('sha256').update(readFileSync(BINARY)).digest('hex');
    let exe = '';
    const { stdout } = await runIn(
      ctx,
      // the trailing sleep keeps init alive until onStart has read its exe link
      ['sh', '-c', 'cat /proc/1/exe > /dev/null 2>&1 && echo exe-readable; echo x > /proc/1/exe 2>/dev/null && echo exe-writable; ls /proc/1/root/ >/dev/null 2>&1 && echo root-readable; echo done; sleep 1'],
      {},
      {
        onStart: (s) => {
          exe = readlinkSync(`/proc/${s.pid}/exe`);
        },
      },
    );
    expect(stdout).toBe('done\n');
    expect(exe).toMatch(/^\/memfd:tsbuild-sandbox/);
    expect(createHash('sha256').update(readFileSync(BINARY)).digest('hex')).toBe(before);
  });
});
