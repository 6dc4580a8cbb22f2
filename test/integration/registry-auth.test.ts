// Authentication against real registries: docker-registry with htpasswd
// (Basic) and with token auth (a token issuer in the test signs RS256 JWTs
// the registry trusts), plus docker's config.json, credential helpers,
// login/logout, and the rule that credentials never follow a redirect to
// another host.
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  anonymousCredentials,
  dockerConfigCredentials,
  login,
  logout,
  RegistryClient,
  staticCredentials,
  type RegistryError,
} from '../../registry/index.js';
import { isBlobGet, startFaultProxy } from '../helpers/fault-proxy.js';
import { blobPath, layoutSink, layoutSource, writeOciImage, type OciImage } from '../helpers/oci-image.js';
import { startRegistry, startTokenRegistry, type RegistryServer, type TokenRegistry } from '../helpers/registry.js';
import { skopeo } from '../helpers/skopeo.js';
import { startStaticRegistry } from '../helpers/static-registry.js';

const FAST_RETRY = { maxRetries: 2, minDelayMs: 20, maxDelayMs: 100 };
const ALICE = { username: 'alice', password: 'wonderland' };
const BOB = { username: 'bob', password: 'builder' };

let basic: RegistryServer;
let token: TokenRegistry;
let work: string;
let dirs = 0;
let img: OciImage;
const clients: RegistryClient[] = [];

const dir = (): string => join(work, `d${dirs++}`);

function newClient(opts: ConstructorParameters<typeof RegistryClient>[0]): RegistryClient {
  const c = new RegistryClient({ retry: FAST_RETRY, ...opts });
  clients.push(c);
  return c;
}

const source = (i: OciImage) => layoutSource(i.dir, { mediaType: i.mediaType, bytes: i.bytes });

async function failure(p: Promise<unknown>): Promise<RegistryError> {
  return (await p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e,
  )) as RegistryError;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tsbuild-registry-auth-'));
  [basic, token] = await Promise.all([
    startRegistry({ kind: 'htpasswd', users: { [ALICE.username]: ALICE.password } }),
    startTokenRegistry({ users: { [BOB.username]: BOB.password } }),
  ]);
  img = await writeOciImage(dir(), [{ files: { 'secret.txt': 'behind auth\n'.repeat(50) } }, { files: { 'b.txt': 'b' } }]);
  await newClient({ credentials: staticCredentials({ [basic.host]: ALICE }) }).pushImage(`${basic.host}/auth/app:1`, source(img));
  await newClient({ credentials: staticCredentials({ [token.registry.host]: BOB }) }).pushImage(`${token.registry.host}/tok/app:1`, source(img));
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await basic?.stop();
  await token?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('basic auth (htpasswd)', () => {
  test('the right password pushes and pulls; skopeo sees the result', async () => {
    const c = newClient({ credentials: staticCredentials({ [basic.host]: ALICE }) });
    const pulled = await c.pullImage(`${basic.host}/auth/app:1`, await layoutSink(dir()));
    expect(pulled.manifestDigest).toBe(img.digest);
    const info = JSON.parse(await skopeo(['inspect', '--tls-verify=false', '--creds', 'alice:wonderland', `docker://${basic.host}/auth/app:1`])) as { Digest: string };
    expect(info.Digest).toBe(img.digest);
  });

  test('a wrong password is TSB_REGISTRY_UNAUTHORIZED (pull and push)', async () => {
    const c = newClient({ credentials: staticCredentials({ [basic.host]: { username: 'alice', password: 'wrong' } }) });
    const pull = await failure(c.resolve(`${basic.host}/auth/app:1`));
    expect(pull.code).toBe('TSB_REGISTRY_UNAUTHORIZED');
    expect(pull.status).toBe(401);
    expect(pull.ociErrors.map((e) => e.code)).toContain('UNAUTHORIZED');
    const push = await failure(c.pushImage(`${basic.host}/auth/other:1`, source(img)));
    expect(push.code).toBe('TSB_REGISTRY_UNAUTHORIZED');
  });

  test('no credentials at all is TSB_REGISTRY_UNAUTHORIZED', async () => {
    const err = await failure(newClient({ credentials: anonymousCredentials }).resolve(`${basic.host}/auth/app:1`));
    expect(err.code).toBe('TSB_REGISTRY_UNAUTHORIZED');
  });
});

