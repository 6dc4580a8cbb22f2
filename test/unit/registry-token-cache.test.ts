import { describe, expect, test } from 'vitest';
import { TokenCache } from '../../registry/token-cache.js';

const ORIGIN = 'https://registry.example';

describe('TokenCache', () => {
  test('reuses a token until shortly before expires_in, then fetches again', async () => {
    let now = 1_000_000;
    const cache = new TokenCache(() => now);
    let fetches = 0;
    const fetch = async () => ({ token: `t${++fetches}`, expiresIn: 60 });
    expect(await cache.obtain(ORIGIN, ['repository:a:pull'], fetch)).toBe('t1');
    now += 50_000;
    expect(await cache.obtain(ORIGIN, ['repository:a:pull'], fetch)).toBe('t1');
    now += 5_000; // 55 s of 60: inside the 6 s safety margin
    expect(await cache.obtain(ORIGIN, ['repository:a:pull'], fetch)).toBe('t2');
  });

  test('keys are per origin and per scope; a wider scope serves a narrower one', async () => {
    const cache = new TokenCache(() => 0);
    cache.store(ORIGIN, ['repository:a:push', 'repository:a:pull'], { token: 'wide', expiresIn: 300 });
    expect(cache.lookup(ORIGIN, ['repository:a:pull'])).toBe('wide');
    expect(cache.lookup(ORIGIN, ['repository:b:pull'])).toBeUndefined();
    expect(cache.lookup('https://other.example', ['repository:a:pull'])).toBeUndefined();
    cache.store(ORIGIN, ['repository:a:pull'], { token: 'exact', expiresIn: 300 });
    expect(cache.lookup(ORIGIN, ['repository:a:pull'])).toBe('exact');
  });

  test('concurrent requests for one scope share one fetch; a failed fetch is not cached', async () => {
    const cache = new TokenCache(() => 0);
    let fetches = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const fetch = async () => {
      fetches++;
      await gate;
      return { token: 'shared', expiresIn: 60 };
    };
    const all = Promise.all([1, 2, 3].map(() => cache.obtain(ORIGIN, ['repository:a:pull'], fetch)));
    release();
    expect(await all).toEqual(['shared', 'shared', 'shared']);
    expect(fetches).toBe(1);
    await expect(cache.obtain(ORIGIN, ['repository:z:pull'], () => Promise.reject(new Error('down')))).rejects.toThrow('down');
    expect(await cache.obtain(ORIGIN, ['repository:z:pull'], async () => ({ token: 'later', expiresIn: 60 }))).toBe('later');
  });

  test('invalidate drops a rejected token', () => {
    const cache = new TokenCache(() => 0);
    cache.store(ORIGIN, ['repository:a:pull'], { token: 'bad', expiresIn: 60 });
    cache.invalidate(ORIGIN, 'bad');
    expect(cache.lookup(ORIGIN, ['repository:a:pull'])).toBeUndefined();
  });
});
