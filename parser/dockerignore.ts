// .dockerignore with Docker's exact semantics: moby/patternmatcher/ignorefile
// ReadAll for the file, patternmatcher New + MatchesOrParentMatches for the
// matching, fsutil's directory-skip rule for mayReincludeUnder, and buildx's
// `<Dockerfile>.dockerignore` precedence. Docker turns each glob into a Go
// (RE2) regexp by plain string substitution, without tracking whether it is
// inside `[...]`, so odd patterns such as `[*]` mean what RE2 makes of that
// text. We build the same regexp source and then translate RE2 syntax to a
// JavaScript `u` regexp token by token, instead of writing our own glob
// engine, so those corners match too.
// @balena/dockerignore is not used: it ports moby v19.03 (case-insensitive by
// default, `+()` left unescaped, the old single-parent rule, no `**`
// suffix/prefix fast paths, no check for malformed patterns).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { TsbuildError } from './errors.js';
import { BadPattern, re2ToJs } from './re2-to-js.js';

/** A pattern Docker would refuse. `path` is '' and `line` is the 1-based list index when the patterns did not come from a file. */
export class DockerignoreError extends TsbuildError {
  declare readonly code: 'TSB_DOCKERIGNORE_INVALID';
  readonly path: string;
  readonly line: number;
  readonly pattern: string;
  constructor(where: { path: string; line: number }, pattern: string, reason: string) {
    const at = where.path === '' ? `pattern #${where.line}` : `${where.path}:${where.line}`;
    super('TSB_DOCKERIGNORE_INVALID', `${at}: invalid pattern ${JSON.stringify(pattern)}: ${reason}`);
    this.path = where.path;
    this.line = where.line;
    this.pattern = pattern;
  }
}

/** Internal: why a single pattern is bad; wrapped into DockerignoreError with a location. */

// ---------------------------------------------------------------- file reading

// Go's strings.TrimSpace (Unicode White_Space). Differs from String#trim:
// Go trims U+0085 but keeps U+FEFF.
const GO_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const GO_TRIM = new RegExp(`^[${GO_SPACE}]+|[${GO_SPACE}]+$`, 'g');
const goTrimSpace = (s: string): string => s.replace(GO_TRIM, '');

/** Go's path/filepath.Clean on a '/'-separated system. */
function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part !== '..') out.push(part);
    else if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (!rooted) out.push('..');
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

interface PatternLine {
  readonly pattern: string;
  readonly line: number;
}

function parseLines(text: string): PatternLine[] {
  const result: PatternLine[] = [];
  // Go's bufio.ScanLines: split on \n, drop one trailing \r; no line after a final \n.
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, index) => {
    let line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (index === 0 && line.startsWith('\uFEFF')) line = line.slice(1);
    // A comment only when '#' is in column 1: "  # x" is a pattern.
    if (line.startsWith('#')) return;
    let pattern = goTrimSpace(line);
    if (pattern === '') return;
    const invert = pattern.startsWith('!');
    if (invert) pattern = goTrimSpace(pattern.slice(1));
    if (pattern.length > 0) {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    result.push({ pattern: invert ? '!' + pattern : pattern, line: index + 1 });
  });
  return result;
}

/** ignorefile.ReadAll: the cleaned patterns in file order, exceptions keep their '!'. Never throws. */
export function parseDockerignore(text: string): string[] {
  return parseLines(text).map((l) => l.pattern);
}

// ------------------------------------------------------- glob syntax checking

// patternmatcher.New rejects a pattern when Go's filepath.Match(p, ".") fails.
// Match stops at the first chunk that cannot match, so a malformed tail can
// go unnoticed (`a*\` passes, `a\` does not): ported as is, not as a
// grammar check.
function checkGlobSyntax(pattern: string): void {
  if (goMatch(pattern, '.') === 'bad') throw new BadPattern('syntax error in pattern');
}

/** Go's filepath.Match on a '/' system; 'bad' is ErrBadPattern. */
function goMatch(pattern: string, name: string): boolean | 'bad' {
  next: while (pattern.length > 0) {
    const [star, chunk, rest] = scanChunk(pattern);
    pattern = rest;
    if (star && chunk === '') return !name.includes('/');
    const t = matchChunk(chunk, name);
    if (typeof t === 'string' && (t.length === 0 || pattern.length > 0)) {
      name = t;
      continue;
    }
    if (t === 'bad') return 'bad';
    for (let i = 0; star && i < name.length && name[i] !== '/'; i++) {
      const t2 = matchChunk(chunk, name.slice(i + 1));
      if (typeof t2 === 'string') {
        if (pattern.length === 0 && t2.length > 0) continue;
        name = t2;
        continue next;
      }
      if (t2 === 'bad') return 'bad';
    }
    return false;
  }
  return name.length === 0;
}

function scanChunk(pattern: string): [star: boolean, chunk: string, rest: string] {
  const stars = /^\**/.exec(pattern)![0].length;
  const p = pattern.slice(stars);
  let inRange = false;
  let i = 0;
  for (; i < p.length; i++) {
    if (p[i] === '\\') {
      if (i + 1 < p.length) i++;
    } else if (p[i] === '[') inRange = true;
    else if (p[i] === ']') inRange = false;
    else if (p[i] === '*' && !inRange) break;
  }
  return [stars > 0, p.slice(0, i), p.slice(i)];
}

