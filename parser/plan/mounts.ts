// RUN --mount=… parsing, after BuildKit's instructions/commands_runmount.go.
// The value is CSV (Go encoding/csv rules); each key=value field's value is
// expanded on its own, so a variable holding a comma stays one value. Every
// key is also checked against the whitelist of its mount type, so a typo is
// an error before anything runs, never silently ignored (BuildKit accepts
// any known key on any type and ignores the irrelevant ones).
import type { FileSource, RunMount } from '../graph.js';
import { parseGoBool } from '../text-scan.js';

export class MountSpecError extends Error {}

const TYPES = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'] as const;
const COMMON = ['type', 'target', 'dst', 'destination'];
const KEYS: Record<RunMount['type'], string[]> = {
  bind: [...COMMON, 'source', 'src', 'from', 'readonly', 'ro', 'readwrite', 'rw'],
  cache: [...COMMON, 'id', 'sharing', 'from', 'source', 'src', 'readonly', 'ro', 'readwrite', 'rw', 'mode', 'uid', 'gid'],
  tmpfs: [...COMMON, 'size'],
  secret: [...COMMON, 'id', 'source', 'src', 'env', 'required', 'mode', 'uid', 'gid'],
  ssh: [...COMMON, 'id', 'required', 'mode', 'uid', 'gid'],
};
/** Keys that may be written without `=value`. */
const BARE_KEYS = new Set(['readonly', 'ro', 'readwrite', 'rw', 'required']);

/** One record of Go's encoding/csv (default options): `"…"` quotes a whole field, `""` is a quote inside it. */
export function splitCsv(text: string): string[] {
  if (text === '') throw new MountSpecError('failed to parse csv mounts: EOF');
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) throw new MountSpecError('failed to parse csv mounts: extraneous or missing " in quoted-field');
        const ch = text[i] as string;
        if (ch === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += ch;
        i++;
      }
      if (i < text.length && text[i] !== ',') throw new MountSpecError('failed to parse csv mounts: extraneous or missing " in quoted-field');
    } else {
      while (i < text.length && text[i] !== ',') {
        if (text[i] === '"') throw new MountSpecError('failed to parse csv mounts: bare " in non-quoted-field');
        field += text[i];
        i++;
      }
    }
    fields.push(field);
    if (i >= text.length) return fields;
    i++; // the comma
  }
}

interface Field {
  key: string;
  value: string | null;
}

function fieldsOf(spec: string): Field[] {
  // Go's csv reader stops a record at a newline; flags never contain one.
  return splitCsv(spec.split('\n')[0] ?? '').map((field) => {
    const eq = field.indexOf('=');
    return { key: (eq < 0 ? field : field.slice(0, eq)).toLowerCase(), value: eq < 0 ? null : field.slice(eq + 1) };
  });
}

/**
 * The checks BuildKit makes when the Dockerfile is parsed, before any
 * expansion: CSV syntax, `key=value` shape, no variables in `from`, and
 * (our addition) keys known for the mount type when the type is literal.
 * Returns the problem, or null.
 */
export function checkMountSpec(spec: string): string | null {
  try {
    const fields = fieldsOf(spec);
    let type = 'bind';
    for (const f of fields) if (f.key === 'type' && f.value !== null) type = f.value.toLowerCase();
    for (const f of fields) {
      if (f.value === null) {
        if (f.key === '' ) throw new MountSpecError(`invalid field '' must be a key=value pair`);
        if (!BARE_KEYS.has(f.key)) throw new MountSpecError(`invalid field '${f.key}' must be a key=value pair`);
      }
      if (f.key === 'from' && f.value !== null && /\$./s.test(f.value)) {
        throw new MountSpecError("'from' doesn't support variable expansion, define alias stage instead");
      }
    }
    if (!type.includes('$')) {
      if (!(TYPES as readonly string[]).includes(type)) throw new MountSpecError(`unsupported mount type "${type}"`);
      for (const f of fields) {
        if (!KEYS[type as RunMount['type']].includes(f.key)) throw new MountSpecError(`unexpected key '${f.key}' for mount type '${type}'`);
      }
    }
    return null;
  } catch (e) {
    if (e instanceof MountSpecError) return e.message;
    throw e;
  }
}

function parseBool(key: string, value: string | null): boolean {
  if (value === null) return true;
  const b = parseGoBool(value);
  if (b === null) throw new MountSpecError(`invalid value for ${key}: ${value}`);
  return b;
}

/** strconv.ParseUint(v, 8, 32) */
function parseOctalMode(value: string): number {
  if (!/^[0-7]+$/.test(value) || parseInt(value, 8) > 0xffffffff) throw new MountSpecError(`invalid value ${value} for mode`);
  return parseInt(value, 8);
}

/** strconv.ParseUint(v, 10, 32) */
function parseId(key: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) throw new MountSpecError(`invalid value ${value} for ${key}`);
  return Number(value);
}

