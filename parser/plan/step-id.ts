// Step identity: sha256 over a versioned, canonical encoding of the step's
// semantic fields and its input ids. Names, ranges and stage numbers are
// presentation and stay out, so identical steps collapse into one vertex.
import { createHash } from 'node:crypto';
import type { NewStep, StepId } from '../graph.js';

export const STEP_ID_VERSION = 'tsbuild/step/v1';

type StepBody = NewStep;

/**
 * Encodings of frozen lists already seen, by identity: consecutive RUNs of a
 * stage share one frozen env array until an ENV or ARG changes it. A frozen
 * value's encoding never changes, so this is only a memo.
 */
const listEncodings = new WeakMap<readonly unknown[], string>();

/** Quoted object keys; plans use a few dozen distinct keys many thousands of times. */
const keyJson = new Map<string, string>();
function quoteKey(key: string): string {
  let q = keyJson.get(key);
  if (q === undefined) {
    q = JSON.stringify(key);
    if (keyJson.size < 1024) keyJson.set(key, q);
  }
  return q;
}

/** JSON with object keys sorted at every level: one encoding per value. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) {
    const known = listEncodings.get(value);
    if (known !== undefined) return known;
    // Lists of strings (env, args, patterns) are most of a plan: one native call.
    const encoded = value.every((v) => typeof v === 'string') ? JSON.stringify(value) : '[' + value.map(canonicalJson).join(',') + ']';
    // Only a frozen list can be remembered: it cannot change under the memo.
    if (Object.isFrozen(value)) listEncodings.set(value, encoded);
    return encoded;
  }
  const record = value as Record<string, unknown>;
  let out = '{';
  for (const key of Object.keys(record).sort()) {
    const v = record[key];
    if (v === undefined) continue;
    if (out.length > 1) out += ',';
    out += quoteKey(key) + ':' + canonicalJson(v);
  }
  return out + '}';
}

/** Presentation fields: not part of what a step is. */
const NOT_IDENTITY = new Set(['id', 'stage', 'name', 'range']);

export function computeStepId(body: StepBody): StepId {
  // canonicalJson of the step without its presentation fields, written out
  // here to avoid copying every step into a new object first.
  const record = body as unknown as Record<string, unknown>;
  let encoded = '{';
  for (const key of Object.keys(record).sort()) {
    const v = record[key];
    if (v === undefined || NOT_IDENTITY.has(key)) continue;
    if (encoded.length > 1) encoded += ',';
    encoded += quoteKey(key) + ':' + canonicalJson(v);
  }
  encoded += '}';
  const hash = createHash('sha256');
  hash.update(STEP_ID_VERSION);
  hash.update('\0');
  hash.update(encoded);
  return hash.digest('hex') as StepId;
}