/** The rest of s after chunk matched its start, null for no match, 'bad' for a malformed chunk. */
function matchChunk(chunk: string, s: string): string | null | 'bad' {
  // After a mismatch Go keeps parsing the chunk, only to report bad syntax.
  let failed = false;
  const runeLength = (str: string): number => (str.codePointAt(0)! > 0xffff ? 2 : 1);
  while (chunk.length > 0) {
    if (!failed && s.length === 0) failed = true;
    if (chunk[0] === '[') {
      const r = failed ? 0 : s.codePointAt(0)!;
      if (!failed) s = s.slice(runeLength(s));
      chunk = chunk.slice(1);
      const negated = chunk.startsWith('^');
      if (negated) chunk = chunk.slice(1);
      let match = false;
      for (let nrange = 0; !(chunk.startsWith(']') && nrange > 0); nrange++) {
        const lo = getEsc(chunk);
        if (lo === null) return 'bad';
        const hi = lo[1].startsWith('-') ? getEsc(lo[1].slice(1)) : lo;
        if (hi === null) return 'bad';
        chunk = hi[1];
        if (lo[0] <= r && r <= hi[0]) match = true;
      }
      chunk = chunk.slice(1);
      if (match === negated) failed = true;
    } else if (chunk[0] === '?') {
      if (!failed) {
        if (s[0] === '/') failed = true;
        s = s.slice(runeLength(s));
      }
      chunk = chunk.slice(1);
    } else {
      if (chunk[0] === '\\' && (chunk = chunk.slice(1)).length === 0) return 'bad';
      if (!failed) {
        if (chunk[0] !== s[0]) failed = true;
        s = s.slice(1);
      }
      chunk = chunk.slice(1);
    }
  }
  return failed ? null : s;
}

/** One class endpoint, possibly escaped: [rune, rest of chunk], or null for ErrBadPattern. */
function getEsc(chunk: string): [number, string] | null {
  if (chunk === '' || chunk[0] === '-' || chunk[0] === ']') return null;
  if (chunk[0] === '\\' && (chunk = chunk.slice(1)) === '') return null;
  const r = chunk.codePointAt(0)!;
  const rest = chunk.slice(r > 0xffff ? 2 : 1);
  return rest === '' ? null : [r, rest];
}

// ------------------------------------------------------------ pattern compile

type PathTest = (p: string) => boolean;

// patternmatcher means to escape `.+()|{}$`, but builds its lookup table with
// `1 << (b / 8)` in a byte, which is 0 for every character >= 64: `|`, `{` and
// `}` reach RE2 unescaped. So in a wildcard pattern `a|b` is an alternation
// and `x{2}` a repeat, in Docker and here.
const REGEXP_ESCAPED = '.+()$';

/** patternmatcher's Pattern.compile: an exact/prefix/suffix fast path, or an RE2 regexp. */
function compileGlob(cleaned: string): PathTest {
  const cps = Array.from(cleaned);
  let re = '^';
  let kind: 'exact' | 'prefix' | 'suffix' | 'regexp' = 'exact';
  for (let k = 0, token = 0; k < cps.length; token++) {
    const ch = cps[k++]!;
    if (ch === '*' && cps[k] === '*') {
      k++;
      if (cps[k] === '/') k++;
      if (k < cps.length) {
        re += '(.*/)?';
        kind = 'regexp';
      } else if (kind === 'exact') kind = 'prefix';
      else {
        re += '.*';
        kind = 'regexp';
      }
      if (token === 0) kind = 'suffix';
    } else if (ch === '*' || ch === '?') {
      re += ch === '*' ? '[^/]*' : '[^/]';
      kind = 'regexp';
    } else if (REGEXP_ESCAPED.includes(ch)) re += '\\' + ch;
    else if (ch === '\\') {
      if (k < cps.length) {
        re += '\\' + cps[k++]!;
        kind = 'regexp';
      } else re += '\\';
    } else {
      re += ch;
      if (ch === '[' || ch === ']') kind = 'regexp';
    }
  }
  switch (kind) {
    case 'exact':
      return (p) => p === cleaned;
    case 'prefix': {
      const prefix = cleaned.slice(0, -2);
      return (p) => p.startsWith(prefix);
    }
    case 'suffix': {
      // `**foo` is a plain string suffix test in Docker, so it matches `xfoo`.
      const suffix = cleaned.slice(2);
      return (p) => p.endsWith(suffix) || (suffix.startsWith('/') && p === suffix.slice(1));
    }
    case 'regexp': {
      const js = re2ToJs(re + '$');
      let regexp: RegExp;
      try {
        regexp = new RegExp(js, 'u');
      } catch (err) {
        throw new BadPattern(`cannot translate regexp ${re}$: ${(err as Error).message}`);
      }
      return (p) => regexp.test(p);
    }
  }
}

