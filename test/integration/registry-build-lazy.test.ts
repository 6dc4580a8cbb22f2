// FROM / COPY --from of registry images in `tsbuild build`, against Debian's
// docker-registry behind a logging proxy: what is fetched (manifest and
// config up front, a layer only when a step needs the filesystem or the
// export needs its bytes), what a push to the same registry mounts instead,
// and that the local name is recorded like docker pull records it.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { anonymousCredentials } from '../../registry/index.js';
import { completeLocalImage } from '../../src/remote/complete-image.js';
import { RegistrySession } from '../../src/remote/registry-session.js';
import { openStore } from '../../src/store/index.js';
import { isBlobGet, isManifestGet, startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { isolatedEnv, pushBusybox, runCli, type SeededBase } from '../helpers/registry-build.js';
import { skopeoInspect } from '../helpers/skopeo.js';

let registry: RegistryServer;
let proxy: FaultProxy;
let work: string;
let env: NodeJS.ProcessEnv;
let base: SeededBase;
let n = 0;

async function dir(prefix: string): Promise<string> {
  return mkdtemp(join(work, `${prefix}${n++}-`));
}

async function context(dockerfile: string, files: Record<string, string> = {}): Promise<string> {
  const ctx = await dir('ctx');
  await writeFile(join(ctx, 'Dockerfile'), dockerfile);
  for (const [name, text] of Object.entries(files)) await writeFile(join(ctx, name), text);
  return ctx;
}

const blobGets = (): string[] => proxy.requests.filter(isBlobGet).map((r) => r.path.replace(/^.*\/blobs\//, ''));
const manifestGets = (): number => proxy.requests.filter(isManifestGet).length;

beforeAll(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.url);
  work = await mkdtemp(join(tmpdir(), 'tsbuild-regbuild-'));
  env = isolatedEnv(work);
  base = await pushBusybox(proxy.host, 'library/busybox', env);
});

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('FROM a registry image', () => {
  test('pulls manifest and config only; a push to the same registry mounts the layers instead of fetching them', async () => {
    const root = await dir('root');
    const meta = join(await dir('meta'), 'meta.json');
    const ctx = await context(`FROM ${base.ref}\nLABEL built=yes\n`);
    proxy.clear();
    const r = await runCli(['--root', root, 'build', '--progress', 'plain', '-t', `${proxy.host}/team/app:1`, '--push', '--metadata-file', meta, ctx], { env });
    expect(r.stderr).toContain(`load metadata for ${base.ref}`);
    expect(r.code).toBe(0);

    // Only the config came down; no layer did.
    const gets = blobGets();
    expect(gets).toHaveLength(1);
    for (const l of base.layers) expect(gets).not.toContain(l);
    // Each layer was mounted from the base's repository (201), none uploaded.
    const mounts = proxy.requests.filter((q) => q.method === 'POST' && base.layers.some((l) => q.path.includes(`mount=${encodeURIComponent(l)}`)));
    expect(mounts.map((q) => q.status)).toEqual(base.layers.map(() => 201));
    expect(mounts.every((q) => q.path.includes('from=library%2Fbusybox') || q.path.includes('from=library/busybox'))).toBe(true);
    expect(proxy.requests.filter((q) => q.method === 'PUT' && q.path.includes('/blobs/uploads/')).length).toBe(1); // the config

    const digest = (JSON.parse(await readFile(meta, 'utf8')) as Record<string, string>)['containerimage.digest'];
    const pushed = await skopeoInspect(`${registry.host}/team/app:1`);
    expect(pushed.Digest).toBe(digest);
    expect(pushed.Layers).toEqual(base.layers);

    // The base is named locally like docker pull names it, its layers still remote.
    const store = await openStore(root);
    expect((await store.getTag(base.ref))?.target.digest).toBe(base.manifestDigest);
    for (const l of base.layers) expect(await store.hasBlob(l as `sha256:${string}`)).toBe(false);

    // That local name now wins (no manifest GET), and a step that needs the
    // filesystem fetches the layers from the repository it names.
    proxy.clear();
    const again = await runCli(['--root', root, 'build', '--progress', 'plain', '-t', 'later:1', await context(`FROM ${base.ref}\nRUN cat /etc/group > /copy\n`)], { env });
    expect(again.stderr).toBe(again.code === 0 ? again.stderr : '');
    expect(again.code).toBe(0);
    expect(manifestGets()).toBe(0);
    expect(blobGets().sort()).toEqual([...base.layers].sort());
  });

  test('layers left remote come from where the image names point: a push to another registry, and completeLocalImage', async () => {
    const root = await dir('root');
    const name = `${proxy.host}/team/lazy:1`;
    const built = await runCli(['--root', root, 'build', '-t', name, '--push', await context(`FROM ${base.ref}\nENV LAZY=1\n`)], { env });
    expect(built.code).toBe(0);
    const store = await openStore(root);
    const target = (await store.getTag(name))?.target;
    if (target === undefined) throw new Error('no tag');
    for (const l of base.layers) expect(await store.hasBlob(l as `sha256:${string}`)).toBe(false);

    // Another registry cannot mount them: push fetches each from the image's repository first.
    const other = await startRegistry();
    try {
      proxy.clear();
      const elsewhere = `${other.host}/copy/lazy:1`;
      expect((await runCli(['--root', root, 'tag', name, elsewhere], { env })).code).toBe(0);
      const pushed = await runCli(['--root', root, 'push', elsewhere], { env });
      expect(pushed.stderr).toBe(pushed.code === 0 ? pushed.stderr : '');
      expect(pushed.code).toBe(0);
      expect(blobGets().sort()).toEqual([...base.layers].sort());
      expect((await skopeoInspect(elsewhere)).Digest).toBe(target.digest);
    } finally {
      await other.stop();
    }

    // completeLocalImage: what `run` or an export calls first.
    const root2 = await dir('root');
    expect((await runCli(['--root', root2, 'build', '-t', name, '--push', await context(`FROM ${base.ref}\nENV LAZY=1\n`)], { env })).code).toBe(0);
    const store2 = await openStore(root2);
    const session = new RegistrySession({ credentials: anonymousCredentials }, store2);
    try {
      expect(await completeLocalImage(store2, session, { target, names: [name] })).toBe(base.layers.length);
      expect(await completeLocalImage(store2, session, { target, names: [name] })).toBe(0);
    } finally {
      await session.close();
    }
    const saved = await runCli(['--root', root2, 'save', '-o', join(await dir('out'), 'lazy.tar'), name], { env });
    expect(saved.code).toBe(0);
  });

  test('a RUN fetches each base layer once; the next build finds everything local', async () => {
    const root = await dir('root');
    proxy.clear();
    const out = await dir('out');
    const r = await runCli(['--root', root, 'build', '--progress', 'plain', '--output', `type=local,dest=${out}`, await context(`FROM ${base.ref}\nRUN echo hello > /hello\n`)], {
      env,
    });
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : '');
    expect(r.code).toBe(0);
    expect(await readFile(join(out, 'hello'), 'utf8')).toBe('hello\n');
    const gets = blobGets();
    expect(gets.filter((g) => base.layers.includes(g)).sort()).toEqual([...base.layers].sort());
    expect(gets).toHaveLength(base.layers.length + 1);
    expect(r.stderr).toMatch(/pulled [0-9a-f]{12} .* from 127\.0\.0\.1:\d+\/library\/busybox/);

    proxy.clear();
    const second = await runCli(['--root', root, 'build', '--progress', 'plain', await context(`FROM ${base.ref}\nRUN echo other > /other\n`)], { env });
    expect(second.code).toBe(0);
    expect(proxy.requests).toEqual([]);
  });

  test('COPY --from a registry image needs its filesystem, so its layers come down', async () => {
    const root = await dir('root');
    const out = await dir('out');
    proxy.clear();
    const r = await runCli(['--root', root, 'build', '--output', `type=local,dest=${out}`, await context(`FROM scratch\nCOPY --from=${base.ref} /etc/passwd /passwd\n`)], { env });
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : '');
    expect(r.code).toBe(0);
    expect(await readFile(join(out, 'passwd'), 'utf8')).toContain('root:x:0:0');
    expect(blobGets().filter((g) => base.layers.includes(g)).sort()).toEqual([...base.layers].sort());
  });

  test('push=true outputs push every name; the registry holds exactly the built image', async () => {
    const root = await dir('root');
    const meta = join(await dir('meta'), 'meta.json');
    const ctx = await context(`FROM ${base.ref}\nCOPY app.txt /app.txt\n`, { 'app.txt': 'app\n' });
    const r = await runCli(
      ['--root', root, 'build', '--metadata-file', meta, '--output', `type=image,"name=${registry.host}/one/app:a,${registry.host}/two/app:b",push=true`, ctx],
      { env },
    );
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : '');
    expect(r.code).toBe(0);
    const digest = (JSON.parse(await readFile(meta, 'utf8')) as Record<string, string>)['containerimage.digest'];
    for (const ref of [`${registry.host}/one/app:a`, `${registry.host}/two/app:b`]) {
      const info = await skopeoInspect(ref);
      expect(info.Digest).toBe(digest);
      expect(info.Layers.slice(0, base.layers.length)).toEqual(base.layers);
    }
  });

  test('an image the registry does not have is TSB_REGISTRY_NOT_FOUND; --push without a name is a usage error before any work', async () => {
    const root = await dir('root');
    const missing = await runCli(['--root', root, 'build', await context(`FROM ${registry.host}/nope/missing:1\n`)], { env });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('(TSB_REGISTRY_NOT_FOUND)');
    proxy.clear();
    const noName = await runCli(['--root', root, 'build', '--push', await context(`FROM ${base.ref}\n`)], { env });
    expect(noName.code).toBe(2);
    expect(noName.stderr).toContain('(TSB_CLI_USAGE)');
    expect(proxy.requests).toEqual([]);
  });
});
