// The pure parts of the registry side of the build: registry options from
// environment, config file and flags; --cache-to / --cache-from parsing;
// the cache document (deterministic, validated on the way in); --push on
// outputs; docker-style transfer progress lines.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import type { CacheKey } from '../../executor/index.js';
import type { LayerRef } from '../../executor/types.js';
import { CACHE_CONFIG_MEDIA_TYPE, decodeCache, encodeCache, cacheConfigDescriptor } from '../../src/build-cache/cache-document.js';
import { parseCacheFrom, parseCacheTo } from '../../src/build-cache/cache-spec.js';
import { applyPush, checkPushNames } from '../../src/commands/build-remote.js';
import { configPath, resolveRegistryOptions } from '../../src/remote/registry-options.js';
import { TransferRenderer } from '../../src/render/transfer-progress.js';

function home(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-cfg-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return (err as { code?: string }).code;
  }
  return undefined;
}

describe('resolveRegistryOptions', () => {
  test('config file locations: $TSBUILD_CONFIG, then $XDG_CONFIG_HOME, then ~/.config', () => {
    expect(configPath({ TSBUILD_CONFIG: '/x/c.json', XDG_CONFIG_HOME: '/xdg', HOME: '/h' })).toEqual({ path: '/x/c.json', required: true });
    expect(configPath({ XDG_CONFIG_HOME: '/xdg', HOME: '/h' })).toEqual({ path: '/xdg/tsbuild/config.json', required: false });
    expect(configPath({ HOME: '/h' })).toEqual({ path: '/h/.config/tsbuild/config.json', required: false });
  });

  test('no file is no configuration; the file gives mirrors and insecure hosts; env mirrors replace the file; flags add hosts', () => {
    const h = home();
    expect(resolveRegistryOptions({}, { HOME: h })).toMatchObject({ mirrors: [], insecure: [] });
    mkdirSync(join(h, '.config', 'tsbuild'), { recursive: true });
    writeFileSync(join(h, '.config', 'tsbuild', 'config.json'), JSON.stringify({ registryMirrors: ['mirror.a:5000'], insecureRegistries: ['reg.b'], other: 1 }));
    expect(resolveRegistryOptions({}, { HOME: h })).toMatchObject({ mirrors: ['mirror.a:5000'], insecure: ['reg.b'] });
    expect(resolveRegistryOptions({ 'insecure-registry': ['reg.c:80', 'reg.b'] }, { HOME: h, TSBUILD_REGISTRY_MIRRORS: ' https://m1 ,m2,,' })).toMatchObject({
      mirrors: ['https://m1', 'm2'],
      insecure: ['reg.b', 'reg.c:80'],
    });
    expect(resolveRegistryOptions({}, { HOME: h, TSBUILD_REGISTRY_MIRRORS: '' })).toMatchObject({ mirrors: [] });
  });

  test('a malformed or missing explicit config file is TSB_CLI_CONFIG', () => {
    const h = home();
    const file = join(h, 'c.json');
    for (const text of ['{', '[]', '{"registryMirrors": "m"}', '{"insecureRegistries": [1]}', '{"registryMirrors": [""]}']) {
      writeFileSync(file, text);
      expect(codeOf(() => resolveRegistryOptions({}, { TSBUILD_CONFIG: file })), text).toBe('TSB_CLI_CONFIG');
    }
    expect(codeOf(() => resolveRegistryOptions({}, { TSBUILD_CONFIG: join(h, 'missing.json') }))).toBe('TSB_CLI_CONFIG');
  });
});

