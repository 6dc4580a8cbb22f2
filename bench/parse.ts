// Frontend benchmark (issue 2): parse + plan a generated 5,000-instruction
// Dockerfile. Pure CPU, in process; prints nothing (bench/run.ts reports).
import { parseDockerfile, planBuild } from '../parser/index.js';

export interface ParseBenchResult {
  name: string;
  /** Median wall time of parse + plan, in milliseconds. */
  ms: number;
  figure: number;
  unit: string;
  target: string;
  pass: boolean;
  details: Record<string, string | number>;
}

const INSTRUCTIONS = 5_000;
const STAGES = 10;
const TARGET_MS = 200;
const WARMUP = 5;
const RUNS = 15;
/** Distinct ARG/ENV names: real files reuse a few dozen, they do not declare thousands. */
const VARS = 40;

/**
 * A Dockerfile of exactly `count` instructions in `stages` stages, mixing
 * what real files contain: ARG/ENV with expansion, RUN with continuations,
 * comments inside them, mounts and heredocs, COPY from the context, from
 * earlier stages and from inline documents, WORKDIR, LABEL, EXPOSE.
 */
export function generateDockerfile(count = INSTRUCTIONS, stages = STAGES): string {
  const out: string[] = ['# syntax=docker/dockerfile:1', 'ARG BASE=alpine:3.19', 'ARG VERSION=1.0.0'];
  const body = count - 3; // the two global ARGs and the final CMD
  const perStage = Math.floor(body / stages);
  for (let s = 0; s < stages; s++) {
    out.push(s === 0 ? 'FROM ${BASE} AS s0' : `FROM s${s - 1} AS s${s}`);
    const size = s === stages - 1 ? body - perStage * (stages - 1) : perStage;
    for (let i = 1; i < size; i++) {
      const n = s * perStage + i;
      switch (i % 10) {
        case 0:
          out.push(`ARG OPT_${n % VARS}=value-${n}`);
          break;
        case 1:
          out.push(`ENV VAR_${n % VARS}=\${OPT_${(n - 1) % VARS}:-none} HOME_${n % VARS}=/opt/${n}`);
          break;
        case 2:
          out.push(`RUN set -e; \\`, `    # step ${n}`, `    echo "building ${n}" \\`, `    && mkdir -p /work/${n}`);
          break;
        case 3:
          out.push(`COPY --chown=1000:1000 --chmod=0644 src/${n}.txt /work/${n}/`);
          break;
        case 4:
          out.push(`RUN --mount=type=cache,target=/root/.cache/${n},id=c${n % 7} --mount=type=bind,source=src,target=/src <<EOF`,
            'set -eu', `echo "$VAR_${(n - 3) % VARS}" > /work/${n}.out`, 'EOF');
          break;
        case 5:
          out.push(`WORKDIR /work/${n}`);
          break;
        case 6:
          if (s > 0) out.push(`COPY --from=s${s - 1} /work/${n - perStage} ./prev/`);
          else out.push(`COPY <<EOF /etc/conf-${n}`, 'key=${VERSION}', 'EOF');
          break;
        case 7:
          out.push(`LABEL com.example.step${n}="\${VERSION}" com.example.n=${n}`);
          break;
        case 8:
          out.push(`EXPOSE ${8000 + (n % 1000)}/tcp`);
          break;
        default:
          out.push(`RUN ["/bin/sh", "-c", "echo exec form ${n}"]`);
      }
    }
  }
  out.push('CMD ["/bin/sh"]');
  return out.join('\n') + '\n';
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

export async function benchParse(): Promise<ParseBenchResult> {
  const text = generateDockerfile();
  const run = (): { ms: number; instructions: number; steps: number; stages: number } => {
    const t0 = performance.now();
    const df = parseDockerfile(text);
    const graph = planBuild(df, { buildArgs: { VERSION: '2.0.0' } });
    const ms = performance.now() - t0;
    const instructions = df.globalArgs.length + df.stages.reduce((n, s) => n + 1 + s.instructions.length, 0);
    return { ms, instructions, steps: Object.keys(graph.steps).length, stages: graph.stages.length };
  };
  for (let i = 0; i < WARMUP; i++) run();
  const runs = Array.from({ length: RUNS }, run);
  const ms = median(runs.map((r) => r.ms));
  const first = runs[0] as (typeof runs)[number];
  return {
    name: `parse + plan ${first.instructions.toLocaleString('en-US')} instructions`,
    ms,
    figure: ms,
    unit: 'ms',
    target: `< ${TARGET_MS} ms`,
    pass: ms < TARGET_MS,
    details: {
      [`median of ${RUNS} (after ${WARMUP} warm-up)`]: `${ms.toFixed(1)} ms`,
      'min / max ms': `${Math.min(...runs.map((r) => r.ms)).toFixed(1)} / ${Math.max(...runs.map((r) => r.ms)).toFixed(1)}`,
      lines: text.split('\n').length - 1,
      stages: first.stages,
      steps: first.steps,
    },
  };
}
