// pull, push, login, logout, mirrors and the registry configuration through
// bin/tsbuild, against Debian's docker-registry (open, and with htpasswd
// basic auth), with skopeo as the independent check. Every run gets an
// environment with its own HOME, DOCKER_CONFIG and XDG_CONFIG_HOME.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { isolatedEnv, pushBusybox, type SeededBase } from '../helpers/registry-build.js';
import { skopeoInspect } from '../helpers/skopeo.js';

const BIN = new URL('../../bin/tsbuild', import.meta.url).pathname;

let open: RegistryServer;
let secured: RegistryServer;
let work: string;
let base: SeededBase;
let n = 0;

async function dir(prefix: string): Promise<string> {
  return mkdtemp(join(work, `${prefix}${n++}-`));
}

function tsbuild(args: string[], env: NodeJS.ProcessEnv, input = ''): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BIN, args, { env, input, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const short = (d: string): string => d.slice('sha256:'.length, 'sha256:'.length + 12);

beforeAll(async () => {
  open = await startRegistry();
  secured = await startRegistry({ kind: 'htpasswd', users: { alice: 'wonderland' } });
  work = await mkdtemp(join(tmpdir(), 'tsbuild-e2e-reg-'));
  base = await pushBusybox(open.host, 'library/busybox', isolatedEnv(work));
});

afterAll(async () => {
  await open?.stop();
  await secured?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('tsbuild pull', () => {
  test('prints docker-style per-layer progress to stderr and the reference to stdout; again, everything exists', async () => {
    const env = isolatedEnv(await dir('home'));
    const root = await dir('root');
    const r = tsbuild(['--root', root, 'pull', base.ref], env);
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : '');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${base.ref}\n`);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toBe('test: Pulling from library/busybox');
    for (const l of base.layers) {
      expect(lines).toContain(`${short(l)}: Pulling fs layer`);
      expect(lines).toContain(`${short(l)}: Pull complete`);
    }
    expect(lines).toContain(`Digest: ${base.manifestDigest}`);
    expect(lines).toContain(`Status: Downloaded newer image for ${base.ref}`);
    // No cursor movement when stderr is not a terminal.
    expect(r.stderr).not.toContain('\x1b[');

    const images = tsbuild(['--root', root, 'images'], env);
    expect(images.stdout).toMatch(new RegExp(`${open.host.replace('.', '\\.')}/library/busybox\\s+test\\s`));

    const again = tsbuild(['--root', root, 'pull', base.ref], env);
    expect(again.code).toBe(0);
    for (const l of base.layers) expect(again.stderr).toContain(`${short(l)}: Already exists`);
    expect(again.stderr).toContain(`Status: Image is up to date for ${base.ref}`);

    // The pulled image is complete: it exports without a registry.
    const out = join(await dir('out'), 'img.tar');
    const saved = tsbuild(['--root', root, 'save', '-o', out, base.ref], env);
    expect(saved.code).toBe(0);
  });

  test('by digest keeps the image unnamed; an unknown image is TSB_REGISTRY_NOT_FOUND', async () => {
    const env = isolatedEnv(await dir('home'));
    const root = await dir('root');
    const byDigest = `${open.host}/library/busybox@${base.manifestDigest}`;
    const r = tsbuild(['--root', root, 'pull', byDigest], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${byDigest}\n`);
    expect(tsbuild(['--root', root, 'images'], env).stdout).toMatch(/<none>\s+<none>/);
    const missing = tsbuild(['--root', root, 'pull', `${open.host}/library/nothing:1`], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('(TSB_REGISTRY_NOT_FOUND)');
  });
});

describe('tsbuild push', () => {
  test('mounts from another repository of the same registry, then finds every layer there', async () => {
    const env = isolatedEnv(await dir('home'));
    const root = await dir('root');
    expect(tsbuild(['--root', root, 'pull', base.ref], env).code).toBe(0);
    const target = `${open.host}/team/copy:v2`;
    expect(tsbuild(['--root', root, 'tag', base.ref, target], env).code).toBe(0);

    const r = tsbuild(['--root', root, 'push', target], env);
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : '');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`The push refers to repository [${open.host}/team/copy]`);
    for (const l of base.layers) expect(r.stderr).toContain(`${short(l)}: Mounted from library/busybox`);
    expect(r.stderr).toMatch(new RegExp(`^v2: digest: ${base.manifestDigest} size: \\d+$`, 'm'));
    expect((await skopeoInspect(target)).Digest).toBe(base.manifestDigest);

    const again = tsbuild(['--root', root, 'push', target], env);
    expect(again.code).toBe(0);
    for (const l of base.layers) expect(again.stderr).toContain(`${short(l)}: Layer already exists`);

    const unknown = tsbuild(['--root', root, 'push', `${open.host}/team/never:1`], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('(TSB_IMAGE_NOT_FOUND)');
  });
});

describe('tsbuild login / logout', () => {
  test('stores verified credentials in docker config.json, which push and pull then use; logout removes them', async () => {
    const home = await dir('home');
    const env = isolatedEnv(home);
    const root = await dir('root');
    const configFile = join(home, 'docker', 'config.json');
    const server = secured.host;

    const wrong = tsbuild(['login', '-u', 'alice', '--password-stdin', server], env, 'nope\n');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('(TSB_REGISTRY_UNAUTHORIZED)');
    await expect(readFile(configFile, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });

    const anonymous = tsbuild(['--root', root, 'pull', `${server}/private/app:1`], env);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toContain('(TSB_REGISTRY_UNAUTHORIZED)');

    const ok = tsbuild(['login', '-u', 'alice', '--password-stdin', server], env, 'wonderland\n');
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('Login Succeeded\n');
    const config = JSON.parse(await readFile(configFile, 'utf8')) as { auths: Record<string, { auth: string }> };
    expect(Buffer.from(config.auths[server]?.auth ?? '', 'base64').toString()).toBe('alice:wonderland');

    // -p works too, with docker's warning.
    const viaFlag = tsbuild(['login', '-u', 'alice', '-p', 'wonderland', server], env);
    expect(viaFlag.code).toBe(0);
    expect(viaFlag.stderr).toContain('WARNING! Using --password via the CLI is insecure');

    expect(tsbuild(['--root', root, 'pull', base.ref], env).code).toBe(0);
    expect(tsbuild(['--root', root, 'tag', base.ref, `${server}/private/app:1`], env).code).toBe(0);
    const pushed = tsbuild(['--root', root, 'push', `${server}/private/app:1`], env);
    expect(pushed.stderr).toContain('Pushed');
    expect(pushed.code).toBe(0);
    const fresh = await dir('root');
    expect(tsbuild(['--root', fresh, 'pull', `${server}/private/app:1`], env).code).toBe(0);

    const out = tsbuild(['logout', server], env);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(`Removing login credentials for ${server}\n`);
    expect((JSON.parse(await readFile(configFile, 'utf8')) as { auths: Record<string, unknown> }).auths[server]).toBeUndefined();
    const denied = tsbuild(['--root', await dir('root'), 'pull', `${server}/private/app:1`], env);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('(TSB_REGISTRY_UNAUTHORIZED)');
    expect(tsbuild(['logout', server], env).stdout).toBe(`Not logged in to ${server}\n`);
  });

  test('usage errors exit 2', async () => {
    const env = isolatedEnv(await dir('home'));
    expect(tsbuild(['login', secured.host], env).code).toBe(2);
    expect(tsbuild(['login', '-u', 'alice', secured.host], env).code).toBe(2);
    expect(tsbuild(['login', '-u', 'alice', '-p', 'x', '--password-stdin', secured.host], env, 'x').code).toBe(2);
    expect(tsbuild(['logout'], env).code).toBe(2);
  });
});

describe('registry configuration', () => {
  test('TSBUILD_REGISTRY_MIRRORS and the config file redirect docker.io; a bad config file is TSB_CLI_CONFIG', async () => {
    // The mirror serves library/busybox:test, so docker.io itself is never asked.
    const viaEnv = isolatedEnv(await dir('home'), { TSBUILD_REGISTRY_MIRRORS: ` http://${open.host} ` });
    const r = tsbuild(['--root', await dir('root'), 'pull', 'busybox:test'], viaEnv);
    expect(r.stderr).toContain('Status: Downloaded newer image for busybox:test');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('docker.io/library/busybox:test\n');

    const home = await dir('home');
    const configFile = join(home, 'config', 'tsbuild', 'config.json');
    await mkdir(join(home, 'config', 'tsbuild'), { recursive: true });
    await writeFile(configFile, JSON.stringify({ registryMirrors: [open.host], insecureRegistries: ['registry.internal:5000'] }));
    const viaFile = isolatedEnv(home);
    const root = await dir('root');
    const ctx = await dir('ctx');
    await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox:test\nRUN echo mirrored > /m\n');
    const built = tsbuild(['--root', root, 'build', '--progress', 'plain', ctx], viaFile);
    expect(built.stderr).toContain('load metadata for docker.io/library/busybox:test');
    expect(built.code).toBe(0);

    const explicit = join(await dir('cfg'), 'tsbuild.json');
    await writeFile(explicit, '{"registryMirrors": "not-a-list"}');
    const bad = tsbuild(['--root', root, 'pull', 'busybox:test'], { ...viaFile, TSBUILD_CONFIG: explicit });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('(TSB_CLI_CONFIG)');
    const missing = tsbuild(['--root', root, 'pull', 'busybox:test'], { ...viaFile, TSBUILD_CONFIG: join(work, 'nope.json') });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('(TSB_CLI_CONFIG)');
  });

  test('--insecure-registry is a global flag, before or after the command, and listed in help', async () => {
    const env = isolatedEnv(await dir('home'));
    const root = await dir('root');
    expect(tsbuild(['--insecure-registry', open.host, '--root', root, 'pull', base.ref], env).code).toBe(0);
    expect(tsbuild(['--root', root, 'pull', `--insecure-registry=${open.host}`, base.ref], env).code).toBe(0);
    expect(tsbuild(['--help'], env).stdout).toContain('--insecure-registry host');
    expect(tsbuild(['pull', '--help'], env).stdout).toContain('--insecure-registry host');
  });
});
