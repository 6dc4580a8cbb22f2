// Faults a real registry will not produce on demand: a fault-injecting proxy
// in front of the open docker-registry (dropped connections, 500, 429 with
// Retry-After) and a hostile server on loopback (bytes that do not match
// their digest, oversized manifests).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { anonymousCredentials, RegistryClient, type RegistryError } from '../../registry/index.js';
import { isBlobGet, isBlobUploadPut, isManifestGet, startFaultProxy, type FaultProxy } from '../helpers/fault-proxy.js';
import { OCI_LAYER, OCI_MANIFEST, layoutSink, layoutSource, sha256, writeOciImage, type OciImage } from '../helpers/oci-image.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { skopeoInspect } from '../helpers/skopeo.js';
import { startStaticRegistry } from '../helpers/static-registry.js';

const FAST_RETRY = { maxRetries: 3, minDelayMs: 50, maxDelayMs: 200 };

let registry: RegistryServer;
let proxy: FaultProxy;
let client: RegistryClient;
let work: string;
let dirs = 0;
let big: OciImage;

const dir = (): string => join(work, `d${dirs++}`);

beforeAll(async () => {
  registry = await startRegistry();
  proxy = await startFaultProxy(registry.url);
  work = await mkdtemp(join(tmpdir(), 'tsbuild-registry-faults-'));
  client = new RegistryClient({ credentials: anonymousCredentials, retry: FAST_RETRY });
  // One 2 MiB incompressible layer: big enough to cut in the middle.
  big = await writeOciImage(dir(), [{ randomBytes: 2 << 20 }]);
  await client.pushImage(`${registry.host}/faults/big:1`, layoutSource(big.dir, big));
});

