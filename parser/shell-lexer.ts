// Dockerfile word expansion: quotes, the escape token, $VAR and ${VAR...}.
//
// This reproduces BuildKit's frontend/dockerfile/shell/lex.go (the `Lex`
// type) character for character, including its quirks, because a Dockerfile
// that builds with `docker build` must expand to the same strings here. Where
// lex.go deviates from POSIX sh (no bracket expressions in patterns, `.` not
// matching a newline, `$0` in a `//` replacement meaning the match, …) we
// follow lex.go, not the shell. Pure: no I/O, no globals.
import { TsbuildError } from './errors.js';
import { Glob, GlobSyntaxError, replaceAll, replaceFirst, reversePattern } from './shell-pattern.js';

export type EscapeToken = '\\' | '`';

/** Variables visible to the word. A Map<string, string> satisfies it. */
export interface LexEnv {
  get(name: string): string | undefined;
}

export interface LexOptions {
  /** Keep the quote characters in the output (BuildKit `RawQuotes`). */
  rawQuotes?: boolean;
  /** Keep escape tokens in the output (BuildKit `RawEscapes`). */
  rawEscapes?: boolean;
  /** Leave references to unset variables as written (BuildKit `SkipUnsetEnv`). */
  skipUnsetEnv?: boolean;
  /** Treat quotes as ordinary characters (BuildKit `SkipProcessQuotes`). */
  skipProcessQuotes?: boolean;
}

export interface LexResult {
  /** The expanded word, quotes removed, not split. */
  result: string;
  /** The expanded word split on unquoted, unescaped whitespace. */
  words: string[];
  /** Variable names referenced that were set in the env. */
  matched: Set<string>;
  /** Variable names referenced that were not set (for an undefined-variable lint). */
  unmatched: Set<string>;
}

/**
 * The word cannot be expanded. `message` is BuildKit's inner message
 * ("v: is not allowed to be unset", "syntax error: missing '}'", …);
 * BuildKit itself prints it as `failed to process "<word>": <message>`.
 */
export class ShellLexError extends TsbuildError {
  declare readonly code: 'TSB_DOCKERFILE_EXPANSION';
  /** The whole word that was being expanded. */
  readonly word: string;
  constructor(message: string, word: string) {
    super('TSB_DOCKERFILE_EXPANSION', message);
    this.word = word;
  }
}

export class ShellLexer {
  private readonly escapeToken: EscapeToken;
  private readonly options: Readonly<LexOptions>;

  constructor(escapeToken: EscapeToken = '\\', options: LexOptions = {}) {
    this.escapeToken = escapeToken;
    this.options = { ...options };
  }

  /** Quotes removed and variables expanded; `result` is the single string. */
  processWord(word: string, env: LexEnv): LexResult {
    return new Expansion(word, env, this.escapeToken, this.options).run();
  }

  /** Same expansion; read `words`, split on unquoted whitespace after expansion. */
  processWords(word: string, env: LexEnv): LexResult {
    return new Expansion(word, env, this.escapeToken, this.options).run();
  }
}

// Go's `string(rune)` of the scanner's EOF (-1) is U+FFFD, which is what
// BuildKit puts into "unsupported modifier" messages for a truncated `${x`.
const REPLACEMENT_CHAR = '\uFFFD';

/** Reads code points like Go's text/scanner: Next/Peek, EOF as undefined. */
class Cursor {
  private readonly chars: string[];
  private pos = 0;
  constructor(text: string) {
    this.chars = Array.from(text);
    // text/scanner silently drops a byte-order mark at the very start.
    if (this.chars[0] === '\uFEFF') this.pos = 1;
  }
  peek(): string | undefined {
    return this.chars[this.pos];
  }
  next(): string | undefined {
    const ch = this.chars[this.pos];
    if (ch !== undefined) this.pos++;
    return ch;
  }
}

/**
 * Splits the expansion into words as BuildKit's `wordsStruct` does: text from
 * variables and plain characters splits on whitespace; quoted text and escaped
 * characters never split. An empty quoted string (`""`) yields no word.
 */
class WordSplitter {
  private readonly words: string[] = [];
  private current = '';
  private inWord = false;

  addChar(ch: string): void {
    if (isSpace(ch)) {
      if (this.inWord && this.current.length > 0) {
        this.words.push(this.current);
        this.current = '';
        this.inWord = false;
      }
      return;
    }
    this.addRaw(ch);
  }
  addExpanded(text: string): void {
    for (const ch of text) this.addChar(ch);
  }
  addRaw(text: string): void {
    this.current += text;
    this.inWord = true;
  }
  finish(): string[] {
    if (this.current.length > 0) {
      this.words.push(this.current);
      this.current = '';
      this.inWord = false;
    }
    return this.words;
  }
}

interface Processed {
  text: string;
  words: string[];
}

/** One expansion of one word; owns the cursor and the matched/unmatched sets. */
class Expansion {
  private readonly cursor: Cursor;
  private readonly matched = new Set<string>();
  private readonly unmatched = new Set<string>();

