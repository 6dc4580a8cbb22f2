// --cache-to / --cache-from through a real registry (and an OCI layout
// directory): a build in root A exports its cache records; a build of the
// same Dockerfile in an empty root B imports them, hits the cache on every
// step and produces the same image digest. Also: the cache is a plain OCI
// image manifest that skopeo reads, mode=min exports only the final
// image's steps, layers of cache hits are fetched lazily, and a missing
// cache is a warning.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openStore } from '../../src/store/index.js';
import { CACHE_CONFIG_MEDIA_TYPE } from '../../src/build-cache/cache-document.js';
import { isBlobGet, startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { isolatedEnv, pushBusybox, runCli, type CliResult, type SeededBase } from '../helpers/registry-build.js';
import { skopeo } from '../helpers/skopeo.js';

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

interface Built extends CliResult {
  digest: string;
  /** Names of the steps that were cache hits, from the json progress events. */
  cached: string[];
  /** Names of every step that started. */
  started: string[];
}

async function build(root: string, ctx: string, flags: string[]): Promise<Built> {
  const meta = join(await dir('meta'), 'meta.json');
  const r = await runCli(['--root', root, 'build', '--progress', 'json', '--metadata-file', meta, ...flags, ctx], { env });
  if (r.code !== 0) throw new Error(`build failed (${r.code}): ${r.stderr}`);
  const events = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { type: string; name?: string; text?: string });
  const digest = (JSON.parse(await readFile(meta, 'utf8')) as Record<string, string>)['containerimage.digest'] as string;
  return {
    ...r,
    digest,
    cached: events.filter((e) => e.type === 'step-cached').map((e) => e.name as string),
    started: events.filter((e) => e.type === 'step-start').map((e) => e.name as string),
  };
}

const APP = { 'app.txt': 'application\n' };
const SINGLE = () => `FROM ${base.ref}\nCOPY app.txt /app/app.txt\nRUN cat /app/app.txt > /app/copy && echo built >> /app/copy\nENV MODE=prod\n`;
const MULTI = () =>
  [
    `FROM ${base.ref} AS builder`,
    'RUN echo compiled > /artifact',
    `FROM ${base.ref}`,
    'COPY --from=builder /artifact /artifact',
    'RUN wc -c /artifact > /size',
    '',
  ].join('\n');

beforeAll(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.url);
  work = await mkdtemp(join(tmpdir(), 'tsbuild-regcache-'));
  env = isolatedEnv(work);
  base = await pushBusybox(proxy.host, 'library/busybox', env);
});