afterAll(async () => {
  await client?.close();
  await proxy?.stop();
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('retries through the fault proxy', () => {
  test('a connection dropped mid-blob resumes with Range and yields the correct blob', async () => {
    proxy.clear();
    const layer = big.layers[0]!;
    proxy.addRule({ match: (r) => isBlobGet(r) && r.path.endsWith(layer.digest), action: { kind: 'drop-response', bytes: 700_000 } });
    const sink = await layoutSink(dir());
    const pulled = await client.pullImage(`${proxy.host}/faults/big:1`, sink);
    expect(pulled.manifestDigest).toBe(big.digest);
    expect(sha256(await sink.read(layer.digest))).toBe(layer.digest);
    const gets = proxy.requests.filter((r) => r.path.endsWith(layer.digest));
    expect(gets).toHaveLength(2);
    expect(gets[0]).toMatchObject({ fault: 'drop-response', range: undefined });
    expect(gets[1]?.range).toMatch(/^bytes=\d+-\d+$/);
    expect(Number(/bytes=(\d+)-/.exec(gets[1]!.range!)![1])).toBeGreaterThan(0);
    expect(gets[1]?.status).toBe(206);
    expect(await sink.temps()).toEqual([]);
  });

  test('a server that ignores Range after a drop: the blob is fetched again from byte 0', async () => {
    const blob = Buffer.alloc(1 << 20, 3);
    const digest = sha256(blob);
    const plain = await startStaticRegistry({ blobs: { [digest]: blob } });
    const front = await startFaultProxy(plain.url);
    front.addRule({ match: isBlobGet, action: { kind: 'drop-response', bytes: 300_000 } });
    try {
      const sink = await layoutSink(dir());
      const got = await client.fetchBlob(`${front.host}/plain:1`, { mediaType: OCI_LAYER, digest, size: blob.length }, sink);
      expect(got.fetched).toBe(true);
      expect((await sink.read(digest)).equals(blob)).toBe(true);
      const gets = front.requests.filter(isBlobGet);
      expect(gets.map((r) => [r.range !== undefined, r.status])).toEqual([
        [false, 200], // dropped after 300 kB
        [true, 200], // Range ignored: undici's RetryHandler refuses to splice a 200 onto a partial body
        [false, 200], // fresh start, fresh temp file
      ]);
      expect(sink.aborts).toBe(1);
      expect(await sink.temps()).toEqual([]);
    } finally {
      await front.stop();
      await plain.stop();
    }
  });

  test('a 500 is retried', async () => {
    proxy.clear();
    proxy.addRule({ match: isManifestGet, action: { kind: 'status', status: 500 } });
    const resolved = await client.resolve(`${proxy.host}/faults/big:1`);
    expect(resolved.digest).toBe(big.digest);
    expect(proxy.requests.filter(isManifestGet).map((r) => r.status)).toEqual([500, 200]);
  });

  test('a 429 is retried after its Retry-After', async () => {
    proxy.clear();
    proxy.addRule({
      match: isManifestGet,
      action: { kind: 'status', status: 429, headers: { 'retry-after': '1' }, body: JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'slow down' }] }) },
    });
    const started = Date.now();
    const resolved = await client.resolve(`${proxy.host}/faults/big:1`);
    expect(resolved.digest).toBe(big.digest);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(proxy.requests.filter(isManifestGet).map((r) => r.status)).toEqual([429, 200]);
  });

  test('5xx that never ends becomes TSB_REGISTRY_SERVER_ERROR after the retries, with the OCI codes', async () => {
    proxy.clear();
    proxy.addRule({ match: isManifestGet, action: { kind: 'status', status: 503 }, times: 100 });
    const err = (await client.resolve(`${proxy.host}/faults/big:1`).catch((e: unknown) => e)) as RegistryError;
    expect(err.code).toBe('TSB_REGISTRY_SERVER_ERROR');
    expect(err.status).toBe(503);
    expect(err.ociErrors[0]?.code).toBe('UNKNOWN');
    expect(proxy.requests.filter(isManifestGet)).toHaveLength(1 + FAST_RETRY.maxRetries);
    proxy.clear();
  });

  test('a connection dropped mid-upload restarts that blob; the tag is written once, after every blob', async () => {
    const img = await writeOciImage(dir(), [{ randomBytes: 1 << 20 }, { files: { 'a.txt': 'a' } }]);
    proxy.clear();
    proxy.addRule({ match: isBlobUploadPut, action: { kind: 'drop-request', bytes: 200_000 } });
    const result = await client.pushImage(`${proxy.host}/faults/upload:1`, layoutSource(img.dir, img));
    expect(result.digest).toBe(img.digest);
    expect(proxy.requests.some((r) => r.fault === 'drop-request')).toBe(true);
    const manifestPuts = proxy.requests.map((r, i) => ({ ...r, i })).filter((r) => r.method === 'PUT' && r.path.includes('/manifests/'));
    expect(manifestPuts).toHaveLength(1);
    const lastBlobRequest = Math.max(...proxy.requests.map((r, i) => (r.path.includes('/blobs/') ? i : -1)));
    expect(manifestPuts[0]!.i).toBeGreaterThan(lastBlobRequest);
    expect((await skopeoInspect(`${registry.host}/faults/upload:1`)).Digest).toBe(img.digest);
  });

  test('a push whose blob upload keeps failing leaves no tag behind', async () => {
    const img = await writeOciImage(dir(), [{ files: { 'b.txt': 'b' } }]);
    proxy.clear();
    proxy.addRule({ match: isBlobUploadPut, action: { kind: 'status', status: 500 }, times: 100 });
    const err = (await client.pushImage(`${proxy.host}/faults/never:1`, layoutSource(img.dir, img)).catch((e: unknown) => e)) as RegistryError;
    expect(err.code).toBe('TSB_REGISTRY_SERVER_ERROR');
    expect(proxy.requests.some((r) => r.path.includes('/manifests/'))).toBe(false);
    proxy.clear();
    const missing = (await client.resolve(`${registry.host}/faults/never:1`).catch((e: unknown) => e)) as RegistryError;
    expect(missing.code).toBe('TSB_REGISTRY_NOT_FOUND');
  });
});

