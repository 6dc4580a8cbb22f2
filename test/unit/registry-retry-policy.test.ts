import { describe, expect, test } from 'vitest';
import { parseRetryAfter, retryDelay, type RetryPolicy } from '../../registry/retry-interceptor.js';

const policy: RetryPolicy = { maxRetries: 3, minDelayMs: 100, maxDelayMs: 350, maxRetryAfterMs: 5000 };

describe('retry policy', () => {
  test('exponential backoff with a small cap for 5xx and connection failures', () => {
    expect([1, 2, 3].map((n) => retryDelay({ statusCode: 503 }, n, false, policy))).toEqual([100, 200, 350]);
    expect(retryDelay({ statusCode: 500 }, 4, false, policy)).toBeNull();
    expect(retryDelay({ code: 'ECONNRESET' }, 1, false, policy)).toBe(100);
    expect(retryDelay({ code: 'UND_ERR_SOCKET' }, 2, false, policy)).toBe(200);
  });

  test('429 waits for Retry-After, capped', () => {
    expect(retryDelay({ statusCode: 429, headers: { 'retry-after': '2' } }, 1, false, policy)).toBe(2000);
    expect(retryDelay({ statusCode: 429, headers: { 'retry-after': '3600' } }, 1, false, policy)).toBe(5000);
    expect(retryDelay({ statusCode: 429 }, 1, false, policy)).toBe(100);
  });

  test('never: 4xx, unknown errors, stream bodies', () => {
    for (const s of [400, 401, 403, 404, 405, 416]) expect(retryDelay({ statusCode: s }, 1, false, policy)).toBeNull();
    expect(retryDelay({ code: 'TSB_REGISTRY_UNAUTHORIZED' }, 1, false, policy)).toBeNull();
    expect(retryDelay({}, 1, false, policy)).toBeNull();
    expect(retryDelay({ statusCode: 503 }, 1, true, policy)).toBeNull();
  });

  test('Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2024-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Mon, 01 Jan 2024 00:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('Sun, 31 Dec 2023 00:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeNull();
    expect(parseRetryAfter(undefined, now)).toBeNull();
  });
});
