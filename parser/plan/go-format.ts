// docker/buildx record history lines with Go's fmt verbs; reproducing them
// keeps `tsbuild inspect` history identical to buildx output.

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const NAMED_ESCAPES: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v' };

function escapeRune(ch: string, quote: string): string {
  if (ch === quote || ch === '\\') return '\\' + ch;
  if (PRINTABLE.test(ch)) return ch;
  const named = NAMED_ESCAPES[ch];
  if (named !== undefined) return named;
  const cp = ch.codePointAt(0) as number;
  if (cp < 0x80) return '\\x' + cp.toString(16).padStart(2, '0');
  if (cp < 0x10000) return '\\u' + cp.toString(16).padStart(4, '0');
  return '\\U' + cp.toString(16).padStart(8, '0');
}

/** Go's %q of a string (strconv.Quote). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) out += escapeRune(ch, '"');
  return out + '"';
}

/** Go's %q of an integer: a quoted character literal (strconv.QuoteRune). */
export function goQuoteRune(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff)) return "'\\ufffd'";
  return "'" + escapeRune(String.fromCodePoint(n), "'") + "'";
}

/** Go's %q of a []string: ["a" "b"] */
export function goQuoteList(list: readonly string[] | null): string {
  return '[' + (list ?? []).map(goQuote).join(' ') + ']';
}

/** Go's %v of a []string: [a b] */
export function goList(list: readonly string[]): string {
  return '[' + list.join(' ') + ']';
}

/** time.Duration.String() for a nanosecond count. */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let v = Math.abs(ns);
  let out: string;
  if (v < 1e3) out = `${v}ns`;
  else if (v < 1e6) out = `${trimFloat(v / 1e3)}µs`;
  else if (v < 1e9) out = `${trimFloat(v / 1e6)}ms`;
  else {
    const h = Math.floor(v / 3.6e12);
    v -= h * 3.6e12;
    const m = Math.floor(v / 6e10);
    v -= m * 6e10;
    const s = trimFloat(v / 1e9);
    out = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  }
  return neg ? '-' + out : out;
}

function trimFloat(x: number): string {
  return String(Number(x.toFixed(9)));
}

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, μs: 1e3, ms: 1e6, s: 1e9, m: 6e10, h: 3.6e12 };
const MAX_DURATION = 2 ** 63 - 1;

/** Go's time.ParseDuration; null when malformed or out of range. */
export function parseGoDuration(text: string): number | null {
  const m0 = /^([-+]?)(.*)$/s.exec(text);
  let rest = m0?.[2] ?? '';
  const sign = m0?.[1] === '-' ? -1 : 1;
  if (rest === '0') return 0;
  if (rest === '') return null;
  let total = 0;
  const re = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  while (rest.length > 0) {
    const m = re.exec(rest);
    if (!m) return null;
    total += Number(m[1]) * (UNIT_NS[m[2] as string] as number);
    rest = rest.slice(m[0].length);
  }
  if (!Number.isFinite(total) || total > MAX_DURATION) return null;
  return sign * Math.round(total);
}
