// Tag names and record keys become file names; record namespaces become
// directory names. Two layers keep every one of them inside the root:
//
//  1. validation rejects anything that looks like a path trick even before
//     encoding (empty, `.`/`..` segments, leading or doubled `/`, control
//     characters, whitespace, backslashes, non-ASCII), so hostile input fails
//     loudly with TSB_STORE_INVALID_NAME instead of being stored;
//  2. encoding maps every byte outside [A-Za-z0-9_-] (and a leading `.`) to
//     `%XX`, so the result never contains `/` and is never `.` or `..`.
//
// The encoding is canonical and reversible, which lets listTags/listRecords
// recover names from file names and ignore files that are not ours.
import { createHash } from 'node:crypto';
import { StoreError } from './errors.js';

/** Longest tag name or record key accepted, in characters. */
export const MAX_NAME_LENGTH = 1024;
/** Longest encoded stem we put in a file name (NAME_MAX is 255 bytes). */
const MAX_STEM_LENGTH = 200;
const NAMESPACE_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

type NameKind = 'tag name' | 'record key' | 'record namespace';

function invalid(kind: NameKind, name: unknown, why: string): StoreError {
  const shown = typeof name === 'string' ? JSON.stringify(name.slice(0, 100)) : typeof name;
  return new StoreError('TSB_STORE_INVALID_NAME', `invalid ${kind} ${shown}: ${why}`);
}

function checkPathLikeName(kind: NameKind, name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) throw invalid(kind, name, 'empty');
  if (name.length > MAX_NAME_LENGTH) throw invalid(kind, name, `longer than ${MAX_NAME_LENGTH} characters`);
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    // printable ASCII without space; backslash is refused so that no
    // Windows-style separator can be smuggled into a later consumer.
    if (c < 0x21 || c > 0x7e || c === 0x5c) throw invalid(kind, name, `character ${JSON.stringify(name[i])} not allowed`);
  }
  for (const seg of name.split('/')) {
    if (seg === '' || seg === '.' || seg === '..') throw invalid(kind, name, 'empty, "." or ".." path segment');
  }
}

export function validateTagName(name: unknown): asserts name is string {
  checkPathLikeName('tag name', name);
}

export function validateNamespace(ns: unknown): asserts ns is string {
  if (typeof ns !== 'string' || !NAMESPACE_RE.test(ns)) {
    throw invalid('record namespace', ns, 'want [A-Za-z0-9][A-Za-z0-9_.-]{0,63}');
  }
}

export function validateRecordKey(key: unknown): asserts key is string {
  checkPathLikeName('record key', key);
  if (encodeName(key).length > MAX_STEM_LENGTH) throw invalid('record key', key, 'too long once encoded as a file name');
}

const KEEP_RE = /^[A-Za-z0-9_-]$/;

/** Percent-encode a validated name into a single safe path component. */
export function encodeName(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const ch = name[i] as string;
    if (KEEP_RE.test(ch) || (ch === '.' && i > 0)) out += ch;
    else out += `%${ch.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Inverse of encodeName; null when the stem is not a canonical encoding. */
export function decodeName(stem: string): string | null {
  let decoded: string;
  try {
    decoded = decodeURIComponent(stem);
  } catch {
    return null;
  }
  return encodeName(decoded) === stem ? decoded : null;
}

/**
 * The file stem for a tag. Long references (a registry host, a deep path and
 * a digest can exceed NAME_MAX once encoded) fall back to `~<sha256(name)>`;
 * `~` is always encoded by encodeName, so the two forms never collide. The
 * tag file itself stores the full name, which getTag checks.
 */
export function tagStem(name: string): string {
  const enc = encodeName(name);
  if (enc.length <= MAX_STEM_LENGTH) return enc;
  return `~${createHash('sha256').update(name).digest('hex')}`;
}
