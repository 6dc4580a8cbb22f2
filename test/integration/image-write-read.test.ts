// writeImage / readImage / resolveLocalImage against the real content store.
import { describe, expect, test } from 'vitest';
import type { BuiltImage } from '../../executor/types.js';
import {
  findLocalImage,
  keepUntagged,
  listLocalImages,
  MEDIA_TYPE_DOCKER_CONFIG,
  MEDIA_TYPE_DOCKER_LAYER_GZIP,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_OCI_INDEX,
  readImage,
  resolveLocalImage,
  writeImage,
  type ImageError,
} from '../../src/image/index.js';
import { collectGarbage, openStore, type ContentStore, type Descriptor } from '../../src/store/index.js';
import { builtImage, SAMPLE, storeWithImage, tempDir } from './fixtures/image-helpers.js';

async function json(store: ContentStore, d: Descriptor): Promise<string> {
  return (await store.readBlob(d.digest)).toString('utf8');
}

describe('writeImage', () => {
  test('writes an OCI config and manifest in canonical, compact form', async () => {
    const { store, image, built } = await storeWithImage();
    const config = await json(store, image.config);
    const manifest = await json(store, image.manifest);
    expect(image.manifest.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(image.config.mediaType).toBe('application/vnd.oci.image.config.v1+json');
    // Key order is fixed (Go struct order), maps sorted, no whitespace.
    expect(config).toBe(
      JSON.stringify({
        created: '2024-01-02T03:04:05Z',
        architecture: 'amd64',
        os: 'linux',
        config: {
          Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
          Cmd: ['/bin/app'],
          WorkingDir: '/srv',
          Labels: { 'org.example.a': '1', 'org.example.b': '2' },
        },
        rootfs: { type: 'layers', diff_ids: built.layers.map((l) => l.diffID) },
        history: built.history,
      }),
    );
    expect(JSON.parse(manifest)).toEqual({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: image.config.mediaType, digest: image.config.digest, size: image.config.size },
      layers: built.layers.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: l.digest, size: l.size })),
    });
    expect(manifest).not.toMatch(/\s/);
    expect(image.configJson).toEqual(JSON.parse(config));
  });

  test('is deterministic: the same image in two empty stores has the same manifest digest', async () => {
    const a = await storeWithImage();
    const b = await storeWithImage();
    expect(b.image.manifest).toEqual(a.image.manifest);
    expect(b.image.config).toEqual(a.image.config);
  });

  test('field order in the input does not matter; no created means no timestamp', async () => {
    const root = await tempDir();
    const store = await openStore(root);
    const base = await builtImage(store, { layers: SAMPLE.layers });
    const one: BuiltImage = { ...base, config: { Cmd: ['a'], User: 'app', Labels: { z: '1', a: '2' }, ExposedPorts: { '80/tcp': {}, '443/tcp': {} } } };
    const two: BuiltImage = { ...base, config: { ExposedPorts: { '443/tcp': {}, '80/tcp': {} }, Labels: { a: '2', z: '1' }, User: 'app', Cmd: ['a'] } };
    const w1 = await writeImage(store, one);
    const w2 = await writeImage(store, two);
    expect(w2.manifest.digest).toBe(w1.manifest.digest);
    const text = await json(store, w1.config);
    expect(text).not.toContain('"created"');
    expect(text).toContain('"config":{"User":"app","ExposedPorts":{"443/tcp":{},"80/tcp":{}},"Cmd":["a"],"Labels":{"a":"2","z":"1"}}');
  });

  test('refuses layers that are not in the store', async () => {
    const { store, built } = await storeWithImage();
    const missing = { ...built, layers: [{ ...built.layers[0]!, digest: `sha256:${'0'.repeat(64)}` as const }] };
    await expect(writeImage(store, missing)).rejects.toMatchObject({ code: 'TSB_IMAGE_INVALID' });
  });
});

