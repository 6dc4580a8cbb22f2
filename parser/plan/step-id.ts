// Step identity: sha256 over a versioned, canonical encoding of the step's
// semantic fields and its input ids. Names, ranges and stage numbers are
// presentation and stay out, so identical steps collapse into one vertex.
import { createHash } from 'node:crypto';
import type { NewStep, Step, StepId } from '../graph.js';

export const STEP_ID_VERSION = 'tsbuild/step/v1';

type StepBody = NewStep;

/** JSON with object keys sorted at every level: one encoding per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return '[' + value.map(canonicalJson).join(',') + ']';
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return '{' + entries.map(([k, v]) => JSON.stringify(k) + ':' + canonicalJson(v)).join(',') + '}';
}

export function computeStepId(body: StepBody): StepId {
  const { stage: _s, name: _n, range: _r, id: _i, ...rest } = body as StepBody & Partial<Step>;
  const hash = createHash('sha256');
  hash.update(STEP_ID_VERSION);
  hash.update('\0');
  hash.update(canonicalJson(rest));
  return hash.digest('hex') as StepId;
}
