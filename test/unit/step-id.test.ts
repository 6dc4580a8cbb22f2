// Step identity (STYLE practice 4): sha256 over a versioned, canonical
// encoding of what a step is and the ids of its inputs. The goldens print
// short indices instead of hashes; the hashes are checked here.
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import {
  STEP_ID_VERSION, canonicalJson, parseDockerfile, planBuild, type ExecStep, type NewStep, type Step, type StepId,
} from '../../parser/index.js';
import { computeStepId } from '../../parser/plan/step-id.js';

function exec(over: Partial<ExecStep> = {}): Omit<ExecStep, 'id'> {
  return {
    kind: 'exec',
    stage: 0,
    range: { start: { line: 2, column: 1 }, end: { line: 2, column: 10 } },
    name: 'RUN x',
    input: 'a'.repeat(64) as StepId,
    args: ['/bin/sh', '-c', 'x'],
    env: ['PATH=/bin'],
    proxyEnv: [],
    cwd: '/',
    user: '',
    network: 'default',
    security: 'sandbox',
    mounts: [],
    inlineFiles: [],
    ...over,
  };
}

describe('canonicalJson', () => {
  test('sorts keys at every level and drops undefined', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { z: 1, y: 2 }], c: 'x' }, u: undefined })).toBe(
      '{"a":{"c":"x","d":[1,{"y":2,"z":1}]},"b":1}',
    );
  });

  test('insertion order does not matter', () => {
    expect(canonicalJson({ x: 1, y: [2, 3] })).toBe(canonicalJson({ y: [2, 3], x: 1 }));
  });

  test('strings are JSON-quoted, so no separator can be forged', () => {
    expect(canonicalJson(['a,b', 'c'])).not.toBe(canonicalJson(['a', 'b,c']));
    expect(canonicalJson(['a"', 'b'])).not.toBe(canonicalJson(['a', '"b']));
    expect(canonicalJson({ a: 'b":"c' })).not.toBe(canonicalJson({ a: 'b', c: '' }));
  });

  test('a frozen list is remembered, a mutable one is encoded each time', () => {
    const frozen = Object.freeze(['A=1', 'B=2']);
    expect(canonicalJson(frozen)).toBe('["A=1","B=2"]');
    expect(canonicalJson(frozen)).toBe(canonicalJson(['A=1', 'B=2']));
    const mutable = ['A=1'];
    expect(canonicalJson(mutable)).toBe('["A=1"]');
    mutable.push('B=2');
    expect(canonicalJson(mutable)).toBe('["A=1","B=2"]');
  });
});

describe('computeStepId', () => {
  test('is sha256 of the version prefix and the canonical encoding without presentation fields', () => {
    const step = exec();
    const { stage: _s, name: _n, range: _r, ...identity } = step;
    const expected = createHash('sha256').update(`${STEP_ID_VERSION}\0${canonicalJson(identity)}`).digest('hex');
    expect(computeStepId(step as NewStep)).toBe(expected);
    expect(STEP_ID_VERSION).toBe('tsbuild/step/v1');
  });

  test('name, range and stage are presentation: they do not change the id', () => {
    const a = computeStepId(exec() as NewStep);
    const b = computeStepId(exec({ name: '[b 3/4] RUN x', stage: 3, range: null }) as NewStep);
    expect(b).toBe(a);
  });

  test('every semantic field and the input change the id', () => {
    const base = computeStepId(exec() as NewStep);
    const variants: Partial<ExecStep>[] = [
      { input: 'b'.repeat(64) as StepId },
      { args: ['/bin/sh', '-c', 'y'] },
      { env: ['PATH=/usr/bin'] },
      { cwd: '/app' },
      { user: 'nobody' },
      { network: 'none' },
      { security: 'insecure' },
      { proxyEnv: ['HTTP_PROXY=x'] },
      { mounts: [{ type: 'tmpfs', target: '/t', size: null }] },
      { inlineFiles: [{ path: '/dev/pipes/x', content: '#!/bin/sh\n', mode: 0o755 }] },
    ];
    const ids = variants.map((v) => computeStepId(exec(v) as NewStep));
    for (const id of ids) expect(id).not.toBe(base);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('fields that a joined encoding would confuse stay apart', () => {
    const pairs: [Partial<ExecStep>, Partial<ExecStep>][] = [
      [{ args: ['a-b', 'c'] }, { args: ['a', 'b-c'] }],
      [{ args: ['a b'] }, { args: ['a', 'b'] }],
      [{ env: ['A=1,B=2'] }, { env: ['A=1', 'B=2'] }],
      [{ env: ['A=1|B=2'] }, { env: ['A=1', 'B=2'] }],
      [{ cwd: '/a', user: 'b' }, { cwd: '/a/b', user: '' }],
      [{ args: [''] }, { args: [] }],
    ];
    for (const [x, y] of pairs) expect(computeStepId(exec(x) as NewStep)).not.toBe(computeStepId(exec(y) as NewStep));
  });

  test('the same step built from differently ordered objects has one id', () => {
    const a = exec();
    const reordered = Object.fromEntries(Object.entries(a).reverse()) as unknown as NewStep;
    expect(computeStepId(reordered)).toBe(computeStepId(a as NewStep));
  });
});

describe('in a plan', () => {
  const ids = (text: string): { steps: Record<string, Step>; stages: { steps: string[]; result: string }[] } =>
    planBuild(parseDockerfile(text));

  test('identical steps on identical inputs collapse into one vertex', () => {
    const g = ids('FROM busybox AS a\nRUN make\nFROM busybox AS b\nRUN make\nFROM scratch\nCOPY --from=a / /a\nCOPY --from=b / /b\n');
    const [a, b] = g.stages;
    expect(a?.result).toBe(b?.result);
    expect(Object.values(g.steps).filter((s) => s.kind === 'exec')).toHaveLength(1);
  });

  test('the same instruction on a different input is a different step', () => {
    const g = ids('FROM busybox AS a\nRUN make\nFROM alpine AS b\nRUN make\nFROM scratch\nCOPY --from=a / /a\nCOPY --from=b / /b\n');
    const execs = Object.values(g.steps).filter((s): s is ExecStep => s.kind === 'exec');
    expect(execs).toHaveLength(2);
    expect(execs[0]?.input).not.toBe(execs[1]?.input);
  });

  test('a changed earlier step changes every later id (a Merkle chain)', () => {
    const one = ids('FROM busybox\nRUN a\nRUN b\nRUN c\n');
    const two = ids('FROM busybox\nRUN A\nRUN b\nRUN c\n');
    const s1 = one.stages[0]?.steps ?? [];
    const s2 = two.stages[0]?.steps ?? [];
    expect(s1).toHaveLength(3);
    for (let i = 0; i < 3; i++) expect(s1[i]).not.toBe(s2[i]);
  });

  test('ids are stable across runs of the planner', () => {
    const text = 'FROM busybox\nENV A=1\nRUN echo $A\nCOPY . /src\n';
    expect(ids(text).stages[0]?.result).toBe(ids(text).stages[0]?.result);
    expect(ids(text).stages[0]?.result).toMatch(/^[0-9a-f]{64}$/);
  });
});
