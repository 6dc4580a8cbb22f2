// What the auth interceptor knows: which origins are registries (and whose
// credentials apply there), the challenge each one last sent, and the token
// cache. Only registered origins ever get an Authorization header; a blob
// redirect to storage on another host is an unknown origin and gets none.
import type { Dispatcher } from 'undici';
import { pickChallenge, type Challenge } from './challenge.js';
import type { Credential, CredentialStore } from './credentials.js';
import { fetchToken } from './token-fetch.js';
import { TokenCache } from './token-cache.js';

export interface AuthSessionOptions {
  credentials: CredentialStore;
  /** Dispatches token requests (retries and redirects, no auth). */
  tokenDispatcher: Dispatcher;
  userAgent: string;
  now?: () => number;
}

function basicHeader(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

export function normalizeOrigin(origin: string | URL): string {
  return new URL(String(origin)).origin;
}

export class AuthSession {
  readonly tokens: TokenCache;
  readonly #credentials: CredentialStore;
  readonly #tokenDispatcher: Dispatcher;
  readonly #userAgent: string;
  /** origin → the host whose credentials apply there */
  readonly #origins = new Map<string, string>();
  readonly #challenges = new Map<string, Challenge>();

  constructor(opts: AuthSessionOptions) {
    this.#credentials = opts.credentials;
    this.#tokenDispatcher = opts.tokenDispatcher;
    this.#userAgent = opts.userAgent;
    this.tokens = new TokenCache(opts.now);
  }

  register(origin: string, credentialHost: string): void {
    this.#origins.set(normalizeOrigin(origin), credentialHost);
  }

  isRegistryOrigin(origin: string): boolean {
    return this.#origins.has(origin);
  }

  challenge(origin: string): Challenge | undefined {
    return this.#challenges.get(origin);
  }

  /** Remember what a 401 asked for; returns the challenge we will answer. */
  observe(origin: string, challenges: readonly Challenge[]): Challenge | undefined {
    const picked = pickChallenge(challenges);
    if (picked !== undefined) this.#challenges.set(origin, picked);
    return picked;
  }

  async credential(origin: string): Promise<Credential | null> {
    const host = this.#origins.get(origin);
    return host === undefined ? null : this.#credentials(host);
  }

  /**
   * The Authorization value for a request to `origin` needing `scopes`, from
   * the challenge already seen there (null before any challenge, or when we
   * have nothing to offer). `rejected` is the value a 401 just refused: its
   * token is dropped from the cache and the same value is never returned.
   */
  async authorization(origin: string, scopes: readonly string[], rejected: string | null = null): Promise<string | null> {
    const challenge = this.#challenges.get(origin);
    if (challenge === undefined) return null;
    const credential = await this.credential(origin);
    let value: string | null = null;
    if (challenge.scheme === 'bearer') {
      if (credential?.kind === 'registry-token') {
        value = `Bearer ${credential.token}`;
      } else {
        if (rejected?.startsWith('Bearer ')) this.tokens.invalidate(origin, rejected.slice('Bearer '.length));
        const token = await this.tokens.obtain(origin, scopes, () =>
          fetchToken(this.#tokenDispatcher, {
            realm: challenge.params.realm ?? '',
            service: challenge.params.service,
            scopes,
            credential,
            userAgent: this.#userAgent,
            host: this.#origins.get(origin) ?? origin,
          }),
        );
        value = `Bearer ${token}`;
      }
    } else if (challenge.scheme === 'basic' && credential?.kind === 'basic') {
      value = basicHeader(credential);
    }
    return value === rejected ? null : value;
  }
}
