// writeOutputs for every output type, the metadata file and the iidfile.
// The rootfs exports are checked with GNU tar and the filesystem; the image
// exports with skopeo where available.
import { lstat, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import {
  loadArchiveFile,
  parseOutputSpecs,
  writeImageIdFile,
  writeMetadataFile,
  writeOutputs,
} from '../../src/image/index.js';
import { openStore } from '../../src/store/index.js';
import { hasTool, runOk, storeWithImage, tempDir } from './fixtures/image-helpers.js';

const TAGS = ['docker.io/library/app:v1'];

function sink(): { stream: PassThrough; bytes: () => Buffer } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, bytes: () => Buffer.concat(chunks) };
}

describe('writeOutputs', () => {
  test('no outputs: the local store, tagged; without tags, kept untagged', async () => {
    const { store, image } = await storeWithImage();
    const r = await writeOutputs(store, image, [], TAGS, { stdout: sink().stream });
    expect(r.tagged).toEqual(TAGS);
    expect((await store.getTag(TAGS[0]!))?.target).toEqual(image.manifest);
    const other = await storeWithImage();
    expect((await writeOutputs(other.store, other.image, [], [], { stdout: sink().stream })).tagged).toEqual([]);
    expect(await other.store.listRecords('untagged-images')).toEqual([other.image.manifest.digest]);
  });

  test('type=image,name=… tags those names instead of -t', async () => {
    const { store, image } = await storeWithImage();
    const outputs = parseOutputSpecs(['type=image,name=other:2']);
    expect((await writeOutputs(store, image, outputs, TAGS, { stdout: sink().stream })).tagged).toEqual(['docker.io/library/other:2']);
    expect(await store.getTag(TAGS[0]!)).toBeNull();
  });

  test('type=local: the final filesystem, whiteouts applied, symlinks kept', async () => {
    const { store, image } = await storeWithImage();
    const dest = path.join(await tempDir(), 'rootfs');
    await writeOutputs(store, image, parseOutputSpecs([dest]), TAGS, { stdout: sink().stream });
    expect(await readFile(path.join(dest, 'srv/app.txt'), 'utf8')).toBe('hello from layer two\n');
    expect(await readlink(path.join(dest, 'srv/link'))).toBe('app.txt');
    expect(await readlink(path.join(dest, 'bin/app'))).toBe('/usr/bin/tool');
    expect((await lstat(path.join(dest, 'usr/bin/tool'))).mode & 0o777).toBe(0o755);
    expect((await readdir(path.join(dest, 'srv'))).sort()).toEqual(['app.txt', 'link']);
    // Nothing went to the store's tags.
    expect(await store.listTags()).toEqual([]);
  });

  test('type=tar to a file and to stdout: one tar of the final filesystem', async () => {
    const { store, image } = await storeWithImage();
    const dir = await tempDir();
    const out = sink();
    await writeOutputs(store, image, parseOutputSpecs([`type=tar,dest=${dir}/fs.tar`, '-']), TAGS, {
      stdout: out.stream,
    });
    const listing = runOk('tar', ['-tvf', `${dir}/fs.tar`]);
    expect(listing).toMatch(/^lrwxrwxrwx .* srv\/link -> app\.txt$/m);
    expect(listing).toMatch(/^-rwxr-xr-x .* usr\/bin\/tool$/m);
    expect(listing).not.toContain('old.txt');
    expect(listing).not.toContain('.wh.');
    expect(runOk('tar', ['-xOf', `${dir}/fs.tar`, 'srv/app.txt'])).toBe('hello from layer two\n');
    expect(out.bytes().equals(await readFile(`${dir}/fs.tar`))).toBe(true);
    // No scratch directory left in the store.
    expect(await readdir(path.join(store.root, 'tmp'))).toEqual([]);
  });

  test('type=oci (dir and tar) and type=docker load back as the same image', async () => {
    const { store, image } = await storeWithImage();
    const dir = await tempDir();
    const out = sink();
    const outputs = parseOutputSpecs([
      `type=oci,dest=${dir}/layout`,
      `type=oci,dest=${dir}/oci.tar,name=app:oci`,
      `type=docker,dest=-`,
    ]);
    await writeOutputs(store, image, outputs, TAGS, { stdout: out.stream });
    if (hasTool('skopeo')) {
      expect(JSON.parse(runOk('skopeo', ['inspect', `oci:${dir}/layout:v1`])).Digest).toBe(image.manifest.digest);
      expect(JSON.parse(runOk('skopeo', ['inspect', `oci-archive:${dir}/oci.tar:oci`])).Digest).toBe(image.manifest.digest);
    }
    const fresh = await openStore(path.join(dir, 'root'));
    const oci = await loadArchiveFile(fresh, `${dir}/oci.tar`);
    expect(oci.images.map((i) => [i.target.digest, i.names])).toEqual([[image.manifest.digest, ['docker.io/library/app:oci']]]);
    await writeFile(`${dir}/docker.tar`, out.bytes());
    const docker = await loadArchiveFile(fresh, `${dir}/docker.tar`);
    expect(docker.images.map((i) => [i.target.digest, i.names])).toEqual([[image.manifest.digest, TAGS]]);
  });

  test('a failed export leaves no partial file behind', async () => {
    const { store, image } = await storeWithImage();
    const dir = await tempDir();
    const broken = { ...image, manifest: { ...image.manifest, digest: `sha256:${'0'.repeat(64)}` as const } };
    await expect(writeOutputs(store, broken, parseOutputSpecs([`type=docker,dest=${dir}/x.tar`]), TAGS, { stdout: sink().stream })).rejects.toMatchObject({
      code: 'TSB_IMAGE_NOT_FOUND',
    });
    expect(await readdir(dir)).toEqual([]);
  });

  test('an unwritable destination is TSB_IMAGE_OUTPUT', async () => {
    const { store, image } = await storeWithImage();
    const dir = await tempDir();
    await expect(
      writeOutputs(store, image, parseOutputSpecs([`type=docker,dest=${dir}/no/such/dir/x.tar`]), TAGS, { stdout: sink().stream }),
    ).rejects.toMatchObject({ code: 'TSB_IMAGE_OUTPUT' });
  });
});

describe('build metadata', () => {
  test('--metadata-file has buildx keys; --iidfile holds the config digest', async () => {
    const { image } = await storeWithImage();
    const dir = await tempDir();
    await writeMetadataFile(`${dir}/meta.json`, image, [...TAGS, 'localhost:5000/app:v1']);
    await writeImageIdFile(`${dir}/iid`, image);
    const text = await readFile(`${dir}/meta.json`, 'utf8');
    expect(JSON.parse(text)).toEqual({
      'containerimage.config.digest': image.config.digest,
      'containerimage.descriptor': image.manifest,
      'containerimage.digest': image.manifest.digest,
      'image.name': 'docker.io/library/app:v1,localhost:5000/app:v1',
    });
    expect(Object.keys(JSON.parse(text) as object)).toEqual([...Object.keys(JSON.parse(text) as object)].sort());
    expect(await readFile(`${dir}/iid`, 'utf8')).toBe(image.config.digest);
  });
});