// ------------------------------------------------------------- RE2 → JS regexp

interface CompiledPattern {
  readonly exclusion: boolean;
  readonly cleaned: string;
  readonly test: PathTest;
}

/** patternmatcher.New for one pattern; null for a blank one. */
function compilePattern(raw: string): CompiledPattern | null {
  let p = goTrimSpace(raw);
  if (p === '') return null;
  p = cleanPath(p);
  const exclusion = p.startsWith('!');
  if (exclusion) {
    if (p.length === 1) throw new BadPattern('illegal exclusion pattern: "!"');
    p = p.slice(1);
  }
  checkGlobSyntax(p);
  return { exclusion, cleaned: p, test: compileGlob(p) };
}

export interface IgnoreMatcher {
  /** The patterns the matcher was built from, as given. */
  readonly patterns: readonly string[];
  /** relPath uses '/' separators, relative to the context root, no leading './'. True if excluded. */
  excludes(relPath: string): boolean;
  /**
   * For directory walks: false when nothing below dirRelPath can be re-included by an exception, so the walker may skip the whole directory when it is excluded.
   * Only meaningful for a directory that excludes() reports as excluded. Follows fsutil's rule exactly (any
   * wildcard in an exception means "walk everything"), so the same directories are opened as under BuildKit.
   */
  mayReincludeUnder(dirRelPath: string): boolean;
}

// fsutil's patternChars on a '/' system: an exception containing one of these
// (after a trailing /** or /* is stripped) could match anywhere, so no
// excluded directory may be skipped.
const WILDCARD_CHARS = /[*[\]?^\\]/;
const withoutTrailingGlob = (p: string): string => p.replace(/\/\*\*$/, '').replace(/\/\*$/, '');

/** Throws DockerignoreError (path '', line = 1-based index) for a pattern Docker would reject. */
export function createIgnoreMatcher(patterns: readonly string[]): IgnoreMatcher {
  const compiled: CompiledPattern[] = [];
  patterns.forEach((raw, index) => {
    const c = compileWithLocation(raw, { path: '', line: index + 1 });
    if (c !== null) compiled.push(c);
  });
  const exceptions = compiled.filter((c) => c.exclusion).map((c) => withoutTrailingGlob(c.cleaned));
  const onlyPrefixExceptions = !exceptions.some((e) => WILDCARD_CHARS.test(e));

  return {
    patterns: Object.freeze([...patterns]),
    excludes(relPath) {
      const file = cleanPath(relPath);
      // patternmatcher refuses to exclude the context root itself.
      if (file === '.') return false;
      const cut = file.lastIndexOf('/');
      const parent = cut < 0 ? '.' : cut === 0 ? '/' : file.slice(0, cut);
      const parts = parent.split('/');
      const ancestors = parent === '.' ? [] : parts.map((_, k) => parts.slice(0, k + 1).join('/'));
      let matched = false;
      for (const pattern of compiled) {
        // Only an exception can undo a match and only a plain pattern can make one.
        if (pattern.exclusion !== matched) continue;
        if (pattern.test(file) || ancestors.some((a) => pattern.test(a))) matched = !pattern.exclusion;
      }
      return matched;
    },
    mayReincludeUnder(dirRelPath) {
      if (exceptions.length === 0) return false;
      if (!onlyPrefixExceptions) return true;
      const dir = cleanPath(dirRelPath);
      if (dir === '.') return true;
      return exceptions.some((e) => (e + '/').startsWith(dir + '/'));
    },
  };
}

function compileWithLocation(raw: string, where: { path: string; line: number }): CompiledPattern | null {
  try {
    return compilePattern(raw);
  } catch (err) {
    if (err instanceof BadPattern) throw new DockerignoreError(where, raw, err.message);
    throw err;
  }
}

// ------------------------------------------------------------------------ I/O

/** Missing, or not a regular file: BuildKit treats a failed read as "no ignore file". */
function readIfPresent(file: string): string | null {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
    // Anything else (EACCES, EIO) fails the build: silently dropping an
    // ignore file would send excluded files, possibly secrets, into the image.
    throw err;
  }
}

/**
 * The only I/O: read the ignore file that applies. `<Dockerfile>.dockerignore`
 * next to the Dockerfile wins over `<context>/.dockerignore`, even when empty.
 * dockerfilePath is absolute or relative to cwd; '-' (stdin) has no
 * Dockerfile-specific file. Returns null when none exists. Every pattern is
 * compiled, so a bad one throws DockerignoreError naming the file and line.
 */
export function readDockerignore(contextDir: string, dockerfilePath: string): { path: string; patterns: string[] } | null {
  const candidates = [path.resolve(contextDir, '.dockerignore')];
  if (dockerfilePath !== '-') candidates.unshift(path.resolve(dockerfilePath) + '.dockerignore');
  for (const file of candidates) {
    const text = readIfPresent(file);
    if (text === null) continue;
    const lines = parseLines(text);
    for (const l of lines) compileWithLocation(l.pattern, { path: file, line: l.line });
    return { path: file, patterns: lines.map((l) => l.pattern) };
  }
  return null;
}
