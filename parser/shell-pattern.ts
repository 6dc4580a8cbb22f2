// Glob patterns of ${v#p}, ${v%p} and ${v/p/r}, matched like BuildKit's
// lex.go does it (no bracket expressions; `*`/`?` never match a newline),
// with a matcher whose cost cannot explode on hostile patterns.

const REPLACEMENT_CHAR = '\uFFFD';
/** reversePattern in lex.go: reverse code points, keeping `\x` pairs in order. */
export function reversePattern(pattern: string): string {
  const chars = Array.from(pattern);
  const units: string[] = [];
  for (let i = 0; i < chars.length; ) {
    const ch = chars[i] ?? '';
    const next = chars[i + 1];
    if (ch === '\\' && next !== undefined) {
      units.push(ch + next);
      i += 2;
    } else {
      units.push(ch);
      i += 1;
    }
  }
  return units.reverse().join('');
}

export class GlobSyntaxError extends Error {}

type GlobToken = { kind: 'literal'; ch: string } | { kind: 'any' } | { kind: 'star' };

/**
 * BuildKit's pattern language, matched with the same leftmost-first
 * preference as the Go regexp it compiles to: `*` (shortest or longest per
 * `greedy`), `?`, and `\*` `\?` `\\` escapes. `[` is literal, and `*`/`?`
 * never match a newline (Go's `.`). `\}` and `\/` drop the backslash because
 * that escape only served to get past the `${…}` parser. Matching is done
 * here, not with RegExp, so a hostile pattern cannot backtrack exponentially.
 */
export class Glob {
  private readonly tokens: GlobToken[] = [];

  constructor(
    pattern: string,
    private readonly greedy: boolean,
  ) {
    const chars = Array.from(pattern);
    // Parsed with its own text/scanner in lex.go, so a leading BOM vanishes.
    let i = chars[0] === '\uFEFF' ? 1 : 0;
    for (; i < chars.length; i++) {
      const ch = chars[i] ?? '';
      if (ch === '*') this.tokens.push({ kind: 'star' });
      else if (ch === '?') this.tokens.push({ kind: 'any' });
      else if (ch === '\\') {
        const next = chars[i + 1];
        if (next === '}' || next === '/') continue;
        i++;
        if (next !== '*' && next !== '?' && next !== '\\') {
          throw new GlobSyntaxError(`invalid escape '\\${next ?? REPLACEMENT_CHAR}'`);
        }
        this.tokens.push({ kind: 'literal', ch: next });
      } else this.tokens.push({ kind: 'literal', ch });
    }
  }

  /** End index of the preferred match starting exactly at `start`, or -1. */
  matchAt(text: readonly string[], start: number): number {
    return this.matcher(text)(0, start);
  }

  /** Leftmost match at or after `from`, as Go's FindStringIndex would pick it. */
  find(text: readonly string[], from: number, matcher = this.matcher(text)): { start: number; end: number } | null {
    for (let start = from; start <= text.length; start++) {
      const end = matcher(0, start);
      if (end >= 0) return { start, end };
    }
    return null;
  }

  /**
   * A memoised backtracking matcher: the preferred end for (token, position)
   * does not depend on where the match began, so results are shared across
   * start positions and the work stays polynomial. A Map, not a table, since
   * only a sliver of (token, position) pairs is visited for a long value.
   */
  matcher(text: readonly string[]): (ti: number, si: number) => number {
    const { tokens, greedy } = this;
    const width = text.length + 1;
    const memo = new Map<number, number>();
    const match = (ti: number, si: number): number => {
      const token = tokens[ti];
      if (token === undefined) return si;
      const key = ti * width + si;
      const known = memo.get(key);
      if (known !== undefined) return known;
      let result = -1;
      if (token.kind === 'literal') {
        if (text[si] === token.ch) result = match(ti + 1, si + 1);
      } else if (token.kind === 'any') {
        if (si < text.length && text[si] !== '\n') result = match(ti + 1, si + 1);
      } else {
        let max = si;
        while (max < text.length && text[max] !== '\n') max++;
        if (greedy) {
          for (let k = max; k >= si && result < 0; k--) result = match(ti + 1, k);
        } else {
          for (let k = si; k <= max && result < 0; k++) result = match(ti + 1, k);
        }
      }
      memo.set(key, result);
      return result;
    };
    return match;
  }
}

/** `${v/p/r}`: BuildKit splices the replacement in literally. */
export function replaceFirst(glob: Glob, text: string[], replacement: string): string {
  const m = glob.find(text, 0);
  if (m === null) return text.join('');
  return text.slice(0, m.start).join('') + replacement + text.slice(m.end).join('');
}

/**
 * `${v//p/r}`: Go's Regexp.ReplaceAllString, including its handling of empty
 * matches (no replacement right after a previous match) and its `$` template
 * syntax in the replacement.
 */
export function replaceAll(glob: Glob, text: string[], replacement: string): string {
  const matcher = glob.matcher(text);
  let out = '';
  let lastEnd = 0;
  let searchPos = 0;
  while (searchPos <= text.length) {
    const m = glob.find(text, searchPos, matcher);
    if (m === null) break;
    out += text.slice(lastEnd, m.start).join('');
    if (m.end > lastEnd || m.start === 0) out += expandTemplate(replacement, text.slice(m.start, m.end).join(''));
    lastEnd = m.end;
    searchPos = m.end > searchPos ? m.end : searchPos + 1;
  }
  return out + text.slice(lastEnd).join('');
}

/**
 * Go's regexp template expansion for a pattern with no capture groups: `$$`
 * is `$`, `$0`/`${0}` is the match, any other `$name`/`${name}` is empty, and
 * a malformed reference leaves the `$` as text.
 */
export function expandTemplate(template: string, match: string): string {
  let out = '';
  let rest = template;
  for (let dollar = rest.indexOf('$'); dollar >= 0; dollar = rest.indexOf('$')) {
    out += rest.slice(0, dollar);
    rest = rest.slice(dollar + 1);
    if (rest.startsWith('$')) {
      out += '$';
      rest = rest.slice(1);
      continue;
    }
    const ref = /^(?:\{([\p{L}\p{Nd}_]+)\}|([\p{L}\p{Nd}_]+))/u.exec(rest);
    const name = ref?.[1] ?? ref?.[2];
    if (ref === null || name === undefined) {
      out += '$';
      continue;
    }
    rest = rest.slice(ref[0].length);
    if (name === '0') out += match;
  }
  return out + rest;
}
