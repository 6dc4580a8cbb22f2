// Reference normalisation, checked against what docker/distribution's
// ParseNormalizedNamed (+ TagNameOnly) and FamiliarString produce.
import { describe, expect, test } from 'vitest';
import { InvalidReferenceError, parseReference, tryParseReference } from '../../registry/index.js';

const D = 'sha256:' + 'a'.repeat(64);

describe('parseReference normalises like docker', () => {
  test.each([
    // input, registry, repository, tag, digest, canonical, familiar
    ['busybox', 'docker.io', 'library/busybox', 'latest', null, 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['busybox:1.36', 'docker.io', 'library/busybox', '1.36', null, 'docker.io/library/busybox:1.36', 'busybox:1.36'],
    ['library/busybox', 'docker.io', 'library/busybox', 'latest', null, 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['docker.io/busybox', 'docker.io', 'library/busybox', 'latest', null, 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['index.docker.io/library/busybox', 'docker.io', 'library/busybox', 'latest', null, 'docker.io/library/busybox:latest', 'busybox:latest'],
    ['user/app', 'docker.io', 'user/app', 'latest', null, 'docker.io/user/app:latest', 'user/app:latest'],
    ['user/app:v2', 'docker.io', 'user/app', 'v2', null, 'docker.io/user/app:v2', 'user/app:v2'],
    ['docker.io/library/a/b', 'docker.io', 'library/a/b', 'latest', null, 'docker.io/library/a/b:latest', 'library/a/b:latest'],
    ['localhost/app', 'localhost', 'app', 'latest', null, 'localhost/app:latest', 'localhost/app:latest'],
    ['localhost:5000/app', 'localhost:5000', 'app', 'latest', null, 'localhost:5000/app:latest', 'localhost:5000/app:latest'],
    ['localhost:5000/app:1', 'localhost:5000', 'app', '1', null, 'localhost:5000/app:1', 'localhost:5000/app:1'],
    ['127.0.0.1:5000/ns/app:1.0', '127.0.0.1:5000', 'ns/app', '1.0', null, '127.0.0.1:5000/ns/app:1.0', '127.0.0.1:5000/ns/app:1.0'],
    ['[::1]:5000/app', '[::1]:5000', 'app', 'latest', null, '[::1]:5000/app:latest', '[::1]:5000/app:latest'],
    ['[2001:db8::1]/app:x', '[2001:db8::1]', 'app', 'x', null, '[2001:db8::1]/app:x', '[2001:db8::1]/app:x'],
    ['ghcr.io/org/tool', 'ghcr.io', 'org/tool', 'latest', null, 'ghcr.io/org/tool:latest', 'ghcr.io/org/tool:latest'],
    ['Registry.Example.COM/app', 'Registry.Example.COM', 'app', 'latest', null, 'Registry.Example.COM/app:latest', 'Registry.Example.COM/app:latest'],
    // An uppercase first component is a registry name (docker's rule).
    ['Foo/app', 'Foo', 'app', 'latest', null, 'Foo/app:latest', 'Foo/app:latest'],
    // With only a digest there is no default tag.
    [`busybox@${D}`, 'docker.io', 'library/busybox', null, D, `docker.io/library/busybox@${D}`, `busybox@${D}`],
    [`busybox:1@${D}`, 'docker.io', 'library/busybox', '1', D, `docker.io/library/busybox:1@${D}`, `busybox:1@${D}`],
    [`localhost:5000/app@${D}`, 'localhost:5000', 'app', null, D, `localhost:5000/app@${D}`, `localhost:5000/app@${D}`],
    // "localhost:5000" without a slash is a docker.io repository with a tag.
    ['localhost:5000', 'docker.io', 'library/localhost', '5000', null, 'docker.io/library/localhost:5000', 'localhost:5000'],
    ['a_b.c-d__e--f', 'docker.io', 'library/a_b.c-d__e--f', 'latest', null, 'docker.io/library/a_b.c-d__e--f:latest', 'a_b.c-d__e--f:latest'],
    ['app:_under.score-1', 'docker.io', 'library/app', '_under.score-1', null, 'docker.io/library/app:_under.score-1', 'app:_under.score-1'],
    [`app@sha512:${'b'.repeat(128)}`, 'docker.io', 'library/app', null, `sha512:${'b'.repeat(128)}`, `docker.io/library/app@sha512:${'b'.repeat(128)}`, `app@sha512:${'b'.repeat(128)}`],
  ])('%s', (input, registry, repository, tag, digest, canonical, familiar) => {
    const ref = parseReference(input);
    expect({ registry: ref.registry, repository: ref.repository, tag: ref.tag, digest: ref.digest }).toEqual({ registry, repository, tag, digest });
    expect(ref.canonical()).toBe(canonical);
    expect(ref.familiar()).toBe(familiar);
    // Normalising is idempotent.
    expect(parseReference(ref.canonical()).canonical()).toBe(canonical);
    expect(parseReference(ref.familiar()).canonical()).toBe(canonical);
  });

  test('name() and familiarName() leave out tag and digest', () => {
    const ref = parseReference(`localhost:5000/ns/app:1@${D}`);
    expect(ref.name()).toBe('localhost:5000/ns/app');
    expect(ref.familiarName()).toBe('localhost:5000/ns/app');
    expect(parseReference('busybox:1').familiarName()).toBe('busybox');
    expect(parseReference('user/app:1').familiarName()).toBe('user/app');
  });
});

describe('invalid references throw TSB_REF_INVALID naming the input', () => {
  test.each([
    ['', 'empty'],
    [':tag', 'empty'],
    ['Busybox', 'uppercase'],
    ['user/App', 'uppercase'],
    ['localhost:5000/App:1', 'uppercase'],
    ['app:', 'tag'],
    ['app:-dash', 'tag'],
    ['app:.dot', 'tag'],
    [`app:${'t'.repeat(129)}`, 'tag'],
    ['app:a+b', 'tag'],
    ['app@sha256:abc', 'digest'],
    [`app@sha256:${'A'.repeat(64)}`, 'digest'],
    [`app@md5:${'a'.repeat(32)}`, 'digest'],
    [`app@sha256:${'a'.repeat(63)}`, 'digest'],
    ['app@', 'digest'],
    ['a'.repeat(64), 'hex-name'],
    ['app/', 'format'],
    ['/app', 'format'],
    ['app//x', 'format'],
    ['-app', 'format'],
    ['app-', 'format'],
    ['a..b', 'format'],
    ['app with space', 'format'],
    ['app:with space', 'tag'],
    ['exa_mple.com:5000/app', 'format'],
    [`x/${'n'.repeat(260)}`, 'name-too-long'],
  ])('%j (%s)', (input, reason) => {
    let caught: unknown;
    try {
      parseReference(input);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidReferenceError);
    const err = caught as InvalidReferenceError;
    expect(err.code).toBe('TSB_REF_INVALID');
    expect(err.reason).toBe(reason);
    expect(err.input).toBe(input);
    expect(err.message).toContain(JSON.stringify(input));
    expect(tryParseReference(input)).toBeNull();
  });
});
