// RUN --mount=… parsing. Every key is checked against the whitelist of its
// mount type, so a typo is an error before anything runs, never ignored.
import type { FileSource, RunMount } from '../graph.js';

export class MountSpecError extends Error {}

const COMMON = ['type', 'target', 'dst', 'destination'];
const KEYS: Record<RunMount['type'], string[]> = {
  bind: [...COMMON, 'source', 'src', 'from', 'readonly', 'ro', 'readwrite', 'rw'],
  cache: [...COMMON, 'id', 'sharing', 'from', 'source', 'src', 'readonly', 'ro', 'mode', 'uid', 'gid'],
  tmpfs: [...COMMON, 'size'],
  secret: [...COMMON, 'id', 'env', 'required', 'mode', 'uid', 'gid'],
  ssh: [...COMMON, 'id', 'required', 'mode', 'uid', 'gid'],
};
const BOOL_KEYS = new Set(['readonly', 'ro', 'readwrite', 'rw', 'required']);

/** Split `a=b,c="d,e"` CSV-style like BuildKit (encoding/csv). */
export function splitCsv(text: string): string[] {
  const fields: string[] = [];
  let cur = '';
  let inQuote = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (inQuote) {
      if (ch === '"' && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') inQuote = false;
      else cur += ch;
    } else if (ch === '"' && cur.endsWith('=')) {
      inQuote = true;
    } else if (ch === '"' && cur === '') {
      inQuote = true;
    } else if (ch === ',') {
      fields.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (inQuote) throw new MountSpecError('unterminated quote');
  fields.push(cur);
  return fields;
}

function parseBool(key: string, value: string | null): boolean {
  if (value === null || value === '' || value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new MountSpecError(`invalid value for ${key}: ${value}`);
}

function parseOctalMode(value: string): number {
  if (!/^[0-7]{1,4}$/.test(value)) throw new MountSpecError(`invalid mode: ${value}, expected octal such as 0755`);
  return parseInt(value, 8);
}

function parseId(key: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 0xffffffff) throw new MountSpecError(`invalid ${key}: ${value}`);
  return Number(value);
}

function parseSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?$/i.exec(value);
  if (!m) throw new MountSpecError(`invalid size: ${value}`);
  const unit = (m[2] ?? '').toLowerCase().replace(/i?b$/, '');
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[unit];
  if (mult === undefined) throw new MountSpecError(`invalid size: ${value}`);
  return Math.round(Number(m[1]) * mult);
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

export interface MountContext {
  cwd: string;
  resolveFrom(value: string): FileSource;
}

export function parseMount(spec: string, ctx: MountContext): RunMount {
  const kv = new Map<string, string | null>();
  for (const field of splitCsv(spec)) {
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? null : field.slice(eq + 1);
    if (key === '') throw new MountSpecError('empty key');
    if (kv.has(key)) throw new MountSpecError(`duplicate key: ${key}`);
    kv.set(key, value);
  }
  const type = (kv.get('type') ?? 'bind') as RunMount['type'];
  if (!(type in KEYS)) throw new MountSpecError(`unsupported mount type "${type}"`);
  for (const [key, value] of kv) {
    if (!KEYS[type].includes(key)) throw new MountSpecError(`unexpected key '${key}' for mount type '${type}'`);
    if (value === null && !BOOL_KEYS.has(key)) throw new MountSpecError(`missing value for ${key}`);
  }
  const get = (...keys: string[]): string | null => {
    for (const k of keys) {
      const v = kv.get(k);
      if (v !== undefined) return v;
    }
    return null;
  };
  const rawTarget = get('target', 'dst', 'destination');
  const target = rawTarget === null ? null : cleanTarget(rawTarget, ctx.cwd);
  const mode = (def: number): number => {
    const v = get('mode');
    return v === null ? def : parseOctalMode(v);
  };
  const uid = (): number => (get('uid') === null ? 0 : parseId('uid', get('uid') as string));
  const gid = (): number => (get('gid') === null ? 0 : parseId('gid', get('gid') as string));
  const requireTarget = (): string => {
    if (target === null) throw new MountSpecError(`mount type ${type} requires a target`);
    if (target === '/') throw new MountSpecError('mount target cannot be /');
    return target;
  };
  switch (type) {
    case 'bind': {
      const from = get('from');
      const ro = kv.has('readonly') || kv.has('ro') ? parseBool('readonly', get('readonly', 'ro')) : null;
      const rw = kv.has('readwrite') || kv.has('rw') ? parseBool('readwrite', get('readwrite', 'rw')) : false;
      return {
        type,
        target: requireTarget(),
        source: cleanInside('source', get('source', 'src') ?? '.'),
        from: from === null ? { type: 'context' } : ctx.resolveFrom(from),
        readwrite: ro === true ? false : rw,
      };
    }
    case 'cache': {
      const t = requireTarget();
      const sharing = get('sharing') ?? 'shared';
      if (sharing !== 'shared' && sharing !== 'private' && sharing !== 'locked') {
        throw new MountSpecError(`unrecognized sharing parameter "${sharing}"`);
      }
      const id = get('id') ?? t;
      if (id === '') throw new MountSpecError('cache id cannot be empty');
      const from = get('from');
      return {
        type,
        target: t,
        id,
        sharing,
        from: from === null ? null : ctx.resolveFrom(from),
        source: cleanInside('source', get('source', 'src') ?? '.'),
        readonly: kv.has('readonly') || kv.has('ro') ? parseBool('readonly', get('readonly', 'ro')) : false,
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
      const id = get('id') ?? (target !== null ? target.split('/').pop() ?? '' : '');
      if (id === '') throw new MountSpecError('secret mount requires an id or a target');
      return {
        type,
        id,
        target: target ?? (env === null ? `/run/secrets/${id}` : null),
        env,
        required: kv.has('required') ? parseBool('required', get('required')) : false,
        mode: mode(0o400),
        uid: uid(),
        gid: gid(),
      };
    }
    case 'ssh': {
      const id = get('id') ?? 'default';
      return {
        type,
        id,
        target: target ?? '/run/buildkit/ssh_agent.0',
        required: kv.has('required') ? parseBool('required', get('required')) : false,
        mode: mode(0o600),
        uid: uid(),
        gid: gid(),
      };
    }
  }
}
