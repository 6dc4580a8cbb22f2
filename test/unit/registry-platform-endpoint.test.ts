import { describe, expect, test } from 'vitest';
import { isInsecureHost, mirrorOrigin, pullEndpoints, registryOrigin } from '../../registry/endpoint.js';
import type { Descriptor } from '../../registry/manifest.js';
import { formatPlatform, hostPlatform, parsePlatform, selectPlatformManifest } from '../../registry/platform.js';

describe('platforms', () => {
  test('parse and normalise', () => {
    expect(parsePlatform('linux/amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux/arm64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform('linux/aarch64')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform('LINUX/ARM/v6')).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(parsePlatform('amd64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(() => parsePlatform('a/b/c/d')).toThrow(TypeError);
    expect(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' })).toBe('linux/arm/v7');
    expect(hostPlatform().os).toBe(process.platform);
  });

  const d = (digest: string, platform?: Descriptor['platform']): Descriptor => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${digest.padEnd(64, '0')}`,
    size: 1,
    ...(platform ? { platform } : {}),
  });
  const index = [
    d('a', { os: 'unknown', architecture: 'unknown' }),
    d('b', { os: 'linux', architecture: 'amd64' }),
    d('c', { os: 'linux', architecture: 'arm64', variant: 'v8' }),
    d('e', { os: 'linux', architecture: 'arm', variant: 'v6' }),
    d('f', { os: 'linux', architecture: 'arm', variant: 'v7' }),
    d('g'),
  ];

  test.each([
    ['linux/amd64', 'b'],
    ['linux/arm64', 'c'],
    ['linux/arm64/v8', 'c'],
    ['linux/arm', 'f'],
    ['linux/arm/v6', 'e'],
    ['linux/s390x', null],
    ['windows/amd64', null],
  ])('%s', (want, digest) => {
    const chosen = selectPlatformManifest(index, parsePlatform(want));
    expect(chosen?.digest.slice(7, 8) ?? null).toBe(digest);
  });

  test('an arm64 entry without a variant matches arm64/v8', () => {
    expect(selectPlatformManifest([d('x', { os: 'linux', architecture: 'arm64' })], parsePlatform('linux/arm64'))?.digest.slice(7, 8)).toBe('x');
  });
});

describe('endpoints', () => {
  test('plain HTTP only for loopback and listed hosts', () => {
    expect(registryOrigin('localhost:5000')).toBe('http://localhost:5000');
    expect(registryOrigin('localhost')).toBe('http://localhost');
    expect(registryOrigin('127.0.0.1:5000')).toBe('http://127.0.0.1:5000');
    expect(registryOrigin('127.1.2.3')).toBe('http://127.1.2.3');
    expect(registryOrigin('[::1]:5000')).toBe('http://[::1]:5000');
    expect(registryOrigin('128.0.0.1:5000')).toBe('https://128.0.0.1:5000');
    expect(registryOrigin('localhost.example.com')).toBe('https://localhost.example.com');
    expect(registryOrigin('ghcr.io')).toBe('https://ghcr.io');
    expect(registryOrigin('docker.io')).toBe('https://registry-1.docker.io');
    expect(registryOrigin('reg.lan:5000', ['reg.lan:5000'])).toBe('http://reg.lan:5000');
    expect(registryOrigin('reg.lan:5000', ['reg.lan'])).toBe('http://reg.lan:5000');
    expect(isInsecureHost('reg.lan:5001', ['reg.lan:5000'])).toBe(false);
  });

  test('mirrors apply to docker.io only, in order, then the origin', () => {
    const mirrors = ['https://mirror.example/', 'mirror2.example:5000', '127.0.0.1:5000'];
    expect(pullEndpoints('docker.io', { mirrors }).map((e) => [e.origin, e.mirror, e.credentialHost])).toEqual([
      ['https://mirror.example', true, 'mirror.example'],
      ['https://mirror2.example:5000', true, 'mirror2.example:5000'],
      ['http://127.0.0.1:5000', true, '127.0.0.1:5000'],
      ['https://registry-1.docker.io', false, 'docker.io'],
    ]);
    expect(pullEndpoints('ghcr.io', { mirrors }).map((e) => e.origin)).toEqual(['https://ghcr.io']);
    expect(mirrorOrigin('http://m.example:80/path')).toBe('http://m.example:80');
  });
});
