// Sandbox benchmark (issue 4): start-to-exit of /bin/true in a busybox
// rootfs through runSandbox (median of 30), beside `runc run` of the same
// rootfs when runc is installed. Target: ≤ 0.5 × runc.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSandbox } from '../executor/sandbox/index.js';

export interface SandboxBenchResult {
  name: string;
  /** Median ms from spawning the helper to the command's reported exit. */
  figure: number;
  unit: string;
  /** Median ms of `runc run` of the same rootfs, when runc is installed. */
  peer?: number;
  /** figure / peer. */
  ratio?: number;
  target: string;
  pass: boolean | null;
  details: Record<string, string | number>;
}

const RUNS = 30;
const WARMUP = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function busyboxRootfs(dir: string): void {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'tmp']) mkdirSync(join(dir, d), { recursive: true });
  copyFileSync('/bin/busybox', join(dir, 'bin/busybox'));
  chmodSync(join(dir, 'bin/busybox'), 0o755);
  for (const rel of execFileSync('/bin/busybox', ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
    if (!existsSync(join(dir, rel))) symlinkSync('/bin/busybox', join(dir, rel));
  }
}

async function timed(fn: () => Promise<void>): Promise<number[]> {
  for (let i = 0; i < WARMUP; i++) await fn();
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  return ms;
}

function runcAvailable(): boolean {
  try {
    execFileSync('runc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function runcRun(state: string, bundle: string, id: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('runc', ['--root', state, 'run', '-b', bundle, id], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`runc run exited ${code}: ${err.trim()}`))));
  });
}

export async function benchSandbox(): Promise<SandboxBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-bench-sandbox-'));
  try {
    const rootfs = join(dir, 'rootfs');
    busyboxRootfs(rootfs);
    const upper = join(dir, 'upper');
    const work = join(dir, 'work');
    mkdirSync(upper);
    mkdirSync(work);

    const dirRuns = await timed(async () => {
      const r = await runSandbox({ rootfs: { dir: rootfs, readonly: true }, args: ['/bin/true'], network: 'none' });
      if (r.status !== 0) throw new Error(`/bin/true exited ${r.status} in the sandbox`);
    });
    const overlayRuns = await timed(async () => {
      const r = await runSandbox({ rootfs: { lower: [rootfs], upper, work }, args: ['/bin/true'], network: 'none' });
      if (r.status !== 0) throw new Error(`/bin/true exited ${r.status} in the sandbox`);
    });
    const figure = median(dirRuns);
    const details: Record<string, string | number> = {
      'tsbuild-sandbox, read-only dir rootfs (median ms)': Number(figure.toFixed(2)),
      'tsbuild-sandbox, overlay rootfs (median ms)': Number(median(overlayRuns).toFixed(2)),
      'tsbuild-sandbox, dir rootfs (min / max ms)': `${Math.min(...dirRuns).toFixed(2)} / ${Math.max(...dirRuns).toFixed(2)}`,
    };

    let peer: number | undefined;
    if (runcAvailable()) {
      const bundle = join(dir, 'bundle');
      const state = join(dir, 'runc-state');
      mkdirSync(bundle);
      mkdirSync(state);
      execFileSync('runc', ['spec', '--bundle', bundle]);
      const configPath = join(bundle, 'config.json');
      const config = JSON.parse(readFileSync(configPath, 'utf8')) as {
        process: { terminal: boolean; args: string[] };
        root: { path: string; readonly?: boolean };
      };
      config.process.terminal = false;
      config.process.args = ['/bin/true'];
      config.root = { path: rootfs, readonly: true };
      writeFileSync(configPath, JSON.stringify(config));
      let n = 0;
      const runcRuns = await timed(() => runcRun(state, bundle, `tsbuild-bench-${process.pid}-${n++}`));
      peer = median(runcRuns);
      details['runc run (median ms)'] = Number(peer.toFixed(2));
    } else {
      details['runc'] = 'not installed: no comparison';
    }
    const ratio = peer !== undefined ? figure / peer : undefined;
    return {
      name: 'sandbox start-to-exit of /bin/true',
      figure,
      unit: 'ms',
      ...(peer !== undefined ? { peer } : {}),
      ...(ratio !== undefined ? { ratio } : {}),
      target: '≤ 0.5 × runc run',
      pass: ratio !== undefined ? ratio <= 0.5 : null,
      details: ratio !== undefined ? { ...details, 'ratio to runc': Number(ratio.toFixed(3)) } : details,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