  constructor(
    private readonly source: string,
    private readonly env: LexEnv,
    private readonly escape: EscapeToken,
    private readonly options: Readonly<LexOptions>,
  ) {
    this.cursor = new Cursor(source);
  }

  run(): LexResult {
    const { text, words } = this.processUntil(undefined, this.options.rawEscapes === true);
    return { result: text, words, matched: this.matched, unmatched: this.unmatched };
  }

  private fail(message: string): ShellLexError {
    return new ShellLexError(message, this.source);
  }

  /**
   * lex.go `processStopOn`: consume up to (and including) `stop`, or to the
   * end when `stop` is undefined. `rawEscapes` keeps escape tokens in the text;
   * BuildKit turns it on for patterns so `\*` still means a literal star there.
   */
  private processUntil(stop: string | undefined, rawEscapes: boolean): Processed {
    const c = this.cursor;
    const words = new WordSplitter();
    let text = '';
    const quotes = this.options.skipProcessQuotes !== true;
    for (let ch = c.peek(); ch !== undefined; ch = c.peek()) {
      if (stop !== undefined && ch === stop) {
        c.next();
        return { text, words: words.finish() };
      }
      if (ch === '$') {
        const value = this.dollar();
        text += value;
        words.addExpanded(value);
        continue;
      }
      if (quotes && (ch === "'" || ch === '"')) {
        const value = ch === "'" ? this.singleQuote() : this.doubleQuote(rawEscapes);
        text += value;
        words.addRaw(value);
        continue;
      }
      let cur = c.next() ?? '';
      if (cur === this.escape) {
        if (rawEscapes) {
          words.addRaw(cur);
          text += cur;
        }
        const escaped = c.next();
        // An escape token as the last character is dropped, not an error.
        if (escaped === undefined) break;
        cur = escaped;
        words.addRaw(cur);
      } else {
        words.addChar(cur);
      }
      text += cur;
    }
    if (stop !== undefined) {
      throw this.fail(`unexpected end of statement while looking for matching ${stop}`);
    }
    return { text, words: words.finish() };
  }

  /** processUntil inside `${…}`: running out of input reports `missing`. */
  private processNested(stop: string, rawEscapes: boolean, missing: string): string {
    try {
      return this.processUntil(stop, rawEscapes).text;
    } catch (err) {
      if (this.cursor.peek() === undefined) throw this.fail(missing);
      throw err;
    }
  }

  /** Everything up to the next `'` is literal; there is no escape inside. */
  private singleQuote(): string {
    const c = this.cursor;
    const raw = this.options.rawQuotes === true;
    const open = c.next() ?? '';
    let out = raw ? open : '';
    for (;;) {
      const ch = c.next();
      if (ch === undefined) {
        throw this.fail('unexpected end of statement while looking for matching single-quote');
      }
      if (ch === "'") return raw ? out + ch : out;
      out += ch;
    }
  }

  /**
   * `$` expands inside double quotes; the escape token only escapes `"`, `$`
   * and itself, otherwise it stays literal (so `"a\tb"` keeps the backslash).
   */
  private doubleQuote(rawEscapes: boolean): string {
    const c = this.cursor;
    const raw = this.options.rawQuotes === true;
    const open = c.next() ?? '';
    let out = raw ? open : '';
    for (;;) {
      const ch = c.peek();
      if (ch === undefined) {
        throw this.fail('unexpected end of statement while looking for matching double-quote');
      }
      if (ch === '"') {
        c.next();
        return raw ? out + ch : out;
      }
      if (ch === '$') {
        out += this.dollar();
        continue;
      }
      let cur = c.next() ?? '';
      if (cur === this.escape) {
        // With rawEscapes a non-escaping escape token is written twice (as
        // lex.go does), so inside a pattern it reads as an escaped backslash.
        if (rawEscapes) out += cur;
        const after = c.peek();
        if (after === undefined) continue;
        if (after === '"' || after === '$' || after === this.escape) cur = c.next() ?? '';
      }
      out += cur;
    }
  }

