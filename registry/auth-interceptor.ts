// The auth interceptor: answers a registry's 401 challenge and adds the
// Authorization header, for registered registry origins only.
//
// - Before dispatch, if the origin already challenged us, the header for the
//   request's scopes (derived from method and path) is added proactively:
//   cached token, or a token fetched now.
// - A 401 on a request whose body can be sent again is held back (its body
//   buffered, at most 64 KiB): the challenge is recorded, a fresh header is
//   computed and the request re-dispatched once. If there is nothing better
//   to offer, the held 401 is delivered as it came.
// - Requests to any other origin (a redirect to blob storage) leave with no
//   Authorization at all, whatever the caller put there.
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { normalizeOrigin, type AuthSession } from './auth-session.js';
import { parseChallenges } from './challenge.js';
import { normalizeScopes, scopesForRequest } from './scope.js';

type Headers = Dispatcher.DispatchOptions['headers'];
type HeaderRecord = Record<string, string | string[]>;
type IncomingHeaders = Parameters<NonNullable<Dispatcher.DispatchHandler['onResponseStart']>>[2];

const HELD_BODY_LIMIT = 64 * 1024;

function headerEntries(h: Headers): [string, string | string[]][] {
  if (h === null || h === undefined) return [];
  const out: [string, string | string[]][] = [];
  const push = (k: unknown, v: unknown): void => {
    if (v === undefined || v === null) return;
    out.push([String(k), Array.isArray(v) ? v.map(String) : String(v)]);
  };
  if (Array.isArray(h)) {
    if (h.length > 0 && Array.isArray(h[0])) for (const [k, v] of h as unknown as [unknown, unknown][]) push(k, v);
    else for (let i = 0; i + 1 < h.length; i += 2) push(h[i], h[i + 1]);
  } else if (typeof (h as Iterable<unknown>)[Symbol.iterator] === 'function') {
    for (const [k, v] of h as Iterable<[string, unknown]>) push(k, v);
  } else {
    for (const [k, v] of Object.entries(h as Record<string, unknown>)) push(k, v);
  }
  return out;
}

function hasAuthorization(h: Headers): boolean {
  return headerEntries(h).some(([k]) => k.toLowerCase() === 'authorization');
}

function withAuthorization(h: Headers, value: string | null): HeaderRecord {
  const out: HeaderRecord = {};
  for (const [k, v] of headerEntries(h)) if (k.toLowerCase() !== 'authorization') out[k] = v;
  if (value !== null) out.authorization = value;
  return out;
}

/** A body that can be sent twice: none, a string or bytes (never a stream). */
function replayable(body: Dispatcher.DispatchOptions['body']): boolean {
  return body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array;
}

/** The controller handed downstream once; it forwards to whichever attempt is live. */
class ControllerProxy implements Dispatcher.DispatchController {
  #target: Dispatcher.DispatchController | null = null;
  #paused = false;
  #reason: Error | null = null;

  set target(c: Dispatcher.DispatchController) {
    this.#target = c;
    if (this.#paused) c.pause();
    if (this.#reason !== null) c.abort(this.#reason);
  }
  get aborted(): boolean {
    return this.#reason !== null || (this.#target?.aborted ?? false);
  }
  get paused(): boolean {
    return this.#paused;
  }
  get reason(): Error | null {
    return this.#reason ?? this.#target?.reason ?? null;
  }
  abort(reason: Error): void {
    this.#reason = reason;
    this.#target?.abort(reason);
  }
  pause(): void {
    this.#paused = true;
    this.#target?.pause();
  }
  resume(): void {
    this.#paused = false;
    this.#target?.resume();
  }
}

interface Held {
  statusCode: number;
  headers: IncomingHeaders;
  statusMessage: string | undefined;
  chunks: Buffer[];
  size: number;
}

class AuthAttempt implements Dispatcher.DispatchHandler {
  readonly #session: AuthSession;
  readonly #dispatch: Dispatcher.Dispatch;
  readonly #opts: Dispatcher.DispatchOptions;
  readonly #handler: Dispatcher.DispatchHandler;
  readonly #origin: string;
  readonly #proxy = new ControllerProxy();
  #scopes: string[];
  #started = false;
  #sent: string | null = null;
  #canReplay: boolean;
  #held: Held | null = null;

  constructor(session: AuthSession, dispatch: Dispatcher.Dispatch, opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandler, origin: string) {
    this.#session = session;
    this.#dispatch = dispatch;
    this.#opts = opts;
    this.#handler = handler;
    this.#origin = origin;
    this.#scopes = scopesForRequest(opts.method, opts.path);
    this.#canReplay = replayable(opts.body);
  }

  start(): void {
    this.#session.authorization(this.#origin, this.#scopes).then(
      (value) => this.#send(value),
      (err: Error) => this.#fail(err),
    );
  }

  #send(value: string | null): void {
    if (this.#proxy.aborted) {
      this.#fail(this.#proxy.reason ?? new Error('aborted'));
      return;
    }
    this.#sent = value;
    try {
      this.#dispatch({ ...this.#opts, headers: withAuthorization(this.#opts.headers, value) }, this);
    } catch (err) {
      this.#fail(err as Error);
    }
  }

