// Low-level text handling of Dockerfile lines, following BuildKit's parser:
// parser directives, continuation joining, word splitting and flag
// extraction. Pure string functions; ast-adapter.ts drives them.
import type { Directives } from './instructions.js';

const DIRECTIVE_RE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);

export interface DirectiveProblem {
  line: number; // one-based
  message: string;
}

/** Parser directives: only at the very top, before any comment or instruction. */
export function scanDirectives(lines: readonly string[]): { directives: Directives; problem: DirectiveProblem | null } {
  const directives: Directives = { syntax: null, escape: '\\', check: { skip: [], error: false } };
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i] ?? '';
    if (i === 0) line = line.replace(/^\uFEFF/, '');
    const m = DIRECTIVE_RE.exec(line);
    if (!m) break;
    const name = (m[1] ?? '').toLowerCase();
    const value = m[2] ?? '';
    if (!KNOWN_DIRECTIVES.has(name)) break;
    if (seen.has(name)) {
      return { directives, problem: { line: i + 1, message: `only one ${name} parser directive can be used` } };
    }
    seen.add(name);
    if (name === 'escape') {
      if (value !== '`' && value !== '\\') {
        return { directives, problem: { line: i + 1, message: `invalid escape token '${value}' does not match \` or \\` } };
      }
      directives.escape = value;
    } else if (name === 'syntax') {
      directives.syntax = value;
    } else {
      const parsed = parseCheckDirective(value);
      if (typeof parsed === 'string') return { directives, problem: { line: i + 1, message: parsed } };
      directives.check = parsed;
    }
  }
  return { directives, problem: null };
}

function parseCheckDirective(value: string): Directives['check'] | string {
  const check: Directives['check'] = { skip: [], error: false };
  for (const part of value.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    if (eq < 0) return `invalid check directive "${trimmed}": expected key=value`;
    const key = trimmed.slice(0, eq).trim().toLowerCase();
    const val = trimmed.slice(eq + 1).trim();
    if (key === 'skip') {
      check.skip = val.toLowerCase() === 'all' ? 'all' : val.split(',').map((s) => s.trim()).filter(Boolean);
    } else if (key === 'error') {
      if (val !== 'true' && val !== 'false') return `invalid check directive: error must be true or false, got "${val}"`;
      check.error = val === 'true';
    } else {
      return `invalid check directive: unknown key "${key}"`;
    }
  }
  return check;
}

export function isCommentLine(line: string): boolean {
  return /^\s*#/.test(line);
}