describe('token auth', () => {
  test('push, pull and re-push with one token; the scope asks for pull,push', async () => {
    token.issuer.requests.length = 0;
    const c = newClient({ credentials: staticCredentials({ [token.registry.host]: BOB }) });
    const ref = `${token.registry.host}/tok/app:1`;
    const pushed = await c.pushImage(ref, source(img), { tags: ['2'] });
    expect(pushed.digest).toBe(img.digest);
    const pulled = await c.pullImage(ref, await layoutSink(dir()));
    expect(pulled.manifestDigest).toBe(img.digest);
    const again = await c.pushImage(ref, source(img));
    expect(again.blobs.every((b) => b.outcome === 'exists')).toBe(true);

    expect(token.issuer.requests).toHaveLength(1);
    expect(token.issuer.requests[0]).toMatchObject({ user: 'bob', service: token.issuer.service, scopes: ['repository:tok/app:pull,push'], status: 200 });
    const info = JSON.parse(await skopeo(['inspect', '--tls-verify=false', '--creds', 'bob:builder', `docker://${ref}`])) as { Digest: string };
    expect(info.Digest).toBe(img.digest);
  });

  test('a cross-repository mount asks for pull on the source repository in the same token', async () => {
    const c = newClient({ credentials: staticCredentials({ [token.registry.host]: BOB }) });
    await c.pushImage(`${token.registry.host}/tok/mount-src:1`, source(img));
    token.issuer.requests.length = 0;
    const pushed = await c.pushImage(`${token.registry.host}/tok/mounted:1`, source(img), { mountFrom: 'tok/mount-src' });
    expect(pushed.blobs.every((b) => b.outcome === 'mounted')).toBe(true);
    expect(token.issuer.requests.map((r) => [...r.scopes].sort())).toEqual([['repository:tok/mount-src:pull', 'repository:tok/mounted:pull,push']]);
  });

  test('a pull needs one token per repository, reused until expires_in runs out', async () => {
    let now = Date.now();
    const c = newClient({ credentials: staticCredentials({ [token.registry.host]: BOB }), now: () => now });
    await c.pushImage(`${token.registry.host}/tok/expiry:1`, source(img));
    token.issuer.requests.length = 0;
    const c2 = newClient({ credentials: staticCredentials({ [token.registry.host]: BOB }), now: () => now });
    await c2.pullImage(`${token.registry.host}/tok/expiry:1`, await layoutSink(dir()));
    await c2.resolve(`${token.registry.host}/tok/expiry:1`);
    expect(token.issuer.requests.map((r) => r.scopes)).toEqual([['repository:tok/expiry:pull']]);
    now += 301_000; // the issuer's expires_in is 300 s
    await c2.resolve(`${token.registry.host}/tok/expiry:1`);
    expect(token.issuer.requests).toHaveLength(2);
  });

  test('a wrong password is refused by the token server: TSB_REGISTRY_UNAUTHORIZED', async () => {
    const c = newClient({ credentials: staticCredentials({ [token.registry.host]: { username: 'bob', password: 'nope' } }) });
    const err = await failure(c.resolve(`${token.registry.host}/tok/app:1`));
    expect(err.code).toBe('TSB_REGISTRY_UNAUTHORIZED');
    expect(token.issuer.requests.at(-1)?.status).toBe(401);
  });

  test('anonymous: the token grants nothing and the registry says 401', async () => {
    const err = await failure(newClient({ credentials: anonymousCredentials }).resolve(`${token.registry.host}/tok/app:1`));
    expect(err.code).toBe('TSB_REGISTRY_UNAUTHORIZED');
  });
});

