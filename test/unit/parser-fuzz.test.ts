// Fuzzing the Dockerfile frontend: for any text, parse + plan either returns
// a BuildGraph or throws a TsbuildError whose `code` starts with TSB_ (and,
// for a DockerfileError, whose range lies inside the text). A TypeError, a
// RangeError, a stack overflow or a hang is a parser bug.
//
// Inputs: the valid golden fixtures with random edits (characters deleted,
// duplicated or swapped; syntax-laden tokens inserted), "instruction soup"
// assembled from keywords, flags and argument fragments, and plain random
// strings. Each case runs under a vm timeout so an endless loop fails the
// case instead of hanging the suite.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import vm from 'node:vm';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DockerfileError, TsbuildError, formatPlan, parseDockerfile, planBuild, type PlanOptions } from '../../parser/index.js';

const CASE_TIMEOUT_MS = 2_000;
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 2500);

const fixturesDir = join(import.meta.dirname, '..', '..', 'fixtures', 'dockerfiles');
const fixtures = readdirSync(fixturesDir, { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => {
    const dir = join(fixturesDir, d.name);
    const opts = join(dir, 'options.json');
    return {
      text: readFileSync(join(dir, 'Dockerfile'), 'utf8'),
      options: existsSync(opts) ? (JSON.parse(readFileSync(opts, 'utf8')) as PlanOptions) : {},
    };
  });

type Outcome = { ok: true } | { ok: false; error: unknown };

/** Parse and plan `text` under a watchdog; an endless loop becomes a failure, not a hang. */
const sandbox = vm.createContext({ job: (): Outcome => ({ ok: true }) });
const runJob = new vm.Script('job()');
function planUnderWatchdog(text: string, options: PlanOptions): Outcome {
  sandbox['job'] = (): Outcome => {
    try {
      const graph = planBuild(parseDockerfile(text), options);
      formatPlan(graph);
      return { ok: true };
    } catch (error) {
      return { ok: false, error };
    }
  };
  return runJob.runInContext(sandbox, { timeout: CASE_TIMEOUT_MS }) as Outcome;
}

/** The property every input must satisfy. */
function checkInput(text: string, options: PlanOptions = {}): void {
  const outcome = planUnderWatchdog(text, options);
  if (outcome.ok) return;
  const error = outcome.error;
  if (!(error instanceof TsbuildError)) throw error; // TypeError, RangeError, …: a bug
  expect(typeof error.code).toBe('string');
  expect(error.code.startsWith('TSB_')).toBe(true);
  if (error instanceof DockerfileError) {
    const lines = text.split('\n');
    const { start, end } = error.range;
    expect(start.line).toBeGreaterThanOrEqual(1);
    expect(start.line).toBeLessThanOrEqual(lines.length);
    expect(end.line).toBeGreaterThanOrEqual(start.line);
    expect(end.line).toBeLessThanOrEqual(lines.length);
    expect(start.column).toBeGreaterThanOrEqual(1);
    expect(end.column).toBeGreaterThanOrEqual(1);
    if (end.line === start.line) expect(end.column).toBeGreaterThanOrEqual(start.column);
  }
}

const TOKENS = [
  '\\', '\\\n', '`', '<<', '<<EOF', '<<-EOF', '<<"EOF"', "<<'X'", 'EOF', '\nEOF\n', '$', '${', '}', '${A:-', '${A:?', '${A//', '{',
  '"', "'", '[', ']', '["a", 1]', '\n', '\r\n', '\r', ' ', '\t', '#', '# escape=`\n', '--', '--mount=', '--from=', '=', ',',
  ':', '/', '-', '*', 'AS ', 'FROM ', 'RUN ', 'COPY ', 'ONBUILD ', '\u00a0', '\u0085', '\uFEFF', '\u{1F600}', '\0',
];

interface Edit {
  kind: 'delete' | 'duplicate' | 'swap' | 'insert';
  at: number;
  token: string;
}

const edit: fc.Arbitrary<Edit> = fc.record({
  kind: fc.constantFrom<Edit['kind']>('delete', 'duplicate', 'swap', 'insert'),
  at: fc.nat(),
  token: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 3, unit: 'grapheme' })),
});

