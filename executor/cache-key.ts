// The cache key of a step: one explicit function listing what is in and
// what is out. Changing what goes in changes every user's keys, so the
// schema is versioned (bump CACHE_KEY_VERSION with any change here).
//
// In:  the step's semantic definition, the cache keys of its inputs (not
//      their step ids: a rebuilt parent with identical content keeps the
//      key), and content digests (COPY/ADD sources after .dockerignore and
//      --exclude filtering, ADD URL bodies, base image manifest digests;
//      files copied from a stage or image are named by the layer diffID that
//      provides them and their path, never by inode, so keys are portable
//      between roots and hosts — what --cache-from relies on).
// Out: presentation (name, Dockerfile range, stage number) and proxy
//      variables (proxyEnv), which must never invalidate the cache; mtimes
//      of context files (only content, type, mode and link targets count).
import { createHash } from 'node:crypto';
import { canonicalJson, type Step } from '../parser/index.js';

export const CACHE_KEY_VERSION = 'tsbuild/cache/v2';

export type CacheKey = string & { readonly __brand: 'CacheKey' };

export function cacheKey(step: Step, inputKeys: readonly CacheKey[], contentDigests: readonly string[]): CacheKey {
  const hash = createHash('sha256');
  const field = (s: string): void => {
    // length-prefixed, so no two field lists encode to the same bytes
    hash.update(`${Buffer.byteLength(s)}:`);
    hash.update(s);
  };
  field(CACHE_KEY_VERSION);
  field(canonicalJson(definitionOf(step)));
  field(String(inputKeys.length));
  for (const k of inputKeys) field(k);
  field(String(contentDigests.length));
  for (const d of contentDigests) field(d);
  return hash.digest('hex') as CacheKey;
}

/** The part of a step that determines its result; inputs are keyed separately. */
export function definitionOf(step: Step): unknown {
  switch (step.kind) {
    case 'source':
      return { kind: step.kind, source: step.source };
    case 'exec': {
      const { id: _i, name: _n, range: _r, stage: _s, proxyEnv: _p, input: _in, ...rest } = step;
      return {
        ...rest,
        mounts: step.mounts.map((m) => ('from' in m && m.from && m.from.type === 'step' ? { ...m, from: { type: 'step' } } : m)),
      };
    }
    case 'copy': {
      const { id: _i, name: _n, range: _r, stage: _s, input: _in, ...rest } = step;
      return { ...rest, from: step.from.type === 'step' ? { type: 'step' } : step.from };
    }
    case 'merge':
      return { kind: step.kind, inputs: step.inputs.length };
  }
}