describe('redirects', () => {
  for (const kind of ['basic', 'token'] as const) {
    test(`Authorization is not forwarded when a blob is redirected to another host (${kind})`, async () => {
      const target = kind === 'basic' ? basic : token.registry;
      const credentials = kind === 'basic' ? staticCredentials({ [target.host]: ALICE }) : staticCredentials({ [target.host]: BOB });
      const repo = `redirect/${kind}`;
      await newClient({ credentials }).pushImage(`${target.host}/${repo}:1`, source(img));
      const blobs: Record<string, Buffer> = {};
      for (const d of [img.config, ...img.layers]) blobs[d.digest] = await readFile(blobPath(img.dir, d.digest));
      const storage = await startStaticRegistry({ blobs }, { host: '127.0.0.2' });
      const proxy = await startFaultProxy(target.url);
      proxy.addRule({
        match: isBlobGet,
        action: {
          kind: 'respond',
          respond: (req, res) => {
            req.resume();
            const digest = (req.url ?? '').split('/blobs/')[1] ?? '';
            res.writeHead(307, { location: `${storage.url}/data/${digest}` }).end();
          },
        },
        times: 100,
      });
      try {
        const c = newClient({ credentials: staticCredentials({ [proxy.host]: kind === 'basic' ? ALICE : BOB }) });
        const pulled = await c.pullImage(`${proxy.host}/${repo}:1`, await layoutSink(dir()));
        expect(pulled.manifestDigest).toBe(img.digest);
        const redirected = proxy.requests.filter((r) => r.fault === 'respond');
        expect(redirected).toHaveLength(3);
        expect(redirected.every((r) => r.authorization?.startsWith(kind === 'basic' ? 'Basic ' : 'Bearer '))).toBe(true);
        expect(storage.requests).toHaveLength(3);
        expect(storage.requests.every((r) => r.headers.authorization === undefined)).toBe(true);
      } finally {
        await proxy.stop();
        await storage.stop();
      }
    });
  }
});