describe('cache specs', () => {
  test.each([
    ['type=registry,ref=reg:5000/app:cache', { type: 'registry', mode: 'min', ignoreError: false, ref: 'reg:5000/app:cache' }],
    ['type=registry,ref=app:cache,mode=max,ignore-error=true,image-manifest=true,oci-mediatypes=true', { type: 'registry', mode: 'max', ignoreError: true, ref: 'docker.io/library/app:cache' }],
    ['type=local,dest=out', { type: 'local', dest: '/ctx/out', tag: 'latest', mode: 'min', ignoreError: false }],
    ['type=local,dest=/abs,tag=v1,mode=max', { type: 'local', dest: '/abs', tag: 'v1', mode: 'max', ignoreError: false }],
  ])('--cache-to %s', (spec, expected) => {
    const parsed = parseCacheTo(spec, '/ctx');
    expect({ ...parsed, ...('ref' in parsed ? { ref: parsed.ref.canonical() } : {}) }).toEqual(expected);
  });

  test.each([
    ['type=registry,ref=reg:5000/app:cache', { type: 'registry', ref: 'reg:5000/app:cache' }],
    ['reg:5000/app:cache', { type: 'registry', ref: 'reg:5000/app:cache' }],
    [`reg:5000/app@sha256:${'a'.repeat(64)}`, { type: 'registry', ref: `reg:5000/app@sha256:${'a'.repeat(64)}` }],
    ['type=local,src=in', { type: 'local', src: '/ctx/in', tag: null, digest: null }],
    [`type=local,src=in,tag=v1,digest=sha256:${'b'.repeat(64)}`, { type: 'local', src: '/ctx/in', tag: 'v1', digest: `sha256:${'b'.repeat(64)}` }],
  ])('--cache-from %s', (spec, expected) => {
    const parsed = parseCacheFrom(spec, '/ctx');
    expect({ ...parsed, ...('ref' in parsed ? { ref: parsed.ref.canonical() } : {}) }).toEqual(expected);
  });

  test.each([
    ['to', 'type=registry'],
    ['to', 'type=registry,ref=Bad Ref'],
    ['to', `type=registry,ref=app@sha256:${'a'.repeat(64)}`],
    ['to', 'type=registry,ref=a,mode=all'],
    ['to', 'type=registry,ref=a,image-manifest=false'],
    ['to', 'type=registry,ref=a,dest=x'],
    ['to', 'type=local'],
    ['to', 'type=local,dest=x,tag=:bad'],
    ['to', 'type=inline'],
    ['to', 'ref=a'],
    ['to', 'type=registry,ref=a,ref=b'],
    ['from', 'type=local'],
    ['from', 'type=local,src=x,digest=sha256:short'],
    ['from', 'type=registry,ref=a,mode=max'],
    ['from', 'type=s3,bucket=x'],
  ])('--cache-%s %s is a usage error', (which, spec) => {
    expect(codeOf(() => (which === 'to' ? parseCacheTo(spec) : parseCacheFrom(spec)))).toBe('TSB_CLI_USAGE');
  });
});

const d = (c: string): `sha256:${string}` => `sha256:${c.repeat(64)}`;
const layer = (c: string, docker = false): LayerRef => ({
  digest: d(c),
  diffID: d(c.toUpperCase() === c ? c.toLowerCase() : String.fromCharCode(c.charCodeAt(0) + 1)),
  size: 10,
  mediaType: docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip',
});
const key = (c: string): CacheKey => c.repeat(64) as CacheKey;

