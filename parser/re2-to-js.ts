// Go RE2 regexp source (as docker's patternmatcher builds it) translated to
// an equivalent JavaScript RegExp source: character classes, Perl and POSIX
// classes, and escapes differ between the two dialects.

/** A pattern docker would reject. */
export class BadPattern extends Error {}

type Range = [number, number];
const MAX_RUNE = 0x10ffff;
const PERL_CLASSES: Record<string, Range[]> = {
  d: [[0x30, 0x39]],
  s: [[0x09, 0x0a], [0x0c, 0x0d], [0x20, 0x20]],
  w: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
};
const POSIX_CLASSES: Record<string, Range[]> = {
  alnum: [[0x30, 0x39], [0x41, 0x5a], [0x61, 0x7a]],
  alpha: [[0x41, 0x5a], [0x61, 0x7a]],
  ascii: [[0x00, 0x7f]],
  blank: [[0x09, 0x09], [0x20, 0x20]],
  cntrl: [[0x00, 0x1f], [0x7f, 0x7f]],
  digit: [[0x30, 0x39]],
  graph: [[0x21, 0x7e]],
  lower: [[0x61, 0x7a]],
  print: [[0x20, 0x7e]],
  punct: [[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e]],
  space: [[0x09, 0x0d], [0x20, 0x20]],
  upper: [[0x41, 0x5a]],
  word: [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]],
  xdigit: [[0x30, 0x39], [0x41, 0x46], [0x61, 0x66]],
};

function normalize(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

function negate(ranges: Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of normalize(ranges)) {
    if (next < lo) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_RUNE) out.push([next, MAX_RUNE]);
  return out;
}

