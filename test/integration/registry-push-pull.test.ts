// Push and pull against a real registry (Debian's docker-registry, open),
// with skopeo as the independent check in both directions.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { anonymousCredentials, mediaTypes, RegistryClient, type RegistryError } from '../../registry/index.js';
import { startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import {
  blobPath,
  layoutSink,
  layoutSource,
  readLayoutManifest,
  writeOciImage,
  writeOciIndexImage,
  type OciImage,
} from '../helpers/oci-image.js';
import { freePort, startRegistry, type RegistryServer } from '../helpers/registry.js';
import { skopeoCopy, skopeoInspect } from '../helpers/skopeo.js';

const FAST_RETRY = { maxRetries: 3, minDelayMs: 50, maxDelayMs: 200 };

let registry: RegistryServer;
let proxy: FaultProxy;
let client: RegistryClient;
let proxied: RegistryClient;
let work: string;
let dirs = 0;

async function dir(): Promise<string> {
  return join(work, `d${dirs++}`);
}

async function image(label: string, layers = 2): Promise<OciImage> {
  const files = Array.from({ length: layers }, (_, i) => ({ files: { [`layer${i}/${label}.txt`]: `${label} layer ${i}\n`.repeat(20) } }));
  return writeOciImage(await dir(), files, { label });
}

function source(img: OciImage) {
  return layoutSource(img.dir, { mediaType: img.mediaType, bytes: img.bytes });
}

beforeAll(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.url);
  work = await mkdtemp(join(tmpdir(), 'tsbuild-registry-test-'));
  client = new RegistryClient({ credentials: anonymousCredentials, retry: FAST_RETRY });
  proxied = new RegistryClient({ credentials: anonymousCredentials, retry: FAST_RETRY });
});

