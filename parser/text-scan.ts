// The line layer of the Dockerfile syntax, following BuildKit's
// frontend/dockerfile/parser (Parse, splitCommand, extractBuilderFlags,
// parseWords) rule for rule: parser directives, the continuation regex,
// comment and blank lines inside continuations, flag extraction, word
// splitting and reading heredoc bodies (the markers are found by
// heredoc.ts). Pure string functions; ast-adapter.ts types the nodes.
import type { Directives } from './instructions.js';

/** Go's unicode.IsSpace (BuildKit trims with it), not JS \s (which has U+FEFF, lacks U+0085). */
const GO_SPACE = '\\t\\n\\v\\f\\r \\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000';
const LEADING_SPACE = new RegExp(`^[${GO_SPACE}]+`);
const TRAILING_SPACE = new RegExp(`[${GO_SPACE}]+$`);
const SPACE_CHARS = new Set(['\t', '\n', '\v', '\f', '\r', ' ', '\u0085', '\u00A0', '\u1680', '\u2028', '\u2029', '\u202F', '\u205F', '\u3000']);
for (let c = 0x2000; c <= 0x200a; c++) SPACE_CHARS.add(String.fromCharCode(c));
/** BuildKit's reWhitespace, used to split the keyword off and for whitespace-delimited lists. */
export const WHITESPACE_RE = /[\t\v\f\r ]+/;

export function isGoSpace(ch: string): boolean {
  return SPACE_CHARS.has(ch);
}
export function trimGoSpace(s: string): string {
  return s.replace(LEADING_SPACE, '').replace(TRAILING_SPACE, '');
}

// --- lines and directives --------------------------------------------------

/**
 * Physical lines as BuildKit's scanner sees them: split on "\n" only, with
 * trailing "\r"s removed (a lone "\r" inside a line is part of the line), and
 * a byte-order mark dropped from the first line.
 */
export function splitLines(text: string): string[] {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    if (l.endsWith('\r')) lines[i] = l.replace(/\r+$/, '');
  }
  if (lines[0]?.startsWith('\uFEFF')) lines[0] = lines[0].slice(1);
  // "a\n" is one line for a line scanner, not two.
  if (lines.length > 1 && lines[lines.length - 1] === '' && text.endsWith('\n')) lines.pop();
  return lines;
}

export interface DirectiveProblem {
  line: number; // one-based
  message: string;
}

const DIRECTIVE_RE = /^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);

/**
 * Parser directives (BuildKit DirectiveParser): consecutive `# key=value`
 * lines at the very top; the first line that is not one ends the search, so
 * a directive after a blank line, a comment or an instruction is a comment.
 */
export function scanDirectives(lines: readonly string[]): { directives: Directives; problem: DirectiveProblem | null } {
  const directives: Directives = { syntax: null, escape: '\\', check: { skip: [], error: false } };
  const seen = new Set<string>();
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').replace(LEADING_SPACE, '');
    if (!line.startsWith('#')) break;
    const m = DIRECTIVE_RE.exec(line.slice(1).replace(LEADING_SPACE, ''));
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
      if (typeof parsed === 'string') return { directives, problem: { line: i + 1, message: `failed to parse check options: ${parsed}` } };
      directives.check = parsed;
    }
  }
  return { directives, problem: null };
}

/** BuildKit linter.ParseLintOptions: `skip=A,B;error=true` (keys case-sensitive). */
function parseCheckDirective(value: string): Directives['check'] | string {
  const check: Directives['check'] = { skip: [], error: false };
  const text = value.trim();
  if (text === '') return check;
  const parts = text.split(';');
  // Go's SplitN(s, ";", 3): the third part keeps any further semicolons.
  if (parts.length > 3) parts.splice(2, parts.length - 2, parts.slice(2).join(';'));
  for (const part of parts) {
    const eq = part.indexOf('=');
    if (eq < 0) return `invalid check option "${part}"`;
    const key = part.slice(0, eq).trim();
    const val = part.slice(eq + 1).trim();
    if (key === 'skip') {
      check.skip = val === 'all' ? 'all' : val.split(',').map((s) => s.trim());
    } else if (key === 'experimental') {
      // Experimental rules are opt-in in BuildKit; none are implemented here.
    } else if (key === 'error') {
      const b = parseGoBool(val);
      if (b === null) return `failed to parse check option "${part}": invalid syntax`;
      check.error = b;
    } else {
      return `invalid check option "${key}"`;
    }
  }
  return check;
}

/** Go's strconv.ParseBool. */
export function parseGoBool(value: string): boolean | null {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
  return null;
}

/** Length of the leading Go whitespace of `s`. */
function leadingSpace(s: string): number {
  let i = 0;
  while (i < s.length && SPACE_CHARS.has(s[i] as string)) i++;
  return i;
}

