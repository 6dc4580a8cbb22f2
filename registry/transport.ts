// One undici Agent composed with the three interceptors, plus the registry
// endpoints it may talk to. Order matters: compose(auth, retry, redirect)
// makes redirect the outermost layer, so every hop (including a redirect to
// blob storage on another host) passes through retry and then auth, and auth
// decides per hop whether the origin is a registry that gets credentials.
import type { Readable } from 'node:stream';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { auth } from './auth-interceptor.js';
import { AuthSession } from './auth-session.js';
import type { CredentialStore } from './credentials.js';
import { originEndpoint, pullEndpoints, type Endpoint, type EndpointOptions } from './endpoint.js';
import { RegistryError } from './errors.js';
import { retry, type RetryPolicy } from './retry-interceptor.js';
import type { Response } from './response.js';

export interface TransportOptions extends EndpointOptions {
  credentials: CredentialStore;
  retry: RetryPolicy;
  maxRedirections: number;
  userAgent: string;
  /** Connections per origin. */
  connections: number;
  connectTimeoutMs: number;
  now?: () => number;
}

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface HttpRequest {
  method: HttpMethod;
  url: string | URL;
  headers?: Record<string, string>;
  body?: string | Buffer | Readable | null;
  signal?: AbortSignal;
}

const NETWORK_ERRNOS = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND',
  'ENETDOWN', 'ENETUNREACH', 'EHOSTDOWN', 'EHOSTUNREACH',
]);

/** Errors a socket or undici raises that mean "the network failed" (not the disk, not us). */
export function isNetworkError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return false;
  return (code.startsWith('UND_ERR') && code !== 'UND_ERR_ABORTED') || NETWORK_ERRNOS.has(code);
}

export class Transport {
  readonly session: AuthSession;
  readonly #agent: Agent;
  readonly #dispatcher: Dispatcher;
  readonly #options: TransportOptions;

  constructor(opts: TransportOptions) {
    this.#options = opts;
    this.#agent = new Agent({
      connections: opts.connections,
      connect: { timeout: opts.connectTimeoutMs },
      keepAliveTimeout: 10_000,
    });
    const redirect = interceptors.redirect({ maxRedirections: opts.maxRedirections });
    this.session = new AuthSession({
      credentials: opts.credentials,
      tokenDispatcher: this.#agent.compose(retry(opts.retry), redirect),
      userAgent: opts.userAgent,
      ...(opts.now === undefined ? {} : { now: opts.now }),
    });
    this.#dispatcher = this.#agent.compose(auth(this.session), retry(opts.retry), redirect);
  }

  get userAgent(): string {
    return this.#options.userAgent;
  }

  get retryPolicy(): RetryPolicy {
    return this.#options.retry;
  }

  /** docker.io mirrors in order, then the origin; each registered for auth. */
  pullEndpoints(registry: string): Endpoint[] {
    const list = pullEndpoints(registry, this.#options);
    for (const e of list) this.session.register(e.origin, e.credentialHost);
    return list;
  }

  /** Pushes always go to the origin. */
  pushEndpoint(registry: string): Endpoint {
    const e = originEndpoint(registry, this.#options);
    this.session.register(e.origin, e.credentialHost);
    return e;
  }

  /** Send a request; a network failure (after retries) becomes TSB_REGISTRY_UNREACHABLE. */
  async request(req: HttpRequest): Promise<Response> {
    try {
      return await request(req.url, {
        dispatcher: this.#dispatcher,
        method: req.method,
        headers: { 'user-agent': this.#options.userAgent, ...req.headers },
        body: req.body ?? null,
        ...(req.signal === undefined ? {} : { signal: req.signal }),
      });
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      if (req.signal?.aborted) throw req.signal.reason ?? err;
      throw new RegistryError('TSB_REGISTRY_UNREACHABLE', `${req.method} ${String(req.url)}: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
