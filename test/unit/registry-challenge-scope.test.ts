import { describe, expect, test } from 'vitest';
import { parseChallenges, pickChallenge } from '../../registry/challenge.js';
import { normalizeScopes, scopesCover, scopesForRequest } from '../../registry/scope.js';

describe('parseChallenges', () => {
  test('a docker Bearer challenge', () => {
    expect(parseChallenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/busybox:pull' } },
    ]);
  });

  test('Basic, unquoted values, odd spacing, escapes', () => {
    expect(parseChallenges('Basic realm="a \\"quoted\\" realm"')).toEqual([{ scheme: 'basic', params: { realm: 'a "quoted" realm' } }]);
    expect(parseChallenges('bearer  realm = https://x/token , service=reg')).toEqual([{ scheme: 'bearer', params: { realm: 'https://x/token', service: 'reg' } }]);
  });

  test('several challenges in one header and in repeated headers; Bearer is preferred', () => {
    const list = parseChallenges(['Basic realm="r"', 'Bearer realm="https://t",error="insufficient_scope",scope="repository:a:pull repository:b:pull"']);
    expect(list.map((c) => c.scheme)).toEqual(['basic', 'bearer']);
    expect(pickChallenge(list)?.params.scope).toBe('repository:a:pull repository:b:pull');
    const one = parseChallenges('Basic realm="r", Bearer realm="https://t",service="s"');
    expect(one).toEqual([
      { scheme: 'basic', params: { realm: 'r' } },
      { scheme: 'bearer', params: { realm: 'https://t', service: 's' } },
    ]);
  });

  test('nothing usable', () => {
    expect(parseChallenges(undefined)).toEqual([]);
    expect(parseChallenges('')).toEqual([]);
    expect(pickChallenge(parseChallenges('Bearer service="no realm"'))).toBeUndefined();
  });
});

describe('scopes', () => {
  test.each([
    ['GET', '/v2/', []],
    ['GET', '/v2/library/busybox/manifests/latest', ['repository:library/busybox:pull']],
    ['HEAD', '/v2/a/b/c/blobs/sha256:abc', ['repository:a/b/c:pull']],
    ['POST', '/v2/team/app/blobs/uploads/', ['repository:team/app:pull,push']],
    ['PATCH', '/v2/team/app/blobs/uploads/uuid-1?_state=x', ['repository:team/app:pull,push']],
    ['PUT', '/v2/team/app/manifests/v1', ['repository:team/app:pull,push']],
    ['POST', '/v2/team/app/blobs/uploads/?mount=sha256:abc&from=team%2Fbase', ['repository:team/app:pull,push', 'repository:team/base:pull']],
    ['GET', '/v2/x/blobs/y/blobs/sha256:abc', ['repository:x/blobs/y:pull']],
    ['GET', '/v2/team/app/tags/list', ['repository:team/app:pull']],
    ['GET', '/data/sha256:abc', []],
  ])('%s %s', (method, path, want) => {
    expect(scopesForRequest(method, path)).toEqual(want);
  });

  test('normalizeScopes merges actions per resource and sorts', () => {
    expect(normalizeScopes(['repository:b:pull', 'repository:a:push', 'repository:a:pull', 'junk'])).toEqual(['repository:a:pull,push', 'repository:b:pull']);
  });

  test('scopesCover: a wider token serves a narrower request', () => {
    expect(scopesCover(['repository:a:pull,push'], ['repository:a:pull'])).toBe(true);
    expect(scopesCover(['repository:a:pull'], ['repository:a:pull,push'])).toBe(false);
    expect(scopesCover(['repository:a:pull,push'], ['repository:a:pull,push', 'repository:b:pull'])).toBe(false);
    expect(scopesCover(['repository:a:*'], ['repository:a:push'])).toBe(true);
    expect(scopesCover([], [])).toBe(true);
  });
});