describe('cache document', () => {
  const records = [
    { key: key('2'), layers: [layer('a', true), layer('c')], added: layer('c') },
    { key: key('1'), layers: [layer('a', true)], added: null },
    { key: key('2'), layers: [layer('a', true), layer('c')], added: layer('c') },
  ];

  test('is deterministic whatever the record order; layers once, OCI media types in the manifest', () => {
    const one = encodeCache(records);
    const two = encodeCache([...records].reverse());
    expect(two.manifest.digest).toBe(one.manifest.digest);
    const manifest = JSON.parse(one.manifest.bytes.toString()) as { config: { mediaType: string }; layers: { digest: string; mediaType: string }[] };
    expect(manifest.config.mediaType).toBe(CACHE_CONFIG_MEDIA_TYPE);
    expect(manifest.layers.map((l) => l.digest)).toEqual([d('a'), d('c')]);
    expect(manifest.layers[0]?.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
  });

  test('round-trips; records naming blobs the manifest lacks, or malformed ones, are dropped', () => {
    const enc = encodeCache(records);
    const manifest = JSON.parse(enc.manifest.bytes.toString()) as { layers: { digest: string }[] };
    expect(cacheConfigDescriptor(manifest, 'x').digest).toBe(enc.config.digest);
    const back = decodeCache(enc.config.bytes, manifest.layers, 'x');
    expect([...back.keys()].sort()).toEqual([key('1'), key('2')]);
    expect(back.get(key('2'))).toEqual(records[0]);
    const partial = decodeCache(enc.config.bytes, [{ digest: d('a') }], 'x');
    expect([...partial.keys()]).toEqual([key('1')]);
    const doc = JSON.parse(enc.config.bytes.toString()) as { records: unknown[] };
    doc.records.push({ key: 'short', layers: [], added: null }, { key: key('3'), layers: [{ digest: 'nope' }], added: null });
    expect(decodeCache(Buffer.from(JSON.stringify(doc)), manifest.layers, 'x').size).toBe(2);
  });

  test('another key version, another schema, or not a cache manifest is TSB_CACHE_INVALID', () => {
    const enc = encodeCache(records);
    const doc = JSON.parse(enc.config.bytes.toString()) as Record<string, unknown>;
    expect(codeOf(() => decodeCache(Buffer.from(JSON.stringify({ ...doc, cacheKeyVersion: 'tsbuild/cache/v0' })), [], 'x'))).toBe('TSB_CACHE_INVALID');
    expect(codeOf(() => decodeCache(Buffer.from(JSON.stringify({ ...doc, schema: 'other' })), [], 'x'))).toBe('TSB_CACHE_INVALID');
    expect(codeOf(() => decodeCache(Buffer.from('not json'), [], 'x'))).toBe('TSB_CACHE_INVALID');
    const imageManifest = { schemaVersion: 2, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('f'), size: 2 }, layers: [] };
    expect(codeOf(() => cacheConfigDescriptor(imageManifest, 'x'))).toBe('TSB_CACHE_INVALID');
  });
});

describe('--push', () => {
  test('sets push on image outputs, or adds one; a push needs a name', () => {
    expect(applyPush([], true)).toEqual([{ type: 'image', names: [], push: true }]);
    expect(applyPush([{ type: 'image', names: ['a'], push: false }], true)).toEqual([{ type: 'image', names: ['a'], push: true }]);
    expect(applyPush([{ type: 'local', dest: '/x' }], true)).toEqual([{ type: 'local', dest: '/x' }, { type: 'image', names: [], push: true }]);
    expect(applyPush([{ type: 'local', dest: '/x' }], false)).toEqual([{ type: 'local', dest: '/x' }]);
    expect(codeOf(() => checkPushNames([{ type: 'image', names: [], push: true }], []))).toBe('TSB_CLI_USAGE');
    expect(codeOf(() => checkPushNames([{ type: 'image', names: [], push: true }], ['docker.io/library/a:1']))).toBeUndefined();
    expect(codeOf(() => checkPushNames([{ type: 'image', names: ['docker.io/library/a:1'], push: true }], []))).toBeUndefined();
  });
});

describe('TransferRenderer', () => {
  const A = d('a');
  const B = d('b');

  test('plain: one line per state change, no bars, no cursor movement', () => {
    let out = '';
    const r = new TransferRenderer((t) => void (out += t), false, 'pull');
    r.print('1: Pulling from app');
    r.layers([{ digest: A }, { digest: B }]);
    r.update({ digest: A, current: 1, total: 10, status: 'downloading' });
    r.update({ digest: A, current: 5, total: 10, status: 'downloading' });
    r.update({ digest: A, current: 10, total: 10, status: 'downloaded' });
    r.update({ digest: B, current: 10, total: 10, status: 'exists' });
    r.update({ digest: d('c'), current: 10, total: 10, status: 'downloaded' }); // not a layer: no line
    r.print('Digest: x');
    expect(out).toBe(
      ['1: Pulling from app', 'aaaaaaaaaaaa: Pulling fs layer', 'bbbbbbbbbbbb: Pulling fs layer', 'aaaaaaaaaaaa: Downloading', 'aaaaaaaaaaaa: Pull complete', 'bbbbbbbbbbbb: Already exists', 'Digest: x', ''].join('\n'),
    );
  });

  test('tty: the layer lines are redrawn in place with a bar', () => {
    let out = '';
    const r = new TransferRenderer((t) => void (out += t), true, 'push');
    r.layers([{ digest: A }]);
    r.update({ digest: A, current: 10, total: 10, status: 'mounted' }, 'library/base');
    r.done();
    expect(out).toContain('\x1b[1A');
    expect(out).toContain('aaaaaaaaaaaa: Mounted from library/base');
  });
});