describe("docker's config.json", () => {
  test('login checks the password first, then writes auths atomically; logout removes it', async () => {
    const configPath = join(dir(), 'config.json');
    await mkdir(join(configPath, '..'), { recursive: true });
    await writeFile(configPath, JSON.stringify({ auths: { 'other.example': { auth: 'eDp5' } }, psFormat: 'table' }));

    const wrong = await failure(login(basic.host, 'alice', 'wrong', { configPath }));
    expect(wrong.code).toBe('TSB_REGISTRY_UNAUTHORIZED');
    expect(JSON.parse(await readFile(configPath, 'utf8'))).toEqual({ auths: { 'other.example': { auth: 'eDp5' } }, psFormat: 'table' });

    const result = await login(basic.host, ALICE.username, ALICE.password, { configPath });
    expect(result).toEqual({ registry: basic.host, key: basic.host, configPath });
    const written = JSON.parse(await readFile(configPath, 'utf8')) as { auths: Record<string, { auth: string }>; psFormat: string };
    expect(written.psFormat).toBe('table');
    expect(written.auths['other.example']).toEqual({ auth: 'eDp5' });
    expect(Buffer.from(written.auths[basic.host]!.auth, 'base64').toString()).toBe('alice:wonderland');
    expect((await stat(configPath)).mode & 0o777).toBe(0o600);

    const c = newClient({ credentials: dockerConfigCredentials({ configPath }) });
    expect((await c.resolve(`${basic.host}/auth/app:1`)).digest).toBe(img.digest);

    expect(await logout(basic.host, { configPath })).toBe(true);
    const after = JSON.parse(await readFile(configPath, 'utf8')) as { auths: Record<string, unknown> };
    expect(Object.keys(after.auths)).toEqual(['other.example']);
    expect(await logout(basic.host, { configPath })).toBe(false);
    const anonymous = newClient({ credentials: dockerConfigCredentials({ configPath }) });
    expect((await failure(anonymous.resolve(`${basic.host}/auth/app:1`))).code).toBe('TSB_REGISTRY_UNAUTHORIZED');
  });

  test('login to a token-auth registry verifies through the token server', async () => {
    const configPath = join(dir(), 'config.json');
    expect((await failure(login(`http://${token.registry.host}`, 'bob', 'nope', { configPath }))).code).toBe('TSB_REGISTRY_UNAUTHORIZED');
    await login(`http://${token.registry.host}/`, BOB.username, BOB.password, { configPath });
    const written = JSON.parse(await readFile(configPath, 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Object.keys(written.auths)).toEqual([token.registry.host]);
    const c = newClient({ credentials: dockerConfigCredentials({ configPath }) });
    expect((await c.resolve(`${token.registry.host}/tok/app:1`)).digest).toBe(img.digest);
  });

  test('credHelpers and credsStore run docker-credential-<name> get with the server on stdin', async () => {
    const bin = dir();
    await mkdir(bin, { recursive: true });
    const log = join(bin, 'helper.log');
    const helper = join(bin, 'docker-credential-test');
    await writeFile(
      helper,
      [
        '#!/bin/sh',
        'read -r server',
        'echo "$1 $server" >> "$HELPER_LOG"',
        `if [ "$server" = "${basic.host}" ]; then`,
        '  printf \'{"ServerURL":"%s","Username":"alice","Secret":"wonderland"}\' "$server"',
        'else',
        '  echo "credentials not found in native keychain"',
        '  exit 1',
        'fi',
        '',
      ].join('\n'),
    );
    await chmod(helper, 0o755);
    const env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, HELPER_LOG: log };

    const viaHelpers = join(dir(), 'config.json');
    await mkdir(join(viaHelpers, '..'), { recursive: true });
    await writeFile(viaHelpers, JSON.stringify({ credHelpers: { [basic.host]: 'test' } }));
    const c1 = newClient({ credentials: dockerConfigCredentials({ configPath: viaHelpers, env }) });
    expect((await c1.pullImage(`${basic.host}/auth/app:1`, await layoutSink(dir()))).manifestDigest).toBe(img.digest);

    const viaStore = join(dir(), 'config.json');
    await mkdir(join(viaStore, '..'), { recursive: true });
    await writeFile(viaStore, JSON.stringify({ credsStore: 'test' }));
    const c2 = newClient({ credentials: dockerConfigCredentials({ configPath: viaStore, env }) });
    expect((await c2.resolve(`${basic.host}/auth/app:1`)).digest).toBe(img.digest);
    // A host the helper knows nothing about: "credentials not found" means anonymous.
    expect((await failure(c2.resolve(`${token.registry.host}/tok/app:1`))).code).toBe('TSB_REGISTRY_UNAUTHORIZED');

    const calls = (await readFile(log, 'utf8')).trim().split('\n');
    // Each client asks its helper once per registry, however many requests it makes.
    expect(calls).toEqual([`get ${basic.host}`, `get ${basic.host}`, `get ${token.registry.host}`]);
  });

  test('a credential helper that is not on PATH is TSB_REGISTRY_CREDENTIALS', async () => {
    const configPath = join(dir(), 'config.json');
    await mkdir(join(configPath, '..'), { recursive: true });
    await writeFile(configPath, JSON.stringify({ credsStore: 'does-not-exist' }));
    const c = newClient({ credentials: dockerConfigCredentials({ configPath, env: { PATH: '/nonexistent' } }) });
    expect((await failure(c.resolve(`${basic.host}/auth/app:1`))).code).toBe('TSB_REGISTRY_CREDENTIALS');
  });
});
