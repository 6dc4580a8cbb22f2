// `--cache-to` / `--cache-from` (buildx syntax) → typed specs.
//
//   --cache-to   type=registry,ref=REF[,mode=min|max][,ignore-error=B]
//                type=local,dest=DIR[,tag=T][,mode=min|max][,ignore-error=B]
//   --cache-from type=registry,ref=REF   (or just REF)
//                type=local,src=DIR[,tag=T][,digest=D]
//
// mode=min (the default, as in buildx) exports the records of the steps
// that make up the final image; mode=max every step of the build.
// image-manifest=true and oci-mediatypes=true are accepted because they
// describe what tsbuild always writes; =false is refused.
import path from 'node:path';
import { isInvalidReferenceError, parseReference, type ImageReference } from '../../registry/index.js';
import { CliError } from '../errors.js';
import { isDigest, type Digest } from '../store/index.js';

export type CacheMode = 'min' | 'max';

export type CacheExportSpec =
  | { type: 'registry'; ref: ImageReference; mode: CacheMode; ignoreError: boolean }
  | { type: 'local'; dest: string; tag: string; mode: CacheMode; ignoreError: boolean };

export type CacheImportSpec =
  | { type: 'registry'; ref: ImageReference }
  | { type: 'local'; src: string; tag: string | null; digest: Digest | null };

const TAG_RE = /^[\w][\w.-]{0,127}$/;
const ALWAYS_TRUE = ['image-manifest', 'oci-mediatypes'];

function usage(flag: string, spec: string, why: string): CliError {
  return new CliError('TSB_CLI_USAGE', `invalid ${flag} "${spec}": ${why}`);
}

/** key=value fields separated by commas; a value may be double-quoted. */
function fields(flag: string, spec: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const field of spec.match(/(?:[^,"]+|"[^"]*")+/g) ?? []) {
    const eq = field.indexOf('=');
    if (eq <= 0) throw usage(flag, spec, `"${field}" is not key=value`);
    const key = field.slice(0, eq).trim().toLowerCase();
    const value = field.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    if (out.has(key)) throw usage(flag, spec, `${key}= given twice`);
    out.set(key, value);
  }
  return out;
}

function checkKeys(flag: string, spec: string, values: Map<string, string>, allowed: readonly string[]): void {
  for (const key of values.keys()) {
    if (!allowed.includes(key)) throw usage(flag, spec, `type=${values.get('type') ?? '?'} does not take ${key}=`);
  }
  for (const key of ALWAYS_TRUE) {
    const v = values.get(key);
    if (v !== undefined && v !== 'true') throw usage(flag, spec, `${key}=${v}: tsbuild always writes an OCI image manifest`);
  }
}

function bool(flag: string, spec: string, key: string, v: string | undefined): boolean {
  if (v === undefined || v === 'false' || v === '0') return false;
  if (v === 'true' || v === '1') return true;
  throw usage(flag, spec, `${key}=${v}: expected true or false`);
}

function mode(flag: string, spec: string, v: string | undefined): CacheMode {
  if (v === undefined || v === 'min') return 'min';
  if (v === 'max') return 'max';
  throw usage(flag, spec, `mode=${v}: expected min or max`);
}

function reference(flag: string, spec: string, text: string | undefined, allowDigest: boolean): ImageReference {
  if (text === undefined || text === '') throw usage(flag, spec, 'type=registry needs ref=');
  try {
    const ref = parseReference(text);
    if (!allowDigest && ref.digest !== null) throw usage(flag, spec, `ref "${text}" must be a tag, not a digest`);
    return ref;
  } catch (err) {
    if (isInvalidReferenceError(err)) throw usage(flag, spec, err.message);
    throw err;
  }
}

function tag(flag: string, spec: string, v: string | undefined): string | null {
  if (v === undefined) return null;
  if (!TAG_RE.test(v)) throw usage(flag, spec, `tag=${v} is not a valid tag`);
  return v;
}

function dir(flag: string, spec: string, key: string, v: string | undefined, cwd: string): string {
  if (v === undefined || v === '') throw usage(flag, spec, `type=local needs ${key}=`);
  return path.resolve(cwd, v);
}

export function parseCacheTo(spec: string, cwd: string = process.cwd()): CacheExportSpec {
  const flag = '--cache-to';
  const values = fields(flag, spec);
  const type = values.get('type');
  const common = { mode: mode(flag, spec, values.get('mode')), ignoreError: bool(flag, spec, 'ignore-error', values.get('ignore-error')) };
  switch (type) {
    case 'registry':
      checkKeys(flag, spec, values, ['type', 'ref', 'mode', 'ignore-error', ...ALWAYS_TRUE]);
      return { type, ref: reference(flag, spec, values.get('ref'), false), ...common };
    case 'local':
      checkKeys(flag, spec, values, ['type', 'dest', 'tag', 'mode', 'ignore-error', ...ALWAYS_TRUE]);
      return { type, dest: dir(flag, spec, 'dest', values.get('dest'), cwd), tag: tag(flag, spec, values.get('tag')) ?? 'latest', ...common };
    default:
      throw usage(flag, spec, type === undefined ? 'missing type= (registry or local)' : `unsupported type "${type}": expected registry or local`);
  }
}

export function parseCacheFrom(spec: string, cwd: string = process.cwd()): CacheImportSpec {
  const flag = '--cache-from';
  // buildx: a bare reference means type=registry,ref=REF.
  if (!spec.includes('=')) return { type: 'registry', ref: reference(flag, spec, spec, true) };
  const values = fields(flag, spec);
  const type = values.get('type');
  switch (type) {
    case 'registry':
      checkKeys(flag, spec, values, ['type', 'ref']);
      return { type, ref: reference(flag, spec, values.get('ref'), true) };
    case 'local': {
      checkKeys(flag, spec, values, ['type', 'src', 'tag', 'digest']);
      const d = values.get('digest');
      if (d !== undefined && !isDigest(d)) throw usage(flag, spec, `digest=${d} is not a sha256 digest`);
      return { type, src: dir(flag, spec, 'src', values.get('src'), cwd), tag: tag(flag, spec, values.get('tag')), digest: (d as Digest | undefined) ?? null };
    }
    default:
      throw usage(flag, spec, type === undefined ? 'missing type= (registry or local)' : `unsupported type "${type}": expected registry or local`);
  }
}

/** Human label for messages. */
export function cacheLabel(spec: CacheExportSpec | CacheImportSpec): string {
  if (spec.type === 'registry') return spec.ref.canonical();
  return 'dest' in spec ? spec.dest : spec.src;
}
