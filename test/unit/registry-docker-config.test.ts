import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dockerConfigCredentials, staticCredentials } from '../../registry/credentials.js';
import { credentialKey, dockerConfigPath, findAuthEntry, normalizeServer } from '../../registry/docker-config.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tsbuild-dockercfg-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('docker config.json', () => {
  test('location: $DOCKER_CONFIG, else ~/.docker', () => {
    expect(dockerConfigPath({ DOCKER_CONFIG: '/etc/dc', HOME: '/home/u' })).toBe('/etc/dc/config.json');
    expect(dockerConfigPath({ HOME: '/home/u' })).toBe('/home/u/.docker/config.json');
  });

  test('server names normalise like docker', () => {
    expect(normalizeServer('https://index.docker.io/v1/')).toBe('docker.io');
    expect(normalizeServer('registry-1.docker.io')).toBe('docker.io');
    expect(normalizeServer('http://127.0.0.1:5000/')).toBe('127.0.0.1:5000');
    expect(normalizeServer('GHCR.io')).toBe('ghcr.io');
    expect(credentialKey('docker.io')).toBe('https://index.docker.io/v1/');
    expect(credentialKey('ghcr.io')).toBe('ghcr.io');
  });

  test('auths keys match with or without scheme and path', () => {
    const config = { auths: { 'https://index.docker.io/v1/': { auth: 'a' }, 'https://ghcr.io': { auth: 'b' }, 'localhost:5000': { auth: 'c' } } };
    expect(findAuthEntry(config, 'docker.io')?.entry.auth).toBe('a');
    expect(findAuthEntry(config, 'ghcr.io')?.entry.auth).toBe('b');
    expect(findAuthEntry(config, 'localhost:5000')?.entry.auth).toBe('c');
    expect(findAuthEntry(config, 'localhost:5001')).toBeUndefined();
  });

  test('credentials from auths: basic, identitytoken, registrytoken, username/password', async () => {
    const path = join(dir, 'config.json');
    await writeFile(
      path,
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: b64('hub:pw:with:colons') },
          'id.example': { auth: b64('u:'), identitytoken: 'refresh' },
          'tok.example': { registrytoken: 'bearer-token' },
          'split.example': { username: 's', password: 'p' },
          'empty.example': {},
        },
      }),
    );
    const creds = dockerConfigCredentials({ configPath: path });
    expect(await creds('docker.io')).toEqual({ kind: 'basic', username: 'hub', password: 'pw:with:colons' });
    expect(await creds('id.example')).toEqual({ kind: 'identity-token', username: 'u', token: 'refresh' });
    expect(await creds('tok.example')).toEqual({ kind: 'registry-token', token: 'bearer-token' });
    expect(await creds('split.example')).toEqual({ kind: 'basic', username: 's', password: 'p' });
    expect(await creds('empty.example')).toBeNull();
    expect(await creds('nowhere.example')).toBeNull();
  });

  test('a missing file is anonymous; a broken one is TSB_REGISTRY_CREDENTIALS', async () => {
    expect(await dockerConfigCredentials({ configPath: join(dir, 'absent.json') })('docker.io')).toBeNull();
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '{ not json');
    await expect(dockerConfigCredentials({ configPath: broken })('docker.io')).rejects.toMatchObject({ code: 'TSB_REGISTRY_CREDENTIALS' });
  });

  test('staticCredentials normalises the server names', async () => {
    const creds = staticCredentials({ 'https://index.docker.io/v1/': { username: 'a', password: 'b' } });
    expect(await creds('docker.io')).toEqual({ kind: 'basic', username: 'a', password: 'b' });
  });
});