afterAll(async () => {
  await proxy?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('registry cache', () => {
  test('root A exports, empty root B imports: every step is a hit and the image digest is identical', async () => {
    const cacheRef = `${proxy.host}/cache/app:buildcache`;
    const ctx = await context(SINGLE(), APP);
    const a = await build(await dir('rootA'), ctx, ['--cache-to', `type=registry,ref=${cacheRef},mode=max`]);
    expect(a.cached).toEqual([]);
    expect(a.stderr).toContain(`exporting cache to ${cacheRef}`);

    // The cache is a plain OCI image manifest with our config type.
    const raw = JSON.parse(await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/cache/app:buildcache`])) as {
      mediaType: string;
      config: { mediaType: string };
      layers: { digest: string }[];
    };
    expect(raw.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(raw.config.mediaType).toBe(CACHE_CONFIG_MEDIA_TYPE);
    expect(raw.layers.length).toBe(base.layers.length + 2);

    proxy.clear();
    const rootB = await dir('rootB');
    const b = await build(rootB, await context(SINGLE(), APP), ['--cache-from', `type=registry,ref=${cacheRef}`]);
    expect(b.started.filter((s) => !s.includes('FROM'))).toHaveLength(2);
    expect(b.cached).toEqual(b.started.filter((s) => !s.includes('FROM')));
    expect(b.digest).toBe(a.digest);
    // Every blob came down once, nothing twice.
    const gets = proxy.requests.filter(isBlobGet).map((r) => r.path);
    expect(new Set(gets).size).toBe(gets.length);

    // B now holds the records itself: a third build without --cache-from hits too.
    const again = await build(rootB, await context(SINGLE(), APP), []);
    expect(again.cached).toHaveLength(2);
    expect(again.digest).toBe(a.digest);
  });

  test('a cache hit whose filesystem no later step needs is fetched only for the export; cacheonly fetches nothing', async () => {
    const cacheRef = `${proxy.host}/cache/lazy:1`;
    await build(await dir('rootA'), await context(SINGLE(), APP), ['--cache-to', `type=registry,ref=${cacheRef},mode=max`]);
    const rootB = await dir('rootB');
    proxy.clear();
    const b = await build(rootB, await context(SINGLE(), APP), ['--cache-from', cacheRef, '--output', 'type=cacheonly']);
    expect(b.cached).toHaveLength(2);
    // COPY needs the base filesystem (its key covers what it copies onto),
    // so the base layers come down; the COPY and RUN layers never do.
    const fetched = proxy.requests.filter(isBlobGet).map((r) => r.path.replace(/^.*\/blobs\//, ''));
    expect(fetched.filter((d) => base.layers.includes(d)).sort()).toEqual([...base.layers].sort());
    const store = await openStore(rootB);
    const record = JSON.parse(await skopeo(['inspect', '--raw', '--tls-verify=false', `docker://${registry.host}/cache/lazy:1`])) as { layers: { digest: `sha256:${string}` }[] };
    const own = record.layers.map((l) => l.digest).filter((d) => !base.layers.includes(d));
    expect(own).toHaveLength(2);
    for (const d of own) expect(await store.hasBlob(d)).toBe(false);
  });

  test('mode=min exports the final image steps only; mode=max every step', async () => {
    // Reproducible layers (SOURCE_DATE_EPOCH): the builder stage rebuilt in
    // B gives the same layer as in A, so what was copied from it is the same.
    const ctxText = MULTI();
    const minRef = `${proxy.host}/cache/multi:min`;
    const maxRef = `${proxy.host}/cache/multi:max`;
    const sde = ['--build-arg', 'SOURCE_DATE_EPOCH=1700000000'];
    const a = await build(await dir('rootA'), await context(ctxText), [...sde, '--cache-to', `type=registry,ref=${minRef}`, '--cache-to', `type=registry,ref=${maxRef},mode=max`]);
    expect(a.stderr).toMatch(/multi:min \(mode=min\): 2 records/);
    expect(a.stderr).toMatch(/multi:max \(mode=max\): 3 records/);

    const fromMin = await build(await dir('rootB'), await context(ctxText), [...sde, '--cache-from', `type=registry,ref=${minRef}`]);
    // The builder's RUN was not exported, so it runs again; the final stage's steps hit.
    expect(fromMin.cached.some((s) => s.includes('echo compiled'))).toBe(false);
    expect(fromMin.started.some((s) => s.includes('echo compiled'))).toBe(true);
    expect(fromMin.cached.filter((s) => s.includes('COPY /artifact') || s.includes('wc -c'))).toHaveLength(2);
    expect(fromMin.digest).toBe(a.digest);

    const fromMax = await build(await dir('rootC'), await context(ctxText), [...sde, '--cache-from', `type=registry,ref=${maxRef}`]);
    expect(fromMax.cached).toHaveLength(3);
    expect(fromMax.digest).toBe(a.digest);

    // mode=max without SOURCE_DATE_EPOCH: the builder's layer comes from the
    // cache, and files copied from it are named by layer, not by inode, so
    // the COPY hits in another root too.
    const a2 = await build(await dir('rootD'), await context(ctxText), ['--cache-to', `type=registry,ref=${maxRef}-plain,mode=max`]);
    const fromMax2 = await build(await dir('rootE'), await context(ctxText), ['--cache-from', `${maxRef}-plain`]);
    expect(fromMax2.cached).toHaveLength(3);
    expect(fromMax2.digest).toBe(a2.digest);
  });

  test('type=local writes an OCI layout that type=local,src= imports; a missing cache only warns', async () => {
    const layout = join(await dir('layout'), 'cache');
    const a = await build(await dir('rootA'), await context(SINGLE(), APP), ['--cache-to', `type=local,dest=${layout},mode=max`]);
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as { manifests: { annotations: Record<string, string> }[] };
    expect(index.manifests.map((m) => m.annotations['org.opencontainers.image.ref.name'])).toEqual(['latest']);
    // skopeo reads it as an OCI layout (a plain image manifest).
    const raw = JSON.parse(await skopeo(['inspect', '--raw', `oci:${layout}:latest`])) as { config: { mediaType: string } };
    expect(raw.config.mediaType).toBe(CACHE_CONFIG_MEDIA_TYPE);

    const b = await build(await dir('rootB'), await context(SINGLE(), APP), [
      '--cache-from',
      `type=registry,ref=${registry.host}/cache/does-not-exist:1`,
      '--cache-from',
      `type=local,src=${layout}`,
    ]);
    expect(b.stderr).toContain('importing cache from');
    expect(b.stderr).toContain('TSB_REGISTRY_NOT_FOUND');
    expect(b.cached).toHaveLength(2);
    expect(b.digest).toBe(a.digest);
  });

  test('bad cache specs are usage errors', async () => {
    const root = await dir('root');
    const ctx = await context('FROM scratch\n');
    for (const spec of [['--cache-to', 'type=registry'], ['--cache-to', 'type=gha'], ['--cache-to', 'type=local,dest=x,mode=all'], ['--cache-from', 'type=local']]) {
      const r = await runCli(['--root', root, 'build', ...spec, ctx], { env });
      expect(r.code, spec.join(' ')).toBe(2);
      expect(r.stderr).toContain('(TSB_CLI_USAGE)');
    }
  });
});
