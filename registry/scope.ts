// Token scopes (docker token-auth spec): `repository:<name>:<actions>`. The
// scope a request needs is derived from its method and path, so callers
// never pass it: reads need pull; uploads and manifest PUTs need pull,push;
// a cross-repo mount also needs pull on the source repository.

export interface Scope {
  type: string;
  name: string;
  actions: string[];
}

export function parseScope(text: string): Scope | null {
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  if (first <= 0 || last === first) return null;
  return { type: text.slice(0, first), name: text.slice(first + 1, last), actions: text.slice(last + 1).split(',').filter((a) => a) };
}

export function formatScope(s: Scope): string {
  return `${s.type}:${s.name}:${s.actions.join(',')}`;
}

/** Merge scopes on the same resource, sort actions and resources: a stable cache key. */
export function normalizeScopes(scopes: readonly string[]): string[] {
  const merged = new Map<string, Set<string>>();
  for (const text of scopes) {
    const s = parseScope(text);
    if (s === null) continue;
    const key = `${s.type}:${s.name}`;
    const set = merged.get(key) ?? new Set<string>();
    for (const a of s.actions) set.add(a);
    merged.set(key, set);
  }
  return [...merged.entries()].map(([key, actions]) => `${key}:${[...actions].sort().join(',')}`).sort();
}

/** Whether a token granted for `have` is good for `want` (every resource, every action). */
export function scopesCover(have: readonly string[], want: readonly string[]): boolean {
  const granted = new Map<string, Set<string>>();
  for (const text of have) {
    const s = parseScope(text);
    if (s !== null) granted.set(`${s.type}:${s.name}`, new Set(s.actions));
  }
  return want.every((text) => {
    const s = parseScope(text);
    if (s === null) return true;
    const g = granted.get(`${s.type}:${s.name}`);
    return g !== undefined && (g.has('*') || s.actions.every((a) => g.has(a)));
  });
}

const REPO_PATH = /^\/v2\/(.+?)\/(?:manifests\/[^/]+|blobs\/uploads\/[^/]*|blobs\/[^/]+|tags\/list|referrers\/[^/]+)$/;

/** The scopes a request to `path` (with query) on a registry needs. */
export function scopesForRequest(method: string, path: string): string[] {
  const q = path.indexOf('?');
  const pathname = q === -1 ? path : path.slice(0, q);
  const m = REPO_PATH.exec(pathname);
  if (m === null || m[1] === undefined) return [];
  const name = decodeURIComponent(m[1]);
  const read = method === 'GET' || method === 'HEAD';
  const scopes = [`repository:${name}:${read ? 'pull' : 'pull,push'}`];
  if (q !== -1) {
    const from = new URLSearchParams(path.slice(q + 1)).get('from');
    if (from !== null && from !== '') scopes.push(`repository:${from}:pull`);
  }
  return normalizeScopes(scopes);
}