  /** lex.go `processDollar`; the cursor is on the `$`. */
  private dollar(): string {
    const c = this.cursor;
    c.next();
    if (c.peek() !== '{') {
      const name = this.readName();
      // `$` before a non-name character (`$.`, `$ `, end) stays literal.
      if (name === '') return '$';
      const value = this.lookup(name);
      if (value === undefined && this.options.skipUnsetEnv === true) return `$${name}`;
      return value ?? '';
    }
    c.next();
    const first = c.peek();
    if (first === undefined) throw this.fail("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw this.fail('syntax error: bad substitution');
    const name = this.readName();
    const op = c.next();
    switch (op) {
      case '}': {
        const value = this.lookup(name);
        if (value === undefined && this.options.skipUnsetEnv === true) return `\${${name}}`;
        return value ?? '';
      }
      case ':': {
        // Go's `fallthrough`: whatever follows the colon is taken as the
        // operator, and an unknown one is rejected only after its word parsed.
        const second = c.next();
        return this.modifier(name, second, `:${second ?? REPLACEMENT_CHAR}`, true);
      }
      case '+':
      case '-':
      case '?':
      case '#':
      case '%':
        return this.modifier(name, op, op, false);
      case '/':
        return this.substitute(name);
      default:
        throw this.unsupported(op ?? REPLACEMENT_CHAR);
    }
  }

  private unsupported(modifier: string): ShellLexError {
    return this.fail(`unsupported modifier (${modifier}) in substitution`);
  }

  /** `${name<op>word}` for - + ? # % and their `:` forms. */
  private modifier(name: string, op: string | undefined, spelled: string, nullIsUnset: boolean): string {
    const trims = op === '#' || op === '%';
    if (nullIsUnset && trims) throw this.unsupported(spelled);
    let word = this.processNested('}', trims, "syntax error: missing '}'");
    const value = this.lookup(name);
    if (value === undefined && this.options.skipUnsetEnv === true) return `\${${name}${spelled}${word}}`;
    const unset = value === undefined || (nullIsUnset && value === '');
    switch (op) {
      case '-':
        return unset ? word : (value ?? '');
      case '+':
        return unset ? '' : word;
      case '?':
        if (value === undefined) throw this.fail(`${name}: ${word || 'is not allowed to be unset'}`);
        if (nullIsUnset && value === '') throw this.fail(`${name}: ${word || 'is not allowed to be empty'}`);
        return value;
      case '#':
      case '%': {
        // A doubled operator (## / %%) is detected after expansion, as BuildKit does.
        const greedy = word.startsWith(op);
        if (greedy) word = word.slice(1);
        return op === '#' ? this.trimPrefix(word, value ?? '', greedy) : this.trimSuffix(word, value ?? '', greedy);
      }
      default:
        throw this.unsupported(spelled);
    }
  }

  /** `${name/pattern/replacement}` and `${name//pattern/replacement}`. */
  private substitute(name: string): string {
    const c = this.cursor;
    const all = c.peek() === '/';
    if (all) c.next();
    const pattern = this.processNested('/', true, "syntax error: missing '/' in ${}");
    const replacement = this.processNested('}', true, "syntax error: missing '}'");
    const value = this.lookup(name);
    // BuildKit prints a single `/` here even for `//`; kept for parity.
    if (value === undefined && this.options.skipUnsetEnv === true) return `\${${name}/${pattern}/${replacement}}`;
    const glob = this.compile(pattern, true);
    const text = Array.from(value ?? '');
    return all ? replaceAll(glob, text, replacement) : replaceFirst(glob, text, replacement);
  }

  private compile(pattern: string, greedy: boolean): Glob {
    try {
      return new Glob(pattern, greedy);
    } catch (err) {
      if (!(err instanceof GlobSyntaxError)) throw err;
      throw this.fail(`invalid pattern (${pattern}) in substitution: ${err.message}`);
    }
  }

  private trimPrefix(pattern: string, value: string, greedy: boolean): string {
    const text = Array.from(value);
    const end = this.compile(pattern, greedy).matchAt(text, 0);
    return end < 0 ? value : text.slice(end).join('');
  }

  /**
   * Shortest/longest suffix: like BuildKit, reverse both the pattern (keeping
   * `\x` pairs intact) and the value, then trim a prefix.
   */
  private trimSuffix(pattern: string, value: string, greedy: boolean): string {
    const reversed = reversePattern(pattern);
    const text = Array.from(value).reverse();
    const end = this.compile(reversed, greedy).matchAt(text, 0);
    return (end < 0 ? text : text.slice(end)).reverse().join('');
  }

  /** lex.go `processName`: digits, one special parameter, or a name. */
  private readName(): string {
    const c = this.cursor;
    let name = '';
    for (let ch = c.peek(); ch !== undefined; ch = c.peek()) {
      if (name === '' && isDigit(ch)) {
        // Positional parameters are all digits ($12 is "12", not $1 then 2).
        for (let d = c.peek(); d !== undefined && isDigit(d); d = c.peek()) name += c.next() ?? '';
        return name;
      }
      if (name === '' && SPECIAL_PARAMS.has(ch)) {
        c.next();
        return ch;
      }
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += c.next() ?? '';
    }
    return name;
  }

  private lookup(name: string): string | undefined {
    const value = this.env.get(name);
    (value === undefined ? this.unmatched : this.matched).add(name);
    return value;
  }
}

// POSIX special parameters. They are looked up in the env like any name and
// are normally unset, so they expand to "" (and show up in `unmatched`).
const SPECIAL_PARAMS = new Set(['@', '*', '#', '?', '-', '$', '!', '0']);

// Go's unicode.IsLetter / IsDigit / IsSpace, which lex.go uses.
const LETTER = /^\p{L}$/u;
const DIGIT = /^\p{Nd}$/u;
const SPACE = /^[\t\n\v\f\r \u0085\u00A0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000]$/u;

function isLetter(ch: string): boolean {
  return LETTER.test(ch);
}
function isDigit(ch: string): boolean {
  return DIGIT.test(ch);
}
function isSpace(ch: string): boolean {
  return SPACE.test(ch);
}
