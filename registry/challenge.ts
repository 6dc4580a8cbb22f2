// WWW-Authenticate challenges (RFC 7235): `Bearer realm="…",service="…",
// scope="…"` or `Basic realm="…"`, possibly several in one header.

export interface Challenge {
  /** Lowercased: `bearer`, `basic`. */
  scheme: string;
  /** Parameter names lowercased; values unquoted. */
  params: Record<string, string>;
}

const TOKEN = /[^\s,="]+/y;

export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  if (Array.isArray(header)) return header.flatMap((h) => parseChallenges(h));
  const out: Challenge[] = [];
  const s = header;
  let pos = 0;
  const skip = (chars: RegExp): void => {
    while (pos < s.length && chars.test(s[pos] ?? '')) pos++;
  };
  const token = (): string | null => {
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(s);
    if (m === null) return null;
    pos = TOKEN.lastIndex;
    return m[0];
  };
  const quoted = (): string => {
    let value = '';
    pos++; // opening quote
    while (pos < s.length && s[pos] !== '"') {
      if (s[pos] === '\\' && pos + 1 < s.length) pos++;
      value += s[pos];
      pos++;
    }
    pos++; // closing quote
    return value;
  };
  for (;;) {
    skip(/[\s,]/);
    const scheme = token();
    if (scheme === null) break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    out.push(challenge);
    for (;;) {
      skip(/\s/);
      const save = pos;
      const name = token();
      if (name === null) break;
      skip(/\s/);
      if (s[pos] !== '=') {
        pos = save; // the next challenge's scheme
        break;
      }
      pos++;
      skip(/\s/);
      const value = s[pos] === '"' ? quoted() : (token() ?? '');
      challenge.params[name.toLowerCase()] = value;
      skip(/\s/);
      if (s[pos] !== ',') break;
      pos++;
    }
  }
  return out;
}

/** The first challenge we can answer: Bearer before Basic. */
export function pickChallenge(challenges: readonly Challenge[]): Challenge | undefined {
  return challenges.find((c) => c.scheme === 'bearer' && c.params.realm) ?? challenges.find((c) => c.scheme === 'basic');
}