describe('a hostile registry', () => {
  test('a blob whose bytes do not match its digest is TSB_REGISTRY_DIGEST_MISMATCH and nothing is committed', async () => {
    const claimed = Buffer.from('the real layer bytes\n'.repeat(1000));
    const served = Buffer.from(claimed);
    served[5000] = served[5000]! ^ 1; // same length, one bit flipped
    const layer = { mediaType: OCI_LAYER, digest: sha256(claimed), size: claimed.length };
    const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
    const configDesc = { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length };
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDesc, layers: [layer] }));
    const hostile = await startStaticRegistry({
      manifests: { 'evil/manifests/1': { mediaType: OCI_MANIFEST, bytes: manifest } },
      blobs: { [layer.digest]: served, [configDesc.digest]: config },
    });
    try {
      const sink = await layoutSink(dir());
      const err = (await client.fetchBlob(`${hostile.host}/evil:1`, layer, sink).catch((e: unknown) => e)) as RegistryError;
      expect(err.code).toBe('TSB_REGISTRY_DIGEST_MISMATCH');
      expect(err.digest).toBe(layer.digest);
      expect(err.message).toContain(layer.digest);
      expect(sink.commits).toEqual([]);
      expect(await sink.has(layer.digest)).toBe(false);
      expect(await sink.temps()).toEqual([]);

      const sink2 = await layoutSink(dir());
      const pullErr = (await client.pullImage(`${hostile.host}/evil:1`, sink2).catch((e: unknown) => e)) as RegistryError;
      expect(pullErr.code).toBe('TSB_REGISTRY_DIGEST_MISMATCH');
      expect(sink2.commits).not.toContain(layer.digest);
      expect(sink2.commits).not.toContain(sha256(manifest));
      expect(await sink2.temps()).toEqual([]);
    } finally {
      await hostile.stop();
    }
  });

  test('a blob longer than its descriptor is cut off, not stored', async () => {
    const declared = Buffer.from('short');
    const hostile = await startStaticRegistry({ blobs: { [sha256(declared)]: Buffer.alloc(1 << 20, 1) } });
    try {
      const sink = await layoutSink(dir());
      const err = (await client
        .fetchBlob(`${hostile.host}/evil:1`, { mediaType: OCI_LAYER, digest: sha256(declared), size: declared.length }, sink)
        .catch((e: unknown) => e)) as RegistryError;
      expect(err.code).toBe('TSB_REGISTRY_DIGEST_MISMATCH');
      expect(sink.commits).toEqual([]);
    } finally {
      await hostile.stop();
    }
  });

  test('a manifest that does not hash to the digest asked for, or to Docker-Content-Digest, is refused', async () => {
    const real = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'x', digest: sha256('c'), size: 1 }, layers: [] }));
    const other = Buffer.from(real.toString().replace('"x"', '"y"'));
    const hostile = await startStaticRegistry({
      manifests: {
        [`evil/manifests/${sha256(real)}`]: { mediaType: OCI_MANIFEST, bytes: other },
        'evil/manifests/lying': { mediaType: OCI_MANIFEST, bytes: other, digestHeader: sha256(real) },
      },
    });
    try {
      const byDigest = (await client.resolve(`${hostile.host}/evil@${sha256(real)}`).catch((e: unknown) => e)) as RegistryError;
      expect(byDigest.code).toBe('TSB_REGISTRY_DIGEST_MISMATCH');
      const byTag = (await client.resolve(`${hostile.host}/evil:lying`).catch((e: unknown) => e)) as RegistryError;
      expect(byTag.code).toBe('TSB_REGISTRY_DIGEST_MISMATCH');
    } finally {
      await hostile.stop();
    }
  });

  test('a manifest over 4 MiB is refused', async () => {
    const huge = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: 'x', digest: sha256('c'), size: 1 }, layers: [], annotations: { pad: 'x'.repeat(4 << 20) } }),
    );
    const hostile = await startStaticRegistry({ manifests: { 'evil/manifests/huge': { mediaType: OCI_MANIFEST, bytes: huge } } });
    try {
      const err = (await client.resolve(`${hostile.host}/evil:huge`).catch((e: unknown) => e)) as RegistryError;
      expect(err.code).toBe('TSB_REGISTRY_MANIFEST_TOO_LARGE');
    } finally {
      await hostile.stop();
    }
  });

  test('schema1 manifests are refused as unsupported', async () => {
    const schema1 = Buffer.from(JSON.stringify({ schemaVersion: 1, name: 'evil', tag: 'old', fsLayers: [] }));
    const hostile = await startStaticRegistry({
      manifests: { 'evil/manifests/old': { mediaType: 'application/vnd.docker.distribution.manifest.v1+prettyjws', bytes: schema1 } },
    });
    try {
      const err = (await client.resolve(`${hostile.host}/evil:old`).catch((e: unknown) => e)) as RegistryError;
      expect(err.code).toBe('TSB_REGISTRY_UNSUPPORTED');
    } finally {
      await hostile.stop();
    }
  });
});
