// Container benchmark (issue 6): `tsbuild run --rm IMAGE true` end to end —
// CLI start, image lookup, overlay, network namespace and veth on the
// bridge, sandbox, exit, release, removal — median of 15, beside `podman
// run --rm` of the same image (exported with `tsbuild save`, loaded into a
// throw-away podman store) when podman is installed. Target: under half
// of podman's. Nothing leaves the machine: the image is built here from
// Debian's busybox-static, podman runs with --pull never.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface BenchOutcome {
  name: string;
  figure: number;
  unit: string;
  target: string;
  pass: boolean | null;
  details?: Record<string, string | number>;
}

const BIN = fileURLToPath(new URL('../../bin/tsbuild', import.meta.url));
const RUNS = 15;
const WARMUP = 2;
const IMAGE = 'tsbuild-bench/busybox:run';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function must(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ?? process.env });
  if (r.status !== 0) throw new Error(`${cmd} ${args.slice(0, 6).join(' ')} failed (${r.status}): ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout;
}

function timed(cmd: string, args: string[], env?: NodeJS.ProcessEnv): number[] {
  const out: number[] = [];
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const t0 = performance.now();
    must(cmd, args, env);
    if (i >= WARMUP) out.push(performance.now() - t0);
  }
  return out;
}

function hasPodman(): boolean {
  return spawnSync('podman', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** A /24 for the bench's own bridge that no route on this host uses yet. */
function freeSubnet(): string {
  const routes = spawnSync('ip', ['-4', 'route', 'show'], { encoding: 'utf8' }).stdout;
  for (let octet = 250; octet > 100; octet--) if (!routes.includes(`10.88.${octet}.`)) return `10.88.${octet}.0/24`;
  throw new Error('no free 10.88.x.0/24 for the bench bridge');
}

export async function benchRunContainer(): Promise<BenchOutcome> {
  if (process.getuid?.() !== 0) throw new Error('needs root (namespaces, cgroups, the bridge)');
  if (!existsSync('/bin/busybox')) throw new Error('needs /bin/busybox (Debian package busybox-static)');
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-bench-run-'));
  const bridge = `tsbb${process.pid % 100000}`;
  const env = { ...process.env, TSBUILD_BRIDGE: bridge, TSBUILD_BRIDGE_SUBNET: freeSubnet() };
  const root = join(dir, 'root');
  try {
    const ctx = join(dir, 'ctx');
    mkdirSync(ctx);
    copyFileSync('/bin/busybox', join(ctx, 'busybox'));
    writeFileSync(join(ctx, 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(ctx, 'group'), 'root:x:0:\n');
    writeFileSync(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCOPY passwd group /etc/\nCMD ["/bin/sh"]\n');
    must(BIN, ['--root', root, 'build', '-q', '-t', IMAGE, ctx], env);

    const ours = timed(BIN, ['--root', root, 'run', '--rm', IMAGE, 'true'], env);
    const figure = median(ours);
    const details: Record<string, string | number> = {
      'tsbuild run --rm (median ms)': Math.round(figure),
      'tsbuild run --rm (min / max ms)': `${Math.round(Math.min(...ours))} / ${Math.round(Math.max(...ours))}`,
    };
    if (!hasPodman()) {
      details.podman = 'not installed: no comparison';
      return { name: 'run --rm IMAGE true', figure, unit: 'ms', target: '< 0.5 × podman run --rm', pass: null, details };
    }
    const archive = join(dir, 'image.tar');
    must(BIN, ['--root', root, 'save', '-o', archive, IMAGE], env);
    const podman = ['--root', join(dir, 'podman', 'root'), '--runroot', join(dir, 'podman', 'run'), '--storage-driver', 'vfs', '--runtime', 'runc'];
    const loaded = /Loaded image(?:\(s\))?: (\S+)/.exec(must('podman', [...podman, 'load', '-i', archive]))?.[1];
    if (loaded === undefined) throw new Error('podman load did not name the image');
    const peer = median(
      timed('podman', [...podman, 'run', '--rm', '--pull', 'never', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096', loaded, 'true']),
    );
    spawnSync('podman', [...podman, 'rmi', '-af'], { stdio: 'ignore' });
    details['podman run --rm (median ms)'] = Math.round(peer);
    details['ratio to podman'] = Number((figure / peer).toFixed(3));
    return { name: 'run --rm IMAGE true', figure, unit: 'ms', target: '< 0.5 × podman run --rm', pass: figure < peer / 2, details };
  } finally {
    spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
    for (const [table, chain, rule] of [
      ['nat', 'POSTROUTING', ['-s', env.TSBUILD_BRIDGE_SUBNET, '!', '-o', bridge, '-j', 'MASQUERADE']],
      ['filter', 'FORWARD', ['-i', bridge, '-j', 'ACCEPT']],
      ['filter', 'FORWARD', ['-o', bridge, '-j', 'ACCEPT']],
    ] as const) {
      spawnSync('iptables', ['-w', '-t', table, '-D', chain, ...rule], { stdio: 'ignore' });
    }
    rmSync(dir, { recursive: true, force: true });
  }
}
