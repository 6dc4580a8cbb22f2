// The retry interceptor: undici's RetryHandler (which resumes an interrupted
// download with `Range` + `If-Match` and validates the 206's Content-Range)
// driven by our policy: 429 and 5xx and connection failures are retried with
// exponential backoff capped small, Retry-After is honoured (up to a cap),
// and a request whose body is a stream is never re-sent (its bytes are gone;
// the push code restarts such an upload from the source instead).
import { interceptors, type Dispatcher } from 'undici';

export interface RetryPolicy {
  /** Retries after the first attempt. */
  maxRetries: number;
  /** First backoff; doubles each retry. */
  minDelayMs: number;
  /** Backoff cap. */
  maxDelayMs: number;
  /** Longest Retry-After we wait for. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 4, minDelayMs: 250, maxDelayMs: 4000, maxRetryAfterMs: 30_000 };

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);
const RETRY_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CLOSED',
]);

function isStreamBody(body: unknown): boolean {
  if (body === null || body === undefined || typeof body === 'string' || body instanceof Uint8Array) return false;
  const b = body as { pipe?: unknown; pipeTo?: unknown; [Symbol.asyncIterator]?: unknown };
  return typeof b.pipe === 'function' || typeof b.pipeTo === 'function' || typeof b[Symbol.asyncIterator] === 'function';
}

/** Milliseconds from a Retry-After header (delta-seconds or an HTTP date). */
export function parseRetryAfter(value: string | string[] | undefined, now: number = Date.now()): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

export interface RetryFailure {
  statusCode?: number;
  code?: string;
  headers?: Record<string, string | string[] | undefined>;
}

/** How long to wait before retry number `attempt` (1-based), or null to give up. */
export function retryDelay(failure: RetryFailure, attempt: number, streamBody: boolean, policy: RetryPolicy): number | null {
  if (streamBody || attempt > policy.maxRetries) return null;
  const byStatus = failure.statusCode !== undefined && RETRY_STATUSES.has(failure.statusCode);
  const byCode = failure.statusCode === undefined && failure.code !== undefined && RETRY_CODES.has(failure.code);
  if (!byStatus && !byCode) return null;
  const after = parseRetryAfter(failure.headers?.['retry-after']);
  if (after !== null) return Math.min(after, policy.maxRetryAfterMs);
  return Math.min(policy.minDelayMs * 2 ** (attempt - 1), policy.maxDelayMs);
}

export function retry(policy: RetryPolicy = DEFAULT_RETRY_POLICY): Dispatcher.DispatcherComposeInterceptor {
  return interceptors.retry({
    // Let the final failed response through with its body, so its OCI
    // error codes reach the caller.
    throwOnError: false,
    maxRetries: policy.maxRetries,
    retry(err, { state, opts }, callback) {
      const e = err as Error & RetryFailure;
      // Status failures come wrapped as UND_ERR_REQ_RETRY with statusCode set.
      const failure: RetryFailure = e.statusCode !== undefined ? { statusCode: e.statusCode, ...(e.headers ? { headers: e.headers } : {}) } : e.code !== undefined ? { code: e.code } : {};
      const delay = retryDelay(failure, state.counter, isStreamBody(opts.body), policy);
      if (delay === null) callback(err);
      else setTimeout(() => callback(null), delay);
    },
  });
}