export function isCommentLine(line: string): boolean {
  return line.charCodeAt(leadingSpace(line)) === 0x23; // '#'
}

// --- instruction nodes -------------------------------------------------------

/** Where a character of the joined line came from. */
interface Segment {
  offset: number; // in the joined line
  line: number; // zero-based physical line
  column: number; // zero-based column of that character in the physical line
}

export interface RawHeredoc {
  name: string;
  /** Body as written: every line with its "\n", leading tabs kept even for `<<-`. */
  content: string;
  expand: boolean;
  chomp: boolean;
}

/** One instruction as BuildKit's line parser produces it, before typing. */
export interface RawNode {
  /** The joined logical line (BuildKit `Original`): continuations removed. */
  line: string;
  /** Zero-based first and last physical line, heredoc bodies included. */
  startLine: number;
  endLine: number;
  /** Last line of the command itself (before heredoc bodies). */
  commandEndLine: number;
  /** A whitespace-only line sat inside the continuation (BuildKit warns). */
  emptyContinuation: boolean;
  segments: Segment[];
  heredocs: RawHeredoc[];
}

function continuationRe(escape: string): RegExp {
  // BuildKit: `([^\\])\\[ \t]*$|^\\[ \t]*$`, so an escaped escape token at the
  // end of a line ("foo\\\\") is not a continuation.
  const e = escape === '`' ? '`' : '\\\\';
  return new RegExp(`([^${e}])${e}[ \\t]*$|^${e}[ \\t]*$`);
}

function trimContinuation(line: string, re: RegExp): { text: string; end: boolean } {
  if (!re.test(line)) return { text: line, end: true };
  return { text: line.replace(re, '$1'), end: false };
}

export interface ScanHooks {
  /** Heredoc markers of the joined line, or none if the instruction cannot take heredocs. */
  heredocsOf(line: string, startLine: number): Omit<RawHeredoc, 'content'>[];
  /** Called with the node's position when a heredoc has no terminator. */
  unterminated(node: { startLine: number; endLine: number; name: string }): never;
}

/** BuildKit's Parse loop over physical lines. */
export function scanNodes(lines: readonly string[], escape: string, hooks: ScanHooks): RawNode[] {
  const re = continuationRe(escape);
  const nodes: RawNode[] = [];
  let i = 0;
  while (i < lines.length) {
    const raw = lines[i] as string;
    const startLine = i;
    i++;
    const trimmed = raw.slice(leadingSpace(raw));
    const first = trimmed.startsWith('#') ? '' : trimmed;
    const head = trimContinuation(first, re);
    if (head.end && head.text === '') continue;
    const segments: Segment[] = [{ offset: 0, line: startLine, column: raw.length - trimmed.length }];
    let line = head.text;
    let end = head.end;
    let emptyContinuation = false;
    let last = startLine;
    while (!end && i < lines.length) {
      const next = lines[i] as string;
      const index = i;
      i++;
      last = index;
      if (isCommentLine(next)) continue;
      if (leadingSpace(next) === next.length) {
        emptyContinuation = true;
        continue;
      }
      const piece = trimContinuation(next, re);
      segments.push({ offset: line.length, line: index, column: 0 });
      line += piece.text;
      end = piece.end;
    }
    const node: RawNode = {
      line,
      startLine,
      endLine: last,
      commandEndLine: last,
      emptyContinuation,
      segments,
      heredocs: [],
    };
    if (line.includes('<<')) {
      for (const marker of hooks.heredocsOf(line, startLine)) {
        let content = '';
        let terminated = false;
        while (i < lines.length) {
          const body = lines[i] as string;
          i++;
          const candidate = marker.chomp ? body.replace(/^\t+/, '') : body;
          if (candidate === marker.name) {
            terminated = true;
            break;
          }
          content += body + '\n';
        }
        node.endLine = i - 1;
        if (!terminated) hooks.unterminated({ startLine, endLine: Math.max(i - 1, startLine), name: marker.name });
        node.heredocs.push({ ...marker, content });
      }
    }
    nodes.push(node);
  }
  return nodes;
}

/** The physical position (zero-based line and column) of an offset in a node's joined line. */
export function positionOf(node: RawNode, offset: number): { line: number; column: number } {
  let seg = node.segments[0] as Segment;
  for (const s of node.segments) {
    if (s.offset <= offset) seg = s;
    else break;
  }
  return { line: seg.line, column: seg.column + (offset - seg.offset) };
}

// --- splitting a line ------------------------------------------------------------

export interface RawFlag {
  name: string;
  /** null for `--flag` without `=`. */
  value: string | null;
  /** Offset of the `--` in the text given to splitCommand, and its length. */
  offset: number;
  length: number;
}