function applyEdits(text: string, edits: readonly Edit[]): string {
  let s = text;
  for (const e of edits) {
    if (s.length === 0) {
      s = e.token;
      continue;
    }
    const i = e.at % s.length;
    if (e.kind === 'delete') s = s.slice(0, i) + s.slice(i + 1);
    else if (e.kind === 'duplicate') s = s.slice(0, i) + s[i] + s.slice(i);
    else if (e.kind === 'swap' && i + 1 < s.length) s = s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2);
    else s = s.slice(0, i) + e.token + s.slice(i);
  }
  return s;
}

const KEYWORDS = ['FROM', 'RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'LABEL', 'ENV', 'ARG', 'EXPOSE', 'COPY', 'ADD', 'WORKDIR', 'USER',
  'VOLUME', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'MAINTAINER', 'from', 'Run', 'BOGUS'];
const FLAGS = ['--from=0', '--from=a', '--from=busybox', '--chown=1:1', '--chmod=755', '--chmod=u+x', '--link', '--parents',
  '--exclude=*.md', '--checksum=sha256:' + 'a'.repeat(64), '--keep-git-dir', '--unpack', '--platform=$BUILDPLATFORM',
  '--mount=type=cache,target=/c', '--mount=type=bind,from=a,target=/x', '--mount=type=secret,id=s', '--mount=type=ssh',
  '--mount=type=tmpfs,target=/t,size=1m', '--network=none', '--security=insecure', '--interval=5s', '--retries=2', '--bogus'];
const ARGS = ['busybox', 'scratch', 'a', 'AS a', 'AS b', '0', '/src', '.', '/dst/', 'x=1', 'A=$A', 'B=${B:-d}', '"q w"', "'s'",
  '["sh", "-c", "x"]', '[]', '80/udp', '1-3', 'NONE', 'CMD true', 'SIGTERM', '<<EOF', '$X', '${Y:+z}', 'https://e.x/f',
  'git@h:r.git', 'RUN echo', 'ONBUILD RUN x', 'COPY --from=a / /'];

/** Arguments that make sense for each keyword, so soups often plan successfully. */
const TYPED: Record<string, string[]> = {
  FROM: ['busybox', 'busybox AS a', 'scratch AS b', 'a', '--platform=$TARGETPLATFORM busybox AS c', '${A:-busybox}'],
  RUN: ['echo $X', '["echo", "x"]', '--mount=type=cache,target=/c,id=$A true', '--mount=from=a,target=/m ls', '<<EOF\nx\nEOF', '--network=none true'],
  COPY: ['a /b', '--from=a /x /y/', '--from=0 / /', '--chown=$A:$A --chmod=0644 x /', '<<EOF /f\n$A\nEOF', '--link --parents ./a/./b /c/'],
  ADD: ['https://e.x/f.tgz /', '--checksum=sha256:' + 'b'.repeat(64) + ' https://e.x/f /f', 'git@h:r.git /r', '--unpack=false a.tar /'],
  ENV: ['A=1 B=$A', 'K v w', 'P=${A:+x}'],
  ARG: ['A', 'A=1', 'B=${A}-x C'],
  LABEL: ['a=b', '"k k"=v', 'x=$A'],
  EXPOSE: ['80', '$A', '1-2/udp'],
  WORKDIR: ['/w', 'rel', '$A'],
  USER: ['u', '$A:g'],
  VOLUME: ['/v', '["/a", "/b"]'],
  CMD: ['x', '["x"]'],
  ENTRYPOINT: ['e', '[]'],
  SHELL: ['["/bin/bash", "-c"]'],
  HEALTHCHECK: ['NONE', '--interval=1s CMD x', 'CMD ["x"]'],
  STOPSIGNAL: ['SIGINT', '$A'],
  ONBUILD: ['RUN x', 'COPY --from=a / /'],
  MAINTAINER: ['me'],
};