const hex = (cp: number): string => `\\u{${cp.toString(16)}}`;
const literal = (cp: number): string => (/^[\w]$/.test(String.fromCodePoint(cp)) ? String.fromCodePoint(cp) : hex(cp));
// An empty list is `[]`, which matches nothing in both engines.
const classSource = (ranges: Range[]): string =>
  '[' + normalize(ranges).map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`)).join('') + ']';

/**
 * Translates the RE2 text patternmatcher builds (Perl flags: `.` excludes only
 * \n, negated classes include \n, `^`/`$` anchor the whole text) into an
 * equivalent JavaScript source for the `u` flag. Classes become explicit code
 * point ranges, so RE2-only forms (POSIX `[:alpha:]`, `\s` inside a class,
 * `[[^/]` read as a literal `[`) keep RE2's meaning.
 */
export function re2ToJs(src: string): string {
  const cps = Array.from(src);
  let i = 0;
  const cp = (k: number): number => cps[k]!.codePointAt(0)!;

  const escape = (): number => {
    // At a backslash; returns the rune (Go's parseEscape).
    const c = cps[++i];
    if (c === undefined) throw new BadPattern('trailing backslash at end of expression');
    i++;
    const isOct = (s: string | undefined): boolean => s !== undefined && s >= '0' && s <= '7';
    const unhex = (s: string | undefined): number => (s !== undefined && /^[0-9a-fA-F]$/.test(s) ? parseInt(s, 16) : -1);
    if (c.length === 1 && c < '\x80' && !/[0-9A-Za-z]/.test(c)) return cp(i - 1);
    if ((c >= '1' && c <= '7' && isOct(cps[i])) || c === '0') {
      let r = Number(c);
      for (let n = 1; n < 3 && isOct(cps[i]); n++) r = r * 8 + Number(cps[i++]);
      return r;
    }
    if (c === 'x') {
      if (cps[i] === '{') {
        const close = cps.indexOf('}', i);
        const digits = close < 0 ? '' : cps.slice(i + 1, close).join('');
        if (/^[0-9a-fA-F]+$/.test(digits) && parseInt(digits, 16) <= MAX_RUNE) {
          i = close + 1;
          return parseInt(digits, 16);
        }
      } else if (unhex(cps[i]) >= 0 && unhex(cps[i + 1]) >= 0) {
        i += 2;
        return unhex(cps[i - 2]) * 16 + unhex(cps[i - 1]);
      }
    }
    const controls: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    if (controls[c] !== undefined) return controls[c];
    throw new BadPattern(`invalid escape sequence \\${c}`);
  };

  const perlClass = (): Range[] | undefined => {
    const c = cps[i + 1];
    if (cps[i] !== '\\' || c === undefined) return undefined;
    if (c === 'p' || c === 'P') throw new BadPattern('Unicode classes \\p/\\P are not supported by tsbuild');
    const base = PERL_CLASSES[c.toLowerCase()];
    if (base === undefined || !/^[dswDSW]$/.test(c)) return undefined;
    i += 2;
    return c === c.toUpperCase() ? negate(base) : base;
  };

  const charClass = (): string => {
    i++; // '['
    const negated = cps[i] === '^';
    if (negated) i++;
    const ranges: Range[] = [];
    const classChar = (): number => {
      if (i >= cps.length) throw new BadPattern('missing closing ]');
      return cps[i] === '\\' ? escape() : cp(i++);
    };
    for (let first = true; i >= cps.length || cps[i] !== ']' || first; first = false) {
      if (cps[i] === '[' && cps[i + 1] === ':' && i + 2 < cps.length) {
        const rest = cps.slice(i).join('');
        const end = rest.indexOf(':]', 2);
        if (end >= 0) {
          const name = rest.slice(2, end);
          const bare = name.replace(/^\^/, '');
          const group = Object.hasOwn(POSIX_CLASSES, bare) ? POSIX_CLASSES[bare] : undefined;
          if (group === undefined) throw new BadPattern(`invalid character class range [:${name}:]`);
          ranges.push(...(name.startsWith('^') ? negate(group) : group));
          i += Array.from(rest.slice(0, end + 2)).length;
          continue;
        }
      }
      const perl = perlClass();
      if (perl !== undefined) {
        ranges.push(...perl);
        continue;
      }
      const lo = classChar();
      let hi = lo;
      if (cps[i] === '-' && i + 1 < cps.length && cps[i + 1] !== ']') {
        i++;
        hi = classChar();
        if (hi < lo) throw new BadPattern('invalid character class range');
      }
      ranges.push([lo, hi]);
    }
    i++; // ']'
    return classSource(negated ? negate(ranges) : ranges);
  };

  const repeat = (): string => {
    // At `{`, just consumed. RE2's parseRepeat: `{n}`, `{n,}` or `{n,m}` without
    // leading zeros; anything else is a literal `{`.
    const m = /^(0|[1-9]\d*)(?:(,)(0|[1-9]\d*)?)?\}/.exec(cps.slice(i).join(''));
    if (m === null) return literal(0x7b);
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === undefined ? -1 : Number(m[3]);
    if (min > 1000 || max > 1000 || (max >= 0 && min > max)) throw new BadPattern(`invalid repeat count {${m[0]}`);
    i += m[0].length;
    return '{' + m[0];
  };

  let out = '';
  while (i < cps.length) {
    const c = cps[i]!;
    if (c === '[') {
      out += charClass();
      continue;
    }
    if (c !== '\\') {
      i++;
      if (c === '(') {
        // Only patternmatcher's own `(.*/)?` opens a group; `(` from a glob is escaped.
        if (cps[i] === '?') throw new BadPattern('unsupported regexp group');
        out += '(?:';
      } else if (c === '.') out += '[^\\n]';
      else if (c === '{') out += repeat();
      else if (c === '^' || c === '$') out += `(?:${c})`;
      else if (')|*+?'.includes(c)) out += c;
      else out += literal(cp(i - 1));
      continue;
    }
    const next = cps[i + 1];
    // Grouped because RE2 lets an assertion take a quantifier (`^{2}`) and JS does not.
    const anchors: Record<string, string> = { A: '(?:^)', z: '(?:$)', b: '(?:\\b)', B: '(?:\\B)' };
    if (next !== undefined && anchors[next] !== undefined) {
      out += anchors[next];
      i += 2;
    } else if (next === 'C') throw new BadPattern('invalid escape sequence \\C');
    else if (next === 'Q') {
      const rest = cps.slice(i + 2);
      let end = rest.findIndex((s, k) => s === '\\' && rest[k + 1] === 'E');
      if (end < 0) end = rest.length;
      for (const s of rest.slice(0, end)) out += literal(s.codePointAt(0)!);
      i += 2 + Math.min(end + 2, rest.length);
    } else {
      const perl = perlClass();
      out += perl !== undefined ? classSource(perl) : literal(escape());
    }
  }
  return out;
}

// ------------------------------------------------------------------- matching
