// docker/buildx record some history lines with Go's fmt verbs; reproducing
// them keeps `tsbuild inspect` history identical to buildx output.

/** Go's %q of a string (close enough: JSON escaping matches for printable text). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

/** Go's %q of a []string: ["a" "b"] */
export function goQuoteList(list: readonly string[]): string {
  return '[' + list.map(goQuote).join(' ') + ']';
}

/** Go's %v of a []string: [a b] */
export function goList(list: readonly string[]): string {
  return '[' + list.join(' ') + ']';
}

/** Go's %v of a map[string]struct{}: map[80/tcp:{} 443/tcp:{}] (keys sorted). */
export function goSetMap(keys: readonly string[]): string {
  return 'map[' + [...keys].sort().map((k) => `${k}:{}`).join(' ') + ']';
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

/** Go's time.ParseDuration; null when malformed. */
export function parseGoDuration(text: string): number | null {
  const m0 = /^([-+]?)(.*)$/.exec(text);
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
  return sign * Math.round(total);
}