/** go-units RAMInBytes: `64m`, `1.5GiB`, `100`, binary multipliers. */
function parseSize(value: string): number {
  const m = /^(\d+(?:\.\d+)*) ?([kmgtp])?i?b?$/i.exec(value);
  if (!m) throw new MountSpecError(`invalid size: '${value}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 }[(m[2] ?? '').toLowerCase()] ?? 1;
  const n = Number.parseFloat(m[1] as string);
  if (!Number.isFinite(n)) throw new MountSpecError(`invalid size: '${value}'`);
  return Math.floor(n * mult);
}

function cleanTarget(target: string, cwd: string): string {
  const abs = target.startsWith('/') ? target : `${cwd.replace(/\/$/, '')}/${target}`;
  const parts: string[] = [];
  for (const p of abs.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return '/' + parts.join('/');
}

/** A relative path that must stay inside its root (cache source, bind source). */
function cleanInside(key: string, value: string): string {
  const parts: string[] = [];
  for (const p of value.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') {
      if (parts.length === 0) throw new MountSpecError(`${key} "${value}" leaves its root`);
      parts.pop();
    } else parts.push(p);
  }
  return parts.join('/') || '.';
}

function basename(p: string): string {
  const parts = p.split('/').filter(Boolean);
  return parts[parts.length - 1] ?? '/';
}

export interface MountContext {
  cwd: string;
  /** Expand one value (BuildKit expands each field's value separately). */
  expand(value: string): string;
  resolveFrom(value: string): FileSource;
}

export function parseMount(spec: string, ctx: MountContext): RunMount {
  const kv = new Map<string, string | null>();
  for (const f of fieldsOf(spec)) {
    if (f.value === null && !BARE_KEYS.has(f.key)) throw new MountSpecError(`invalid field '${f.key}' must be a key=value pair`);
    // `from` is never expanded (checked at parse time); a later key wins, as in BuildKit.
    kv.set(f.key, f.value === null || f.key === 'from' ? f.value : ctx.expand(f.value));
  }
  const type = (kv.get('type') ?? 'bind').toLowerCase() as RunMount['type'];
  if (!(TYPES as readonly string[]).includes(type)) throw new MountSpecError(`unsupported mount type "${type}"`);
  for (const key of kv.keys()) {
    if (!KEYS[type].includes(key)) throw new MountSpecError(`unexpected key '${key}' for mount type '${type}'`);
  }
  const get = (...keys: string[]): string | null => {
    for (const k of keys) {
      const v = kv.get(k);
      if (v !== undefined && v !== null) return v;
    }
    return null;
  };
  const has = (...keys: string[]): boolean => keys.some((k) => kv.has(k));
  const rawTarget = get('target', 'dst', 'destination');
  const target = rawTarget === null || rawTarget === '' ? null : cleanTarget(rawTarget, ctx.cwd);
  const mode = (def: number): number => {
    const v = get('mode');
    return v === null ? def : parseOctalMode(v);
  };
  const uid = (): number => (get('uid') === null ? 0 : parseId('uid', get('uid') as string));
  const gid = (): number => (get('gid') === null ? 0 : parseId('gid', get('gid') as string));
  const requireTarget = (): string => {
    if (target === null) throw new MountSpecError(`mount type ${type} requires a target`);
    if (target === '/') throw new MountSpecError(`invalid mount target "/"`);
    return target;
  };
  // readonly/readwrite: the last one written decides (BuildKit assigns in order).
  let readonly: boolean | null = null;
  for (const [key, value] of kv) {
    if (key === 'readonly' || key === 'ro') readonly = parseBool(key, value);
    if (key === 'readwrite' || key === 'rw') readonly = !parseBool(key, value);
  }
  const required = (): boolean => (has('required') ? parseBool('required', kv.get('required') ?? null) : false);
  switch (type) {
    case 'bind': {
      const from = get('from');
      return {
        type,
        target: requireTarget(),
        source: cleanInside('source', get('source', 'src') ?? '.'),
        from: from === null ? { type: 'context' } : ctx.resolveFrom(from),
        readwrite: readonly === false,
      };
    }
    case 'cache': {
      const t = requireTarget();
      const sharing = (get('sharing') ?? 'shared').toLowerCase();
      if (sharing !== 'shared' && sharing !== 'private' && sharing !== 'locked') {
        throw new MountSpecError(`unsupported sharing value "${get('sharing') ?? ''}"`);
      }
      const id = get('id') || t;
      const from = get('from');
      return {
        type,
        target: t,
        id,
        sharing,
        from: from === null ? null : ctx.resolveFrom(from),
        source: cleanInside('source', get('source', 'src') ?? '.'),
        readonly: readonly === true,
        mode: mode(0o755),
        uid: uid(),
        gid: gid(),
      };
    }
    case 'tmpfs': {
      const size = get('size');
      return { type, target: requireTarget(), size: size === null ? null : parseSize(size) };
    }
    case 'secret': {
      const env = get('env');
      const source = get('source', 'src');
      const idKey = get('id');
      if (source && idKey) throw new MountSpecError("both source and id can't be set");
      let id = source || idKey || '';
      if (id === '') {
        if (target === null) throw new MountSpecError('invalid secret mount: one of source, target required');
        id = basename(target);
      }
      return {
        type,
        id,
        target: target ?? (env === null ? `/run/secrets/${basename(id)}` : null),
        env,
        required: required(),
        mode: mode(0o400),
        uid: uid(),
        gid: gid(),
      };
    }
    case 'ssh': {
      return {
        type,
        id: get('id') || 'default',
        target: target ?? '/run/buildkit/ssh_agent.0',
        required: required(),
        mode: mode(0o600),
        uid: uid(),
        gid: gid(),
      };
    }
  }
}

/** The `from=` values of a --mount spec (for dependency analysis; the spec was checked at parse time). */
export function mountFromValues(spec: string): string[] {
  try {
    return fieldsOf(spec).flatMap((f) => (f.key === 'from' && f.value !== null && f.value !== '' ? [f.value] : []));
  } catch (e) {
    if (e instanceof MountSpecError) return [];
    throw e;
  }
}