export interface SplitCommand {
  keyword: string;
  flags: RawFlag[];
  /** Arguments after the flags, trimmed. */
  args: string;
  /** Offset of the keyword and of `args` in the text given. */
  keywordOffset: number;
  argsOffset: number;
}

/** BuildKit splitCommand: keyword, builder flags, arguments. */
export function splitCommand(text: string): SplitCommand {
  const lead = (LEADING_SPACE.exec(text)?.[0] ?? '').length;
  const body = trimGoSpace(text);
  const ws = WHITESPACE_RE.exec(body);
  const keyword = ws ? body.slice(0, ws.index) : body;
  if (!ws) return { keyword, flags: [], args: '', keywordOffset: lead, argsOffset: lead + body.length };
  const restOffset = lead + ws.index + ws[0].length;
  const rest = body.slice(ws.index + ws[0].length);
  const extracted = extractFlags(rest);
  const argsText = extracted.rest;
  const argsLead = (LEADING_SPACE.exec(argsText)?.[0] ?? '').length;
  return {
    keyword,
    flags: extracted.flags.map((f) => ({ ...f, offset: f.offset + restOffset })),
    args: trimGoSpace(argsText),
    keywordOffset: lead,
    argsOffset: restOffset + extracted.restOffset + argsLead,
  };
}

/**
 * BuildKit extractBuilderFlags: leading words starting with `--`, quotes
 * removed and `\` escaping the next character (always backslash, whatever
 * the escape directive says); a lone `--` ends the flags.
 */
export function extractFlags(line: string): { flags: RawFlag[]; rest: string; restOffset: number } {
  // Most instructions have no flags: skip the character walk.
  const lead = (LEADING_SPACE.exec(line)?.[0] ?? '').length;
  if (!line.startsWith('--', lead)) return { flags: [], rest: line.slice(lead), restOffset: lead };
  const chars = Array.from(line);
  // Offsets are reported in UTF-16 units of `line`.
  const unitOffset: number[] = [];
  let acc = 0;
  for (const c of chars) {
    unitOffset.push(acc);
    acc += c.length;
  }
  unitOffset.push(acc);
  const flags: RawFlag[] = [];
  const push = (word: string, start: number, end: number): void => {
    const body = word.slice(2);
    const eq = body.indexOf('=');
    flags.push({
      name: eq < 0 ? body : body.slice(0, eq),
      value: eq < 0 ? null : body.slice(eq + 1),
      offset: unitOffset[start] as number,
      length: (unitOffset[end] as number) - (unitOffset[start] as number),
    });
  };
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  let wordStart = 0;
  for (let pos = 0; pos <= chars.length; pos++) {
    const atEnd = pos === chars.length;
    let ch = atEnd ? '' : (chars[pos] as string);
    if (phase === 'spaces') {
      if (atEnd) break;
      if (isGoSpace(ch)) continue;
      if (ch !== '-' || chars[pos + 1] !== '-') return { flags, rest: line.slice(unitOffset[pos]), restOffset: unitOffset[pos] as number };
      phase = 'word';
      wordStart = pos;
    }
    if (atEnd) {
      if (word !== '--' && (blankOK || word.length > 0)) push(word, wordStart, pos);
      break;
    }
    if (phase === 'word') {
      if (isGoSpace(ch)) {
        phase = 'spaces';
        if (word === '--') return { flags, rest: line.slice(unitOffset[pos]), restOffset: unitOffset[pos] as number };
        if (blankOK || word.length > 0) push(word, wordStart, pos);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === chars.length) continue;
        pos++;
        ch = chars[pos] as string;
      }
      word += ch;
      continue;
    }
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === '\\') {
      if (pos + 1 === chars.length) {
        phase = 'word';
        continue;
      }
      pos++;
      ch = chars[pos] as string;
    }
    word += ch;
  }
  return { flags, rest: '', restOffset: line.length };
}

/**
 * BuildKit's parseWords (ARG, ENV, LABEL): split on whitespace outside
 * quotes, keeping quotes and escapes in the words (expansion removes them).
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
      if (isGoSpace(ch)) continue;
      phase = 'word';
    }
    if (atEnd) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (isGoSpace(ch)) {
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

/** A JSON array of strings, or why not (BuildKit parseJSON). */
export function parseJsonArray(text: string): { ok: true; values: string[] } | { ok: false; notStrings: boolean } {
  const trimmed = text.replace(LEADING_SPACE, '');
  if (!trimmed.startsWith('[')) return { ok: false, notStrings: false };
  let parsed: unknown;
  try {
    parsed = JSON.parse(trimmed);
  } catch {
    return { ok: false, notStrings: false };
  }
  if (!Array.isArray(parsed)) return { ok: false, notStrings: false };
  if (!parsed.every((v): v is string => typeof v === 'string')) return { ok: false, notStrings: true };
  return { ok: true, values: parsed };
}
