// A root for container tests: busybox:test built into it by tsbuild itself,
// a bridge and subnet of its own (so test files running at once never share
// addresses), a private cgroup parent (so leftover checks are exact), the
// CLI spawned against it, and the "nothing left behind" checks.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import { mkdir, mkdtemp, open, rm, unlink } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { removeBridgeNetwork } from '../../src/container/index.js';
import { parseSubnet } from '../../src/container/network-settings.js';
import { busyboxImage } from './busybox.js';

export const BIN = new URL('../../bin/tsbuild', import.meta.url).pathname;

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ContainerEnv {
  root: string;
  env: NodeJS.ProcessEnv;
  bridge: string;
  subnet: string;
  cgroupParent: string;
  /** bin/tsbuild --root ROOT …, awaited (killed after `timeoutMs`). */
  tsb(args: string[], opts?: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<CliResult>;
  /** rm -f -v every container of the root. */
  removeAll(): Promise<void>;
  dispose(): Promise<void>;
}

const SUBNET_CLAIMS = join(tmpdir(), 'tsbuild-test-subnets');

/** A /24 in 10.88.0.0/16 no other test file holds and no route uses. */
async function claimSubnet(): Promise<{ octet: number; release(): Promise<void> }> {
  await mkdir(SUBNET_CLAIMS, { recursive: true });
  const routes = spawnSync('ip', ['-4', 'route', 'show'], { encoding: 'utf8' }).stdout;
  for (let i = 0; i < 500; i++) {
    const octet = 100 + Math.floor(Math.random() * 150);
    if (routes.includes(`10.88.${octet}.`)) continue;
    const claim = join(SUBNET_CLAIMS, String(octet));
    try {
      const fh = await open(claim, 'wx');
      await fh.writeFile(String(process.pid));
      await fh.close();
      return { octet, release: () => unlink(claim).catch(() => undefined) };
    } catch {
      // taken
      const owner = Number(readFileSync(claim, 'utf8'));
      if (owner > 0 && !existsSync(`/proc/${owner}`)) await unlink(claim).catch(() => undefined);
    }
  }
  throw new Error('no free test subnet');
}

function run(args: string[], env: NodeJS.ProcessEnv, opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(BIN, args, { env: { ...env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export async function containerEnv(): Promise<ContainerEnv> {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-ctr-'));
  const claim = await claimSubnet();
  const tag = Math.random().toString(16).slice(2, 8);
  const bridge = `tsbt${tag}`;
  const subnet = `10.88.${claim.octet}.0/24`;
  const cgroupParent = `tsbuild/test-${process.pid}-${tag}`;
  const env = { ...process.env, TSBUILD_BRIDGE: bridge, TSBUILD_BRIDGE_SUBNET: subnet, TSBUILD_CGROUP_PARENT: cgroupParent };
  await busyboxImage(root);
  const tsb = (args: string[], opts?: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<CliResult> =>
    run(['--root', root, ...args], env, opts);
  const removeAll = async (): Promise<void> => {
    const ids = (await tsb(['ps', '-aq'])).stdout.split('\n').filter((l) => l !== '');
    if (ids.length > 0) await tsb(['rm', '-f', '-v', ...ids]);
  };
  return {
    root,
    env,
    bridge,
    subnet,
    cgroupParent,
    tsb,
    removeAll,
    dispose: async () => {
      await removeAll();
      await removeBridgeNetwork({ name: bridge, subnet: parseSubnet(subnet, 'test') });
      for (const d of cgroupParentDirs(cgroupParent)) if (existsSync(d)) rmdirSync(d);
      await rm(root, { recursive: true, force: true });
      await claim.release();
    },
  };
}

/** The cgroup parent's directories in every hierarchy the helper uses (mirrors native/sandbox.c). */
export function cgroupParentDirs(parent: string): string[] {
  const self = readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter(Boolean);
  const own = (controller: string | null): string | undefined =>
    self
      .map((l) => l.split(':'))
      .find(([id, list]) => (controller === null ? id === '0' && list === '' : (list ?? '').split(',').includes(controller)))
      ?.slice(2)
      .join(':');
  const v2 = ['/sys/fs/cgroup', '/sys/fs/cgroup/unified'].find((m) => existsSync(join(m, 'cgroup.controllers')));
  if (v2 !== undefined) {
    const ctl = readFileSync(join(v2, 'cgroup.controllers'), 'utf8').split(/\s+/);
    if (['memory', 'cpu', 'pids'].every((c) => ctl.includes(c))) return [join(v2, own(null) ?? '/', parent)];
  }
  const dirs = new Set<string>();
  for (const c of ['memory', 'cpu', 'cpuacct', 'pids']) dirs.add(join(`/sys/fs/cgroup/${c}`, own(c) ?? '/', parent));
  return [...dirs];
}

/** Leaf cgroups left under the test's parent. */
export function cgroupLeaves(parent: string): string[] {
  return cgroupParentDirs(parent).flatMap((d) =>
    existsSync(d) ? readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(d, e.name)) : [],
  );
}

export function netnsNames(): string[] {
  return spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

export async function waitFor(cond: () => boolean | Promise<boolean>, ms = 5000, what = 'a condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A TCP (and UDP) port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export async function portIsFree(port: number): Promise<boolean> {
  const srv = net.createServer();
  return new Promise((resolve) => {
    srv.once('error', () => resolve(false));
    srv.listen(port, '0.0.0.0', () => srv.close(() => resolve(true)));
  });
}

export interface Leftovers {
  mounts: string[];
  cgroups: string[];
  netns: string[];
  veths: string[];
  leases: string[];
  containerDirs: string[];
}

/** What a container `id` could have left behind in env (after rm). */
export function leftovers(ctx: ContainerEnv, ids: readonly string[]): Leftovers {
  const shorts = ids.map((id) => id.slice(0, 12));
  const leaseDir = join(ctx.root, 'network', ctx.bridge, 'leases');
  return {
    mounts: readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.includes(ctx.root)),
    cgroups: cgroupLeaves(ctx.cgroupParent),
    netns: netnsNames().filter((n) => shorts.some((s) => n === `tsb-${s}`)),
    veths: readdirSync('/sys/class/net').filter((n) => ids.some((id) => n === `tsbv${id.slice(0, 10)}`)),
    leases: existsSync(leaseDir) ? readdirSync(leaseDir) : [],
    containerDirs: existsSync(join(ctx.root, 'containers')) ? readdirSync(join(ctx.root, 'containers')).filter((d) => ids.includes(d)) : [],
  };
}

export const NOTHING: Leftovers = { mounts: [], cgroups: [], netns: [], veths: [], leases: [], containerDirs: [] };

/** Waits (the kernel removes a veth pair a few ms after its namespace) until nothing is left. */
export async function expectNothingLeft(ctx: ContainerEnv, ids: readonly string[]): Promise<Leftovers> {
  const end = Date.now() + 3000;
  let left = leftovers(ctx, ids);
  while (JSON.stringify(left) !== JSON.stringify(NOTHING) && Date.now() < end) {
    await sleep(20);
    left = leftovers(ctx, ids);
  }
  return left;
}

/** Host processes whose command line mentions `needle`. */
export function processesMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) out.push(Number(name));
    } catch {
      // gone
    }
  }
  return out;
}
