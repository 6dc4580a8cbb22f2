// A 30-RUN Dockerfile built cold: the per-step overhead of RUN beyond the
// command itself (`true`), i.e. (build time − the same build without the
// RUNs) / 30, end to end through the CLI.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchOutcome } from './run.js';

const BIN = fileURLToPath(new URL('../../bin/tsbuild', import.meta.url));
const BUSYBOX_DOCKERFILE = 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\n';

function timed(args: string[]): number {
  const t0 = performance.now();
  execFileSync(BIN, args, { stdio: 'ignore' });
  return performance.now() - t0;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

export async function benchRunSteps(): Promise<BenchOutcome> {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-bench-runs-'));
  try {
    const root = join(dir, 'root');
    const bb = join(dir, 'bb');
    execFileSync('mkdir', ['-p', bb]);
    copyFileSync('/bin/busybox', join(bb, 'busybox'));
    writeFileSync(join(bb, 'Dockerfile'), BUSYBOX_DOCKERFILE);
    execFileSync(BIN, ['--root', root, 'build', '-q', '-t', 'bench-busybox', bb], { stdio: 'ignore' });
    const runs = join(dir, 'runs');
    const base = join(dir, 'base');
    execFileSync('mkdir', ['-p', runs, base]);
    const steps = Array.from({ length: 30 }, (_, i) => `RUN true # step ${i}`);
    writeFileSync(join(runs, 'Dockerfile'), ['FROM bench-busybox', ...steps].join('\n') + '\n');
    writeFileSync(join(base, 'Dockerfile'), 'FROM bench-busybox\nLABEL bench=1\n');
    const args = (ctx: string): string[] => ['--root', root, 'build', '-q', '--no-cache', ctx];
    timed(args(runs)); // warm the snapshots of the base
    const withRuns = median([0, 1, 2].map(() => timed(args(runs))));
    const without = median([0, 1, 2].map(() => timed(args(base))));
    const perStep = (withRuns - without) / 30;
    return {
      name: '30 RUN steps built cold',
      figure: perStep,
      unit: 'ms/step',
      target: '< 30 ms/step overhead',
      pass: perStep < 30,
      details: { 'build with 30 RUNs ms': Math.round(withRuns), 'same build without RUNs ms': Math.round(without) },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
