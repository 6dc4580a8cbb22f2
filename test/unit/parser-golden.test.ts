// Golden-file tests for the Dockerfile frontend (STYLE practice 22).
//
// fixtures/dockerfiles/<case>/Dockerfile      the input
//                         /options.json      optional PlanOptions for planBuild
//                         /plan.txt          formatPlan(planBuild(parseDockerfile(text), options))
// fixtures/dockerfiles-invalid/<case>/Dockerfile, optional options.json, and
//                         /error.txt         line 1: the error code; line 2: `line <N>`, the
//                                            first line of the error's range (`line 0`: an error
//                                            about the options, which has no place in the file)
//
// To regenerate the goldens after an intended change of the plan, run
//   UPDATE_GOLDENS=1 npx vitest run test/unit/parser-golden.test.ts
// which rewrites every plan.txt instead of comparing; then read the diff and
// check each changed plan against BuildKit's behaviour before committing it.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DockerfileError, TsbuildError, formatPlan, parseDockerfile, planBuild, type PlanOptions } from '../../parser/index.js';

const root = join(import.meta.dirname, '..', '..', 'fixtures');
const update = process.env['UPDATE_GOLDENS'] === '1';

function cases(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

function options(dir: string): PlanOptions {
  const file = join(dir, 'options.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as PlanOptions) : {};
}

describe('valid Dockerfiles plan as recorded in plan.txt', () => {
  test.each(cases('dockerfiles'))('%s', (name) => {
    const dir = join(root, 'dockerfiles', name);
    const text = readFileSync(join(dir, 'Dockerfile'), 'utf8');
    const plan = formatPlan(planBuild(parseDockerfile(text), options(dir)));
    const golden = join(dir, 'plan.txt');
    if (update) {
      writeFileSync(golden, plan);
      return;
    }
    expect(plan).toBe(readFileSync(golden, 'utf8'));
  });
});

describe('invalid Dockerfiles fail with the code and line in error.txt', () => {
  test.each(cases('dockerfiles-invalid'))('%s', (name) => {
    const dir = join(root, 'dockerfiles-invalid', name);
    const text = readFileSync(join(dir, 'Dockerfile'), 'utf8');
    const [code, where] = readFileSync(join(dir, 'error.txt'), 'utf8').split('\n');
    const line = Number(/^line (\d+)$/.exec(where ?? '')?.[1]);
    expect(code).toMatch(/^TSB_[A-Z_]+$/);
    expect(Number.isInteger(line)).toBe(true);
    let thrown: unknown;
    try {
      planBuild(parseDockerfile(text), options(dir));
    } catch (e) {
      thrown = e;
    }
    expect(thrown, 'planning should have failed').toBeInstanceOf(TsbuildError);
    const err = thrown as TsbuildError & { range?: { start: { line: number } } };
    expect({ code: err.code, line: err.range?.start.line ?? 0, message: err.message }).toMatchObject({ code, line });
    if (err instanceof DockerfileError) expect(err.range.start.line).toBeGreaterThanOrEqual(1);
  });
});