afterAll(async () => {
  await client?.close();
  await proxied?.close();
  await proxy?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('push', () => {
  test('what tsbuild pushes, skopeo inspects and copies back byte for byte', async () => {
    const img = await image('pushed');
    const result = await client.pushImage(`${registry.host}/push/app:v1`, source(img), { tags: ['extra'] });
    expect(result.digest).toBe(img.digest);
    expect(result.tags).toEqual(['v1', 'extra']);
    expect(result.blobs.map((b) => b.outcome)).toEqual(['uploaded', 'uploaded', 'uploaded']);

    for (const tag of ['v1', 'extra']) {
      const info = await skopeoInspect(`${registry.host}/push/app:${tag}`);
      expect(info.Digest).toBe(img.digest);
      expect(info.Layers).toEqual(img.layers.map((l) => l.digest));
    }
    const out = await dir();
    await skopeoCopy(`docker://${registry.host}/push/app:v1`, `oci:${out}:copied`);
    const copied = await readLayoutManifest(out, 'copied');
    expect(copied.digest).toBe(img.digest);
    expect(copied.bytes.equals(img.bytes)).toBe(true);
    for (const d of [img.config, ...img.layers]) {
      expect((await readFile(blobPath(out, d.digest))).equals(await readFile(blobPath(img.dir, d.digest)))).toBe(true);
    }
  });

  test('chunked PATCH upload with a chunk size, verified by skopeo', async () => {
    const img = await image('chunked', 1);
    proxy.clear();
    const result = await proxied.pushImage(`${proxy.host}/push/chunked:1`, source(img), { chunkSize: 100 });
    expect(result.digest).toBe(img.digest);
    const patches = proxy.requests.filter((r) => r.method === 'PATCH');
    const expected = [img.config, ...img.layers].reduce((n, d) => n + Math.ceil(d.size / 100), 0);
    expect(patches).toHaveLength(expected);
    expect((await skopeoInspect(`${registry.host}/push/chunked:1`)).Digest).toBe(img.digest);
  });

  test('chunked when the registry announces OCI-Chunk-Min-Length or refuses the monolithic PUT', async () => {
    const img = await image('min-chunk', 1);
    proxy.clear();
    proxy.addRule({
      match: (r) => r.method === 'POST' && r.path.includes('/blobs/uploads/'),
      action: { kind: 'add-headers', headers: { 'OCI-Chunk-Min-Length': '64' } },
      times: 10,
    });
    await proxied.pushImage(`${proxy.host}/push/min-chunk:1`, source(img));
    expect(proxy.requests.filter((r) => r.method === 'PATCH').length).toBeGreaterThanOrEqual(2);
    expect((await skopeoInspect(`${registry.host}/push/min-chunk:1`)).Digest).toBe(img.digest);

    const img2 = await image('refused-put', 1);
    proxy.clear();
    proxy.addRule({ match: (r) => r.method === 'PUT' && r.path.includes('/blobs/uploads/'), action: { kind: 'status', status: 405 }, times: 1 });
    await proxied.pushImage(`${proxy.host}/push/refused-put:1`, source(img2));
    expect(proxy.requests.some((r) => r.fault === 'status' && r.status === 405)).toBe(true);
    expect(proxy.requests.filter((r) => r.method === 'PATCH').length).toBeGreaterThanOrEqual(1);
    expect((await skopeoInspect(`${registry.host}/push/refused-put:1`)).Digest).toBe(img2.digest);
  });

  test('re-pushing an unchanged image sends only HEAD requests for blobs', async () => {
    const img = await image('repush', 3);
    await proxied.pushImage(`${proxy.host}/push/repush:1`, source(img));
    proxy.clear();
    const again = await proxied.pushImage(`${proxy.host}/push/repush:1`, source(img));
    expect(again.blobs.every((b) => b.outcome === 'exists')).toBe(true);
    const blobRequests = proxy.requests.filter((r) => r.path.includes('/blobs/'));
    expect(blobRequests).toHaveLength(4);
    expect(blobRequests.every((r) => r.method === 'HEAD')).toBe(true);
    expect(proxy.requests.filter((r) => r.method === 'PUT').map((r) => r.path)).toEqual(['/v2/push/repush/manifests/1']);
  });

  test('cross-repository mount answers 201; a blob the source lacks falls back to upload (202)', async () => {
    const img = await image('mount-src');
    await client.pushImage(`${registry.host}/mount/src:1`, source(img));
    proxy.clear();
    const mounted = await proxied.pushImage(`${proxy.host}/mount/dst:1`, source(img), { mountFrom: 'mount/src' });
    expect(mounted.blobs.map((b) => b.outcome)).toEqual(['mounted', 'mounted', 'mounted']);
    const posts = proxy.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(3);
    expect(posts.every((r) => r.path.includes('mount=sha256') && r.path.includes('from=mount%2Fsrc') && r.status === 201)).toBe(true);
    expect(proxy.requests.some((r) => r.method === 'PATCH' || (r.method === 'PUT' && r.path.includes('/blobs/')))).toBe(false);
    expect((await skopeoInspect(`${registry.host}/mount/dst:1`)).Digest).toBe(img.digest);

    const other = await image('mount-miss', 1);
    proxy.clear();
    const uploaded = await proxied.pushImage(`${proxy.host}/mount/dst:2`, source(other), { mountFrom: 'mount/src' });
    expect(uploaded.blobs.map((b) => b.outcome)).toEqual(['uploaded', 'uploaded']);
    expect(proxy.requests.filter((r) => r.method === 'POST').every((r) => r.status === 202)).toBe(true);
  });

  test('a source blob that does not match its descriptor is TSB_REGISTRY_DIGEST_MISMATCH; no tag is written', async () => {
    const img = await image('corrupt', 1);
    const layer = img.layers[0]!;
    const path = blobPath(img.dir, layer.digest);
    const bytes = await readFile(path);
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
    await writeFile(path, bytes);
    proxy.clear();
    const err = (await proxied.pushImage(`${proxy.host}/push/corrupt:1`, source(img)).catch((e: unknown) => e)) as RegistryError;
    expect(err.code).toBe('TSB_REGISTRY_DIGEST_MISMATCH');
    expect(err.digest).toBe(layer.digest);
    expect(proxy.requests.some((r) => r.path.includes('/manifests/'))).toBe(false);
  });

  test('a tag that is not [A-Za-z0-9_][A-Za-z0-9_.-]* is refused before anything is sent', async () => {
    const img = await image('badtag', 1);
    proxy.clear();
    await expect(proxied.pushImage(`${proxy.host}/push/badtag:1`, source(img), { tags: ['no/slash'] })).rejects.toMatchObject({ code: 'TSB_REF_INVALID' });
    expect(proxy.requests).toHaveLength(0);
  });
});

describe('pull', () => {
  test('tsbuild pulls what skopeo pushed: digest, bytes, manifest last, no temp files', async () => {
    const img = await image('from-skopeo');
    await skopeoCopy(`oci:${img.dir}:latest`, `docker://${registry.host}/skopeo/app:1`);
    const info = await skopeoInspect(`${registry.host}/skopeo/app:1`);
    const sink = await layoutSink(await dir());
    const events: string[] = [];
    const pulled = await client.pullImage(`${registry.host}/skopeo/app:1`, sink, { onProgress: (e) => events.push(`${e.status}`) });
    expect(pulled.manifestDigest).toBe(info.Digest);
    expect(pulled.layers.map((l) => l.digest)).toEqual(info.Layers);
    for (const d of [pulled.config, ...pulled.layers]) {
      expect((await sink.read(d.digest)).equals(await readFile(blobPath(img.dir, d.digest)))).toBe(true);
    }
    expect((await sink.read(pulled.manifestDigest)).equals(pulled.bytes)).toBe(true);
    expect(sink.commits.at(-1)).toBe(pulled.manifestDigest);
    expect(await sink.temps()).toEqual([]);
    expect(events.filter((e) => e === 'downloaded')).toHaveLength(3);

    // Everything is in the sink now: a second pull transfers no blob.
    proxy.clear();
    const again = await proxied.pullImage(`${proxy.host}/skopeo/app:1`, sink);
    expect(again.manifestDigest).toBe(info.Digest);
    expect(proxy.requests.filter((r) => r.path.includes('/blobs/'))).toHaveLength(0);
  });

  test('docker schema2 manifests (skopeo --format v2s2)', async () => {
    const img = await image('v2s2', 1);
    await skopeoCopy(`oci:${img.dir}:latest`, `docker://${registry.host}/skopeo/v2s2:1`, ['--format', 'v2s2']);
    const resolved = await client.resolve(`${registry.host}/skopeo/v2s2:1`);
    expect(resolved.mediaType).toBe(mediaTypes.DOCKER_MANIFEST);
    expect(resolved.digest).toBe((await skopeoInspect(`${registry.host}/skopeo/v2s2:1`)).Digest);
    const sink = await layoutSink(await dir());
    const pulled = await client.pullImage(`${registry.host}/skopeo/v2s2:1`, sink);
    expect(pulled.config.mediaType).toBe(mediaTypes.DOCKER_CONFIG);
    expect((await sink.read(pulled.layers[0]!.digest)).equals(await readFile(blobPath(img.dir, img.layers[0]!.digest)))).toBe(true);
  });

  test('an index is resolved to the requested platform; a missing platform is an error', async () => {
    const idx = await writeOciIndexImage(await dir(), [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64', variant: 'v8' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    ]);
    await skopeoCopy(`oci:${idx.dir}:latest`, `docker://${registry.host}/multi/app:1`, ['--all']);
    const ref = `${registry.host}/multi/app:1`;

    const arm64 = await client.resolve(ref, { platform: 'linux/arm64' });
    expect(arm64.digest).toBe(idx.children[1]!.digest);
    expect(arm64.index?.digest).toBe(idx.digest);
    expect(arm64.index?.bytes.equals(idx.bytes)).toBe(true);
    expect(arm64.platform).toMatchObject({ architecture: 'arm64' });
    expect((await client.resolve(ref, { platform: 'linux/amd64' })).digest).toBe(idx.children[0]!.digest);
    expect((await client.resolve(ref)).digest).toBe(idx.children[0]!.digest); // default: this host, linux/amd64

    const sink = await layoutSink(await dir());
    const pulled = await client.pullImage(ref, sink, { platform: 'linux/arm/v7' });
    expect(pulled.manifestDigest).toBe(idx.children[2]!.digest);
    expect(sink.commits.slice(-2)).toEqual([idx.children[2]!.digest, idx.digest]);

    const err = (await client.resolve(ref, { platform: 'linux/s390x' }).catch((e: unknown) => e)) as RegistryError;
    expect(err.code).toBe('TSB_REGISTRY_NO_MATCHING_PLATFORM');
  });

  test('an unknown tag is TSB_REGISTRY_NOT_FOUND carrying MANIFEST_UNKNOWN', async () => {
    const err = (await client.resolve(`${registry.host}/push/app:nope`).catch((e: unknown) => e)) as RegistryError;
    expect(err.code).toBe('TSB_REGISTRY_NOT_FOUND');
    expect(err.status).toBe(404);
    expect(err.ociErrors.map((e) => e.code)).toContain('MANIFEST_UNKNOWN');
    expect(err.repository).toBe(`${registry.host}/push/app`);
  });

  test('docker.io pulls try the mirrors in order, then the origin', async () => {
    const img = await image('mirrored', 1);
    await client.pushImage(`${registry.host}/library/mirrored:1`, source(img));
    const dead = await freePort();
    const mirrored = new RegistryClient({
      credentials: anonymousCredentials,
      retry: { maxRetries: 1, minDelayMs: 10, maxDelayMs: 10 },
      mirrors: [`http://127.0.0.1:${dead}`, registry.url],
    });
    try {
      const resolved = await mirrored.resolve('mirrored:1');
      expect(resolved.reference).toBe('docker.io/library/mirrored:1');
      expect(resolved.endpoint).toBe(registry.url);
      expect(resolved.digest).toBe(img.digest);
      const sink = await layoutSink(await dir());
      const pulled = await mirrored.pullImage('docker.io/library/mirrored:1', sink);
      expect(pulled.manifestDigest).toBe(img.digest);
    } finally {
      await mirrored.close();
    }
  });
});
