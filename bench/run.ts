// `npm run bench`: runs each benchmark in turn and prints one table row per
// benchmark — its figure, its target and PASS/FAIL — then the details; exits
// 1 if a target is missed. `npm run bench -- parse` runs only the benchmarks
// whose function name contains "parse". To add a benchmark, export an async
// function returning a BenchOutcome and list it below.
import { benchCopy, benchRebuild } from './build.js';
import { benchParse } from './parse.js';
import { benchRegistry } from './registry.js';
import { benchSandbox } from './sandbox.js';
import { benchRunSteps } from './run-steps.js';
import { benchRunContainer } from './run-container.js';

/** What a benchmark reports; `pass` is null when it has no pass/fail target. */
export interface BenchOutcome {
  name: string;
  figure: number;
  unit: string;
  target: string;
  pass: boolean | null;
  details?: Record<string, string | number>;
}

export const benchmarks: ReadonlyArray<() => Promise<BenchOutcome>> = [
  benchParse,
  benchRebuild,
  benchCopy,
  benchSandbox,
  benchRunSteps,
  benchRunContainer,
  benchRegistry,
];

function formatFigure(figure: number, unit: string): string {
  const digits = Math.abs(figure) >= 100 ? 0 : Math.abs(figure) >= 10 ? 1 : 2;
  return `${figure.toFixed(digits)} ${unit}`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c] ?? 0)).join('  ').trimEnd()).join('\n');
}

async function main(): Promise<void> {
  const rows: string[][] = [['benchmark', 'figure', 'target', 'result']];
  const notes: string[] = [];
  let failed = false;
  const filters = process.argv.slice(2).map((f) => f.toLowerCase());
  const selected = benchmarks.filter((b) => filters.length === 0 || filters.some((f) => b.name.toLowerCase().includes(f)));
  for (const bench of selected) {
    try {
      const r = await bench();
      rows.push([r.name, formatFigure(r.figure, r.unit), r.target, r.pass === null ? '-' : r.pass ? 'PASS' : 'FAIL']);
      if (r.pass === false) failed = true;
      for (const [k, v] of Object.entries(r.details ?? {})) notes.push(`  ${r.name}: ${k}: ${v}`);
    } catch (e) {
      failed = true;
      rows.push([bench.name, '-', '-', 'ERROR']);
      notes.push(`  ${bench.name}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  process.stdout.write(table(rows) + '\n');
  if (notes.length > 0) process.stdout.write('\ndetails:\n' + notes.join('\n') + '\n');
  process.exitCode = failed ? 1 : 0;
}

await main();