describe('readImage', () => {
  test('gives back what writeImage wrote', async () => {
    const { store, image, built } = await storeWithImage({ ...SAMPLE, author: 'someone' });
    const d = await readImage(store, image.manifest);
    expect(d.manifestDigest).toBe(image.manifest.digest);
    expect(d.configDescriptor).toEqual(image.config);
    expect(d.layers).toEqual(built.layers);
    expect(d.history).toEqual(built.history);
    expect(d.platform).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(d.config.author).toBe('someone');
    expect(d.index).toBeNull();
  });

  test('reads docker schema2 manifests', async () => {
    const { store, built } = await storeWithImage();
    const config = await store.writeBlob(JSON.stringify({
      architecture: 'arm64', os: 'linux', variant: 'v8',
      config: { Cmd: ['/x'], Hostname: '', AttachStdin: false },
      container_config: {},
      rootfs: { type: 'layers', diff_ids: built.layers.map((l) => l.diffID) },
    }));
    const manifest = await store.writeBlob(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_DOCKER_MANIFEST,
      config: { mediaType: MEDIA_TYPE_DOCKER_CONFIG, ...config },
      layers: built.layers.map((l) => ({ mediaType: MEDIA_TYPE_DOCKER_LAYER_GZIP, digest: l.digest, size: l.size })),
    }));
    const d = await readImage(store, { mediaType: MEDIA_TYPE_DOCKER_MANIFEST, ...manifest });
    expect(d.layers.map((l) => l.mediaType)).toEqual([MEDIA_TYPE_DOCKER_LAYER_GZIP, MEDIA_TYPE_DOCKER_LAYER_GZIP]);
    expect(d.platform).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
  });

  test('selects a platform from an index, default linux/amd64', async () => {
    const a = await storeWithImage();
    const store = a.store;
    const arm = await writeImage(store, { ...a.built, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } });
    const index = await store.writeBlob(JSON.stringify({
      schemaVersion: 2,
      mediaType: MEDIA_TYPE_OCI_INDEX,
      manifests: [
        { ...arm.manifest, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
        { ...a.image.manifest, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    }));
    const desc = { mediaType: MEDIA_TYPE_OCI_INDEX, ...index };
    expect((await readImage(store, desc)).manifestDigest).toBe(a.image.manifest.digest);
    const d = await readImage(store, desc, { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } });
    expect(d.manifestDigest).toBe(arm.manifest.digest);
    expect(d.index).toEqual(desc);
    await expect(readImage(store, desc, { platform: { os: 'linux', architecture: 's390x' } })).rejects.toMatchObject({
      code: 'TSB_IMAGE_PLATFORM',
    });
  });

  test('refuses configs whose diff_ids do not match the layers', async () => {
    const { store, image, built } = await storeWithImage();
    const config = await store.writeBlob(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [built.layers[0]!.diffID] } }));
    const manifest = await store.writeBlob(JSON.stringify({
      schemaVersion: 2,
      config: { ...image.config, ...config },
      layers: built.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }));
    const err = (await readImage(store, { ...image.manifest, ...manifest }).catch((e: unknown) => e)) as ImageError;
    expect(err.code).toBe('TSB_IMAGE_INVALID');
  });
});

describe('local image lookup', () => {
  test('resolves tags, digest references, IDs and ID prefixes like docker', async () => {
    const { store, image, built } = await storeWithImage();
    await store.setTag('docker.io/library/app:1', image.manifest);
    await store.setTag('localhost:5000/team/app:latest', image.manifest);

    const byTag = await resolveLocalImage(store, 'app:1');
    expect(byTag).toMatchObject({ ref: 'docker.io/library/app:1', manifestDigest: image.manifest.digest, layers: built.layers });
    expect(byTag?.config.Cmd).toEqual(['/bin/app']);
    expect((await resolveLocalImage(store, 'localhost:5000/team/app'))?.ref).toBe('localhost:5000/team/app:latest');
    expect((await resolveLocalImage(store, `app@${image.manifest.digest}`))?.ref).toBe(`docker.io/library/app@${image.manifest.digest}`);
    const id = image.config.digest;
    expect((await findLocalImage(store, id))?.target.digest).toBe(image.manifest.digest);
    expect((await findLocalImage(store, id.slice(7, 19)))?.names).toEqual(['docker.io/library/app:1', 'localhost:5000/team/app:latest']);
    expect((await findLocalImage(store, image.manifest.digest))?.target.digest).toBe(image.manifest.digest);
    expect(await resolveLocalImage(store, 'app:2')).toBeNull();
    expect(await resolveLocalImage(store, 'other')).toBeNull();
    await expect(resolveLocalImage(store, 'Bad:Name')).rejects.toMatchObject({ code: 'TSB_REF_INVALID' });
  });

  test('an ID prefix shared by two images is ambiguous', async () => {
    const { store, image, built } = await storeWithImage();
    await store.setTag('docker.io/library/a:1', image.manifest);
    // Find a second config whose ID shares the first hex digit.
    for (let i = 0; ; i++) {
      const other = await writeImage(store, { ...built, config: { Cmd: [String(i)] } });
      if (other.config.digest[7] !== image.config.digest[7]) continue;
      await store.setTag('docker.io/library/b:1', other.manifest);
      break;
    }
    await expect(findLocalImage(store, image.config.digest.slice(7, 8))).rejects.toMatchObject({ code: 'TSB_IMAGE_AMBIGUOUS' });
  });

  test('untagged images are listed and survive gc; tagged ones are grouped', async () => {
    const { store, image, built } = await storeWithImage();
    const other = await writeImage(store, { ...built, config: { Cmd: ['other'] } });
    await keepUntagged(store, other.manifest);
    await store.setTag('docker.io/library/app:1', image.manifest);
    await store.setTag('docker.io/library/app:2', image.manifest);
    const list = await listLocalImages(store);
    expect(list.map((i) => [i.target.digest, i.names])).toEqual([
      [image.manifest.digest, ['docker.io/library/app:1', 'docker.io/library/app:2']],
      [other.manifest.digest, []],
    ]);
    await collectGarbage(store, { graceMs: 0 });
    expect(await store.hasBlob(other.config.digest)).toBe(true);
    expect((await findLocalImage(store, other.config.digest))?.names).toEqual([]);
  });
});