const typedInstruction = fc
  .constantFrom(...Object.keys(TYPED))
  .chain((k) => fc.constantFrom(...(TYPED[k] as string[])).map((a) => `${k} ${a}`));

const randomInstruction = fc
  .tuple(
    fc.constantFrom(...KEYWORDS),
    fc.array(fc.constantFrom(...FLAGS), { maxLength: 2 }),
    fc.array(fc.constantFrom(...ARGS), { maxLength: 4 }),
    fc.constantFrom('', ' \\', '\nEOF'),
  )
  .map(([k, flags, args, tail]) => [k, ...flags, ...args].join(' ') + tail);

const instruction = fc.oneof({ arbitrary: typedInstruction, weight: 3 }, { arbitrary: randomInstruction, weight: 1 });

const soup = fc
  .tuple(
    fc.constantFrom('FROM busybox AS a\n', '# escape=`\nFROM busybox\n', '# syntax=x\n# check=skip=all\n', '#check=error=true\n', 'ARG A=1\n'),
    fc.array(instruction, { minLength: 1, maxLength: 12 }),
  )
  .map(([head, lines]) => head + lines.join('\n') + '\n');

const planOptions: fc.Arbitrary<PlanOptions> = fc.record(
  {
    target: fc.constantFrom('a', 'b', 'missing', ''),
    buildArgs: fc.dictionary(fc.constantFrom('A', 'B', 'X', 'HTTP_PROXY', 'TARGETARCH'), fc.string({ maxLength: 4 })),
    allStages: fc.boolean(),
    allowInsecure: fc.boolean(),
    network: fc.constantFrom<'default' | 'none' | 'host'>('default', 'none', 'host'),
  },
  { requiredKeys: [] },
);

describe('parse + plan returns a graph or a typed error', () => {
  test('mutated golden fixtures', () => {
    fc.assert(
      fc.property(fc.nat(fixtures.length - 1), fc.array(edit, { minLength: 1, maxLength: 8 }), (which, edits) => {
        const fixture = fixtures[which]!;
        checkInput(applyEdits(fixture.text, edits), fixture.options);
      }),
      { numRuns: RUNS },
    );
  });

  test('instruction soup', () => {
    fc.assert(fc.property(soup, planOptions, (text, options) => checkInput(text, options)), { numRuns: RUNS });
  });

  test('random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200, unit: 'binary' }), (text) => checkInput(text)),
      { numRuns: Math.floor(RUNS / 3) },
    );
  });

  test('pathological sizes: deep stage chains, deep nesting, long continuations, many heredocs', () => {
    const chain = ['FROM busybox AS s0', ...Array.from({ length: 5000 }, (_, i) => `FROM s${i} AS s${i + 1}`)].join('\n');
    checkInput(chain);
    const cycle = ['FROM busybox AS s0', 'COPY --from=s3000 / /', ...Array.from({ length: 3000 }, (_, i) => `FROM busybox AS s${i + 1}\nCOPY --from=s${i} / /`)].join('\n');
    checkInput(cycle);
    checkInput('FROM busybox\nENV A=' + '${A:-'.repeat(20000) + 'x' + '}'.repeat(20000) + '\n');
    checkInput('FROM busybox\nCOPY <<' + '${A:-'.repeat(20000) + ' /x\n');
    checkInput('FROM busybox\nRUN ' + 'x \\\n'.repeat(20000) + 'end\n');
    const docs = Array.from({ length: 2000 }, (_, i) => i);
    checkInput('FROM busybox\nRUN ' + docs.map((i) => `<<E${i}`).join(' ') + '\n' + docs.map((i) => `b\nE${i}`).join('\n') + '\n');
  });

  test('the watchdog turns an endless loop into a failure', () => {
    sandbox['job'] = (): Outcome => {
      for (;;) {
        // spin
      }
    };
    expect(() => runJob.runInContext(sandbox, { timeout: 50 })).toThrow(/timed out/);
  });
});
