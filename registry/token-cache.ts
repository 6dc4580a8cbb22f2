// Bearer tokens per (registry origin, scope set), reused until shortly
// before `expires_in` runs out. A token granted for a wider scope
// (`pull,push` on a repository) also serves narrower requests (`pull`), so a
// push followed by a pull of the same repository needs one token. Fetches
// for the same key are shared while in flight.
import { normalizeScopes, scopesCover } from './scope.js';

export interface TokenGrant {
  token: string;
  /** Seconds; the spec's default is 60. */
  expiresIn: number;
}

interface Entry {
  scopes: string[];
  token: string;
  expiresAt: number;
}

/** Renew a little early so a token does not expire between lookup and use. */
function safetyMargin(lifetimeMs: number): number {
  return Math.min(30_000, lifetimeMs / 10);
}

export class TokenCache {
  readonly #now: () => number;
  readonly #entries = new Map<string, Entry[]>();
  readonly #inflight = new Map<string, Promise<string>>();

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** A live token for `origin` whose scopes cover `scopes`, if any. */
  lookup(origin: string, scopes: readonly string[]): string | undefined {
    const want = normalizeScopes(scopes);
    const now = this.#now();
    const list = (this.#entries.get(origin) ?? []).filter((e) => e.expiresAt > now);
    this.#entries.set(origin, list);
    // Exact scope first, then any token covering it.
    const exact = list.find((e) => e.scopes.join(' ') === want.join(' '));
    return (exact ?? list.find((e) => scopesCover(e.scopes, want)))?.token;
  }

  store(origin: string, scopes: readonly string[], grant: TokenGrant): void {
    const lifetime = Math.max(0, grant.expiresIn) * 1000;
    const entry: Entry = { scopes: normalizeScopes(scopes), token: grant.token, expiresAt: this.#now() + lifetime - safetyMargin(lifetime) };
    const list = (this.#entries.get(origin) ?? []).filter((e) => e.scopes.join(' ') !== entry.scopes.join(' '));
    list.push(entry);
    this.#entries.set(origin, list);
  }

  /** Forget a token the registry rejected. */
  invalidate(origin: string, token: string): void {
    const list = this.#entries.get(origin);
    if (list !== undefined) this.#entries.set(origin, list.filter((e) => e.token !== token));
  }

  /** The cached token, or the result of `fetch` (shared with concurrent callers) once stored. */
  async obtain(origin: string, scopes: readonly string[], fetch: () => Promise<TokenGrant>): Promise<string> {
    const cached = this.lookup(origin, scopes);
    if (cached !== undefined) return cached;
    const key = `${origin} ${normalizeScopes(scopes).join(' ')}`;
    const pending = this.#inflight.get(key);
    if (pending !== undefined) return pending;
    const p = fetch().then(
      (grant) => {
        this.store(origin, scopes, grant);
        return grant.token;
      },
    );
    this.#inflight.set(key, p);
    try {
      return await p;
    } finally {
      this.#inflight.delete(key);
    }
  }
}
