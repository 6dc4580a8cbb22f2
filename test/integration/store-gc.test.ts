// Garbage collection: what tags and records reach survives, the rest goes
// once it is older than the grace period.
import { mkdir, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
  StoreError,
  collectGarbage,
  openStore,
  type ContentStore,
  type Descriptor,
  type Digest,
} from '../../src/store/index.js';
import { listFiles, tempDir } from './fixtures/store-helpers.js';

const HOUR_AGO = new Date(Date.now() - 60 * 60 * 1000);

async function newStore(): Promise<ContentStore> {
  return openStore(path.join(await tempDir(), 'root'));
}

async function put(store: ContentStore, mediaType: string, data: string | object): Promise<Descriptor> {
  const text = typeof data === 'string' ? data : JSON.stringify(data);
  const { digest, size } = await store.writeBlob(text);
  return { mediaType, digest, size };
}

/** layer + config → manifest (OCI or docker schema2). */
async function image(store: ContentStore, name: string, docker = false): Promise<{ manifest: Descriptor; config: Descriptor; layer: Descriptor }> {
  const layer = await put(store, docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip', `layer of ${name}`);
  const config = await put(store, docker ? 'application/vnd.docker.container.image.v1+json' : 'application/vnd.oci.image.config.v1+json', {
    name,
    rootfs: { type: 'layers', diff_ids: [] },
  });
  const mt = docker ? MEDIA_TYPE_DOCKER_MANIFEST : MEDIA_TYPE_OCI_MANIFEST;
  const manifest = await put(store, mt, { schemaVersion: 2, mediaType: mt, config, layers: [layer] });
  return { manifest, config, layer };
}

/** Age every blob and temp file so only reachability decides. */
async function ageEverything(store: ContentStore): Promise<void> {
  for (const dir of [path.join(store.root, 'blobs', 'sha256'), path.join(store.root, 'tmp')]) {
    for (const f of await listFiles(dir)) await utimes(path.join(dir, f), HOUR_AGO, HOUR_AGO);
  }
}

async function present(store: ContentStore, ds: Array<Descriptor | Digest>): Promise<boolean[]> {
  return Promise.all(ds.map((d) => store.hasBlob(typeof d === 'string' ? d : d.digest)));
}

describe('collectGarbage', () => {
  test('keeps what tags (index → manifests → config + layers) and records reach, removes the rest', async () => {
    const store = await newStore();
    // OCI index → two platform manifests, tagged
    const amd = await image(store, 'amd64');
    const arm = await image(store, 'arm64');
    const index = await put(store, MEDIA_TYPE_OCI_INDEX, {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_OCI_INDEX,
      manifests: [
        { ...amd.manifest, platform: { architecture: 'amd64', os: 'linux' } },
        { ...arm.manifest, platform: { architecture: 'arm64', os: 'linux' } },
      ],
    });
    await store.setTag('example.com/multi:1', index);
    // docker manifest list → docker manifest, tagged
    const dk = await image(store, 'docker', true);
    const list = await put(store, MEDIA_TYPE_DOCKER_MANIFEST_LIST, {
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_DOCKER_MANIFEST_LIST,
      manifests: [dk.manifest],
    });
    await store.setTag('docker.io/library/dk:latest', list);
    // a plain manifest tagged directly
    const single = await image(store, 'single');
    await store.setTag('single', single.manifest);
    // a cache record holding a layer, and one holding a manifest (followed)
    const cached = await put(store, 'x', 'cached layer');
    const viaRecordImage = await image(store, 'via-record');
    await store.putRecord('cache', `sha256:${'1'.repeat(64)}`, { blobs: [cached.digest, 'not-a-digest'], extra: 1 });
    await store.putRecord('cache', 'img', { blobs: [viaRecordImage.manifest.digest] });
    // records without blobs, or with blobs of another shape, root nothing
    const orphanA = await put(store, 'x', 'orphan a');
    const orphanB = await put(store, 'x', 'orphan b, a little longer');
    await store.putRecord('containers', 'web', { image: orphanA.digest });
    await store.putRecord('containers', 'db', { blobs: orphanB.digest });
    // an unreachable image whose tag was removed
    const untagged = await image(store, 'untagged');
    await store.setTag('gone', untagged.manifest);
    expect(await store.deleteTag('gone')).toBe(true);
    // a leftover temp file
    await writeFile(path.join(store.root, 'tmp', 'blob-1-deadbeef'), 'half a blob');
    await ageEverything(store);

    const reachable = [
      index, amd.manifest, amd.config, amd.layer, arm.manifest, arm.config, arm.layer,
      list, dk.manifest, dk.config, dk.layer,
      single.manifest, single.config, single.layer,
      cached, viaRecordImage.manifest, viaRecordImage.config, viaRecordImage.layer,
    ];
    const unreachable = [orphanA, orphanB, untagged.manifest, untagged.config, untagged.layer];
    const unreachableBytes = unreachable.reduce((n, d) => n + d.size, 0);

    const dry = await collectGarbage(store, { dryRun: true });
    expect(dry).toEqual({ removedBlobs: unreachable.length, reclaimedBytes: unreachableBytes, removedTemp: 1 });
    expect(await present(store, unreachable)).toEqual(unreachable.map(() => true));
    expect((await listFiles(path.join(store.root, 'tmp'))).length).toBe(1);

    const res = await collectGarbage(store);
    expect(res).toEqual(dry);
    expect(await present(store, reachable)).toEqual(reachable.map(() => true));
    expect(await present(store, unreachable)).toEqual(unreachable.map(() => false));
    expect(await listFiles(path.join(store.root, 'tmp'))).toEqual([]);
    expect(await listFiles(path.join(store.root, 'blobs', 'sha256'))).toHaveLength(reachable.length);

    // removing roots frees their chains, except blobs still shared
    expect(await store.deleteTag('example.com/multi:1')).toBe(true);
    await store.setTag('arm-only', arm.manifest);
    const res2 = await collectGarbage(store);
    expect(res2.removedBlobs).toBe(4); // index + the amd64 manifest, config, layer
    expect(await present(store, [arm.manifest, arm.config, arm.layer])).toEqual([true, true, true]);
    expect(await present(store, [index, amd.manifest, amd.config, amd.layer])).toEqual([false, false, false, false]);
  });

  test('spares unreachable blobs and temp files younger than the grace period', async () => {
    const store = await newStore();
    const old = await put(store, 'x', 'old orphan');
    await utimes(store.blobPath(old.digest), HOUR_AGO, HOUR_AGO);
    const young = await put(store, 'x', 'young orphan');
    await writeFile(path.join(store.root, 'tmp', 'blob-2-cafe'), 'in progress');

    // default grace is 10 minutes
    expect(await collectGarbage(store)).toEqual({ removedBlobs: 1, reclaimedBytes: old.size, removedTemp: 0 });
    expect(await present(store, [old, young])).toEqual([false, true]);
    expect(await collectGarbage(store, { graceMs: 60 * 60 * 1000 + 60_000 })).toEqual({ removedBlobs: 0, reclaimedBytes: 0, removedTemp: 0 });
    expect(await collectGarbage(store, { graceMs: 0 })).toEqual({ removedBlobs: 1, reclaimedBytes: young.size, removedTemp: 1 });
    await expect(collectGarbage(store, { graceMs: -1 })).rejects.toThrow(RangeError);
  });

  test('rewriting an existing old blob refreshes it, so a build that dedups onto it is covered by the grace period', async () => {
    const store = await newStore();
    const d = await put(store, 'x', 'shared content');
    await utimes(store.blobPath(d.digest), HOUR_AGO, HOUR_AGO);
    // a new build writes the same bytes but has not tagged them yet
    const w = await store.createBlobWriter();
    w.stream.end('shared content');
    await w.commit(d.digest);
    expect((await stat(store.blobPath(d.digest))).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
    expect((await collectGarbage(store)).removedBlobs).toBe(0);

    await utimes(store.blobPath(d.digest), HOUR_AGO, HOUR_AGO);
    await store.writeBlob('shared content');
    expect((await collectGarbage(store)).removedBlobs).toBe(0);
  });

  test('tolerates references to blobs that are not local, and manifest blobs that do not parse', async () => {
    const store = await newStore();
    const notJson = await put(store, MEDIA_TYPE_OCI_MANIFEST, 'this is not json');
    const foreign: Descriptor = { mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${'f'.repeat(64)}`, size: 10 };
    const config = await put(store, 'application/vnd.oci.image.config.v1+json', '{}');
    const m = await put(store, MEDIA_TYPE_OCI_MANIFEST, { schemaVersion: 2, config, layers: [foreign, { digest: '../../etc' }] });
    await store.setTag('a', notJson);
    await store.setTag('b', m);
    await store.setTag('c', { mediaType: MEDIA_TYPE_OCI_INDEX, digest: `sha256:${'e'.repeat(64)}`, size: 1 });
    await ageEverything(store);
    expect(await collectGarbage(store)).toEqual({ removedBlobs: 0, reclaimedBytes: 0, removedTemp: 0 });
    expect(await present(store, [notJson, config, m])).toEqual([true, true, true]);
  });

  test('fails closed: a damaged tag or record aborts gc before anything is deleted', async () => {
    const store = await newStore();
    const orphan = await put(store, 'x', 'orphan');
    await ageEverything(store);
    await writeFile(path.join(store.root, 'tags', 'broken.json'), '{"name":');
    await expect(collectGarbage(store)).rejects.toSatisfy((e) => e instanceof StoreError && e.code === 'TSB_STORE_CORRUPT');
    expect(await store.hasBlob(orphan.digest)).toBe(true);

    await store.deleteTag('broken');
    await mkdir(path.join(store.root, 'records', 'cache'), { recursive: true });
    await writeFile(path.join(store.root, 'records', 'cache', 'k.json'), '{"blobs":[');
    await expect(collectGarbage(store)).rejects.toSatisfy((e) => e instanceof StoreError && e.code === 'TSB_STORE_CORRUPT');
    expect(await store.hasBlob(orphan.digest)).toBe(true);

    await store.deleteRecord('cache', 'k');
    expect((await collectGarbage(store)).removedBlobs).toBe(1);
  });

  test('leaves files in blobs/sha256 that are not named like blobs alone', async () => {
    const store = await newStore();
    const stray = path.join(store.root, 'blobs', 'sha256', 'notes.txt');
    await writeFile(stray, 'mine');
    await utimes(stray, HOUR_AGO, HOUR_AGO);
    expect((await collectGarbage(store, { graceMs: 0 })).removedBlobs).toBe(0);
    expect(await listFiles(path.join(store.root, 'blobs', 'sha256'))).toEqual(['notes.txt']);
  });
});