  #fail(err: Error): void {
    this.#handler.onResponseError?.(this.#proxy, err);
  }

  onRequestStart(controller: Dispatcher.DispatchController, context: unknown): void {
    this.#proxy.target = controller;
    if (this.#started) return;
    this.#started = true;
    this.#handler.onRequestStart?.(this.#proxy, context);
  }

  onRequestUpgrade(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHeaders, socket: Duplex): void {
    this.#handler.onRequestUpgrade?.(this.#proxy, statusCode, headers, socket);
  }

  onResponseStart(_controller: Dispatcher.DispatchController, statusCode: number, headers: IncomingHeaders, statusMessage?: string): void {
    if (statusCode === 401 && this.#canReplay) {
      this.#held = { statusCode, headers, statusMessage, chunks: [], size: 0 };
      return;
    }
    this.#handler.onResponseStart?.(this.#proxy, statusCode, headers, statusMessage);
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const held = this.#held;
    if (held === null) {
      this.#handler.onResponseData?.(this.#proxy, chunk);
      return;
    }
    if (held.size < HELD_BODY_LIMIT) {
      held.chunks.push(chunk);
      held.size += chunk.length;
    }
  }

  onResponseEnd(_controller: Dispatcher.DispatchController, trailers: IncomingHeaders): void {
    const held = this.#held;
    if (held === null) {
      this.#handler.onResponseEnd?.(this.#proxy, trailers);
      return;
    }
    this.#held = null;
    this.#canReplay = false;
    const challenge = this.#session.observe(this.#origin, parseChallenges(held.headers['www-authenticate']));
    // A bare /v2/ probe needs no token: let the caller see the challenge.
    if (challenge === undefined || (challenge.scheme === 'bearer' && this.#scopes.length === 0)) {
      this.#deliver(held, trailers);
      return;
    }
    // `insufficient_scope` names what the registry wants; ask for that too.
    if (challenge.params.scope) this.#scopes = normalizeScopes([...this.#scopes, ...challenge.params.scope.split(' ')]);
    this.#session.authorization(this.#origin, this.#scopes, this.#sent).then(
      (value) => {
        if (value === null || this.#proxy.aborted) this.#deliver(held, trailers);
        else this.#send(value);
      },
      (err: Error) => this.#fail(err),
    );
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.#handler.onResponseError?.(this.#proxy, err);
  }

  #deliver(held: Held, trailers: IncomingHeaders): void {
    this.#handler.onResponseStart?.(this.#proxy, held.statusCode, held.headers, held.statusMessage);
    for (const chunk of held.chunks) this.#handler.onResponseData?.(this.#proxy, chunk);
    this.#handler.onResponseEnd?.(this.#proxy, trailers);
  }
}

export function auth(session: AuthSession): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) =>
    function authInterceptor(opts, handler) {
      const origin = opts.origin === undefined ? null : normalizeOrigin(opts.origin);
      if (origin === null || !session.isRegistryOrigin(origin)) {
        // Never carry credentials to a host that is not the registry.
        return dispatch(hasAuthorization(opts.headers) ? { ...opts, headers: withAuthorization(opts.headers, null) } : opts, handler);
      }
      new AuthAttempt(session, dispatch, opts, handler, origin).start();
      return true;
    };
}