function continuationRe(escape: string): RegExp {
  return escape === '`' ? /`[ \t]*$/ : /\\[ \t]*$/;
}

export interface JoinedLine {
  text: string;
  /** Number of raw lines consumed, starting at the first. */
  consumed: number;
  /** True when the last consumed line still ended in a continuation (hit EOF). */
  danglingContinuation: boolean;
}

/**
 * Join an instruction's physical lines the way BuildKit does: the escape
 * token at end of line continues it; comment lines and blank lines inside a
 * continuation are dropped; whitespace of continuation lines is kept.
 */
export function joinContinuation(lines: readonly string[], start: number, escape: string): JoinedLine {
  const re = continuationRe(escape);
  let first = (lines[start] ?? '').replace(/^\s+/, '');
  if (start === 0) first = first.replace(/^\uFEFF/, '');
  let consumed = 1;
  if (!re.test(first)) return { text: first, consumed, danglingContinuation: false };
  let text = first.replace(re, '');
  for (let i = start + 1; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    consumed++;
    if (isCommentLine(raw)) continue;
    if (raw.trim() === '') continue;
    if (re.test(raw)) {
      text += raw.replace(re, '');
      continue;
    }
    text += raw;
    return { text, consumed, danglingContinuation: false };
  }
  return { text, consumed, danglingContinuation: true };
}

const isSpace = (ch: string): boolean => /\s/.test(ch);

/**
 * BuildKit's parseWords: split on whitespace outside quotes, keeping quotes
 * and escapes in the words (the shell lexer removes them on expansion).
 */
export function splitWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  const chars = Array.from(rest);
  for (let pos = 0; pos <= chars.length; pos++) {
    const atEnd = pos === chars.length;
    let ch = atEnd ? '' : (chars[pos] as string);
    if (phase === 'spaces') {
      if (atEnd) break;
      if (isSpace(ch)) continue;
      phase = 'word';
    }
    if (atEnd) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isSpace(ch)) {
        phase = 'spaces';
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === chars.length) continue;
        word += ch;
        pos++;
        ch = chars[pos] as string;
      }
      word += ch;
      continue;
    }
    // inside quotes
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      pos++;
      word += ch;
      ch = chars[pos] as string;
    }
    word += ch;
  }
  return words;
}

export interface RawFlag {
  name: string;
  value: string | null;
  /** Offset of the `--` in the argument text. */
  offset: number;
  length: number;
}

/**
 * BuildKit's extractBuilderFlags: leading `--name[=value]` words, values may
 * be quoted. Returns the flags and the remaining argument text.
 */
export function extractFlags(args: string): { flags: RawFlag[]; rest: string; restOffset: number } {
  const flags: RawFlag[] = [];
  let pos = 0;
  for (;;) {
    while (pos < args.length && /[ \t]/.test(args[pos] as string)) pos++;
    if (!args.startsWith('--', pos)) break;
    const start = pos;
    let word = '';
    let quote = '';
    while (pos < args.length) {
      const ch = args[pos] as string;
      if (quote) {
        if (ch === quote) quote = '';
        else word += ch;
      } else if (ch === '"' || ch === "'") {
        quote = ch;
      } else if (/\s/.test(ch)) {
        break;
      } else {
        word += ch;
      }
      pos++;
    }
    if (word === '--') {
      // `--` ends the flags.
      while (pos < args.length && /[ \t]/.test(args[pos] as string)) pos++;
      break;
    }
    const body = word.slice(2);
    const eq = body.indexOf('=');
    flags.push({
      name: eq < 0 ? body : body.slice(0, eq),
      value: eq < 0 ? null : body.slice(eq + 1),
      offset: start,
      length: pos - start,
    });
  }
  while (pos < args.length && /[ \t]/.test(args[pos] as string)) pos++;
  return { flags, rest: args.slice(pos), restOffset: pos };
}

/** JSON array of strings, or null when the text is not a JSON array at all. */
export function parseJsonArray(text: string): { ok: true; values: string[] } | { ok: false; notStrings: boolean } {
  const trimmed = text.trim();
  if (!trimmed.startsWith('[')) return { ok: false, notStrings: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return { ok: false, notStrings: false };
  }
  if (!Array.isArray(parsed) || !parsed.every((v): v is string => typeof v === 'string')) {
    return { ok: false, notStrings: true };
  }
  return { ok: true, values: parsed };
}

/** Heredoc markers on an instruction's command line (BuildKit heredocsFromLine). */
export interface HeredocMarker {
  name: string;
  expand: boolean;
  chomp: boolean;
}

const HEREDOC_RE = /^(\d*)<<(-?)([^<]*)$/;

export function findHeredocMarkers(line: string, escape: string): HeredocMarker[] {
  const markers: HeredocMarker[] = [];
  for (const word of splitWords(line, escape)) {
    const m = HEREDOC_RE.exec(word);
    if (!m) continue;
    const rest = m[3] ?? '';
    if (rest === '') continue;
    const unquoted = unquoteWord(rest, escape);
    if (unquoted === null || unquoted === '') continue;
    const quoted = /['"]/.test(rest);
    markers.push({ name: unquoted, expand: !quoted, chomp: m[2] === '-' });
  }
  return markers;
}

/** Remove quotes/escapes from a single word; null if it is more than one word. */
function unquoteWord(word: string, escape: string): string | null {
  let out = '';
  let quote = '';
  for (let i = 0; i < word.length; i++) {
    const ch = word[i] as string;
    if (quote) {
      if (ch === quote) quote = '';
      else if (ch === escape && quote === '"' && i + 1 < word.length) out += word[++i];
      else out += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === escape && i + 1 < word.length) {
      out += word[++i];
    } else if (/\s/.test(ch)) {
      return null;
    } else {
      out += ch;
    }
  }
  return quote ? null : out;
}
