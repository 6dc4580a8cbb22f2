// OCI layout export and import, checked with tools that are not ours:
// skopeo (containers/image) reads our layouts and archives, umoci unpacks
// them; skopeo writes layouts we import.
import { chmod, lstat, readdir, readFile, readlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import {
  directorySource,
  importOciLayout,
  loadArchiveFile,
  nameLoadedImages,
  resolveOciLayoutImage,
  withOutputTarget,
  writeImage,
  writeOciLayoutDir,
  writeOciLayoutTar,
  type ImageError,
} from '../../src/image/index.js';
import { openStore } from '../../src/store/index.js';
import { hasTool, isRoot, runOk, storeWithImage, tempDir } from './fixtures/image-helpers.js';

const NAME = 'docker.io/library/app:v1';

describe.skipIf(!hasTool('skopeo'))('OCI layout export, read by skopeo (needs skopeo)', () => {
  test('skopeo inspect --raw oci:DIR:tag returns our manifest byte for byte', async () => {
    const { store, image } = await storeWithImage();
    const dir = path.join(await tempDir(), 'layout');
    await writeOciLayoutDir(store, [{ target: image.manifest, names: [NAME] }], dir);
    const raw = runOk('skopeo', ['inspect', '--raw', `oci:${dir}:v1`]);
    expect(raw).toBe((await store.readBlob(image.manifest.digest)).toString('utf8'));
    const config = JSON.parse(runOk('skopeo', ['inspect', '--config', `oci:${dir}:v1`])) as { config: unknown };
    expect(config.config).toEqual(image.configJson.config);
    const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as { manifests: Array<{ annotations: unknown }> };
    expect(index.manifests[0]?.annotations).toEqual({
      'io.containerd.image.name': NAME,
      'org.opencontainers.image.ref.name': 'v1',
    });
    expect(JSON.parse(await readFile(path.join(dir, 'oci-layout'), 'utf8'))).toEqual({ imageLayoutVersion: '1.0.0' });
  });

  test('skopeo inspect oci-archive:FILE accepts our layout tar', async () => {
    const { store, image } = await storeWithImage();
    const file = path.join(await tempDir(), 'image.tar');
    await withOutputTarget(file, process.stdout, (out) => writeOciLayoutTar(store, [{ target: image.manifest, names: [NAME] }], out));
    const info = JSON.parse(runOk('skopeo', ['inspect', `oci-archive:${file}:v1`])) as Record<string, unknown>;
    expect(info).toMatchObject({
      Digest: image.manifest.digest,
      Architecture: 'amd64',
      Os: 'linux',
      Created: '2024-01-02T03:04:05Z',
      Labels: { 'org.example.a': '1', 'org.example.b': '2' },
    });
    expect(info.Layers).toEqual((await storeWithImage()).built.layers.map((l) => l.digest));
  });

  test('several tags into one layout: each selectable, a re-export replaces its tag', async () => {
    const { store, image, built } = await storeWithImage();
    const other = await writeImage(store, { ...built, config: { Cmd: ['other'] } });
    const dir = path.join(await tempDir(), 'layout');
    await writeOciLayoutDir(store, [{ target: image.manifest, names: [NAME, 'docker.io/library/app:v2'] }], dir);
    await writeOciLayoutDir(store, [{ target: other.manifest, names: ['docker.io/library/app:v2'] }], dir);
    const digest = (ref: string): string => JSON.parse(runOk('skopeo', ['inspect', `oci:${dir}:${ref}`])).Digest as string;
    expect(digest('v1')).toBe(image.manifest.digest);
    expect(digest('v2')).toBe(other.manifest.digest);
    const index = JSON.parse(await readFile(path.join(dir, 'index.json'), 'utf8')) as { manifests: unknown[] };
    expect(index.manifests).toHaveLength(2);
  });

  test('a layout skopeo wrote imports, every name preserved', async () => {
    const { store, image } = await storeWithImage();
    const tmp = await tempDir();
    await writeOciLayoutDir(store, [{ target: image.manifest, names: [NAME] }], path.join(tmp, 'ours'));
    runOk('skopeo', ['copy', '--quiet', `oci:${tmp}/ours:v1`, `oci:${tmp}/theirs:localhost:5000/team/app:2`]);
    const fresh = await openStore(path.join(tmp, 'root'));
    const [imported, ...rest] = await importOciLayout(fresh, directorySource(path.join(tmp, 'theirs')));
    expect(rest).toEqual([]);
    expect(imported?.names).toEqual(['localhost:5000/team/app:2']);
    expect(imported?.details.configDescriptor.digest).toBe(image.config.digest);
  });
});

describe.skipIf(!hasTool('umoci'))('umoci unpacks our layouts (needs umoci)', () => {
  test.skipIf(!isRoot)('the rootfs has our files, symlinks and modes, with the whiteout applied (as root)', async () => {
    const { store, image } = await storeWithImage();
    const tmp = await tempDir();
    await writeOciLayoutDir(store, [{ target: image.manifest, names: [NAME] }], path.join(tmp, 'layout'));
    runOk('umoci', ['unpack', '--image', `${tmp}/layout:v1`, `${tmp}/bundle`]);
    const rootfs = path.join(tmp, 'bundle', 'rootfs');
    expect(await readFile(path.join(rootfs, 'srv/app.txt'), 'utf8')).toBe('hello from layer two\n');
    expect(await readFile(path.join(rootfs, 'etc/hostname'), 'utf8')).toBe('tsbuild\n');
    expect(await readlink(path.join(rootfs, 'srv/link'))).toBe('app.txt');
    expect(await readlink(path.join(rootfs, 'bin/app'))).toBe('/usr/bin/tool');
    expect((await lstat(path.join(rootfs, 'usr/bin/tool'))).mode & 0o777).toBe(0o755);
    expect((await lstat(path.join(rootfs, 'usr/local/share/empty'))).isDirectory()).toBe(true);
    expect((await readdir(path.join(rootfs, 'srv'))).sort()).toEqual(['app.txt', 'link']);
    const runtime = JSON.parse(await readFile(path.join(tmp, 'bundle', 'config.json'), 'utf8')) as { process: { args: string[]; cwd: string } };
    expect(runtime.process.args).toEqual(['/bin/app']);
    expect(runtime.process.cwd).toBe('/srv');
  });
});

describe('OCI layout import', () => {
  test('save → load into an empty store gives the same manifest digest (dir and tar)', async () => {
    const { store, image } = await storeWithImage();
    const tmp = await tempDir();
    await writeOciLayoutDir(store, [{ target: image.manifest, names: [NAME] }], path.join(tmp, 'layout'));
    await withOutputTarget(path.join(tmp, 'image.tar'), process.stdout, (out) =>
      writeOciLayoutTar(store, [{ target: image.manifest, names: [NAME] }], out),
    );

    const fromDir = await openStore(path.join(tmp, 'root-dir'));
    const [a] = await importOciLayout(fromDir, directorySource(path.join(tmp, 'layout')));
    expect(a?.target).toEqual(image.manifest);
    expect(a?.names).toEqual([NAME]);

    const fromTar = await openStore(path.join(tmp, 'root-tar'));
    const loaded = await loadArchiveFile(fromTar, path.join(tmp, 'image.tar'));
    expect(loaded.format).toBe('oci');
    await nameLoadedImages(fromTar, loaded.images);
    expect((await fromTar.getTag(NAME))?.target).toEqual(image.manifest);
    for (const l of loaded.images[0]?.details.layers ?? []) expect(await fromTar.hasBlob(l.digest)).toBe(true);
  });

  test('a gzip-compressed layout tar loads too', async () => {
    const { store, image } = await storeWithImage();
    const tmp = await tempDir();
    await withOutputTarget(path.join(tmp, 'image.tar'), process.stdout, (out) =>
      writeOciLayoutTar(store, [{ target: image.manifest, names: [NAME] }], out),
    );
    runOk('gzip', ['-k', path.join(tmp, 'image.tar')]);
    const fresh = await openStore(path.join(tmp, 'root'));
    const loaded = await loadArchiveFile(fresh, path.join(tmp, 'image.tar.gz'));
    expect(loaded.images.map((i) => i.target.digest)).toEqual([image.manifest.digest]);
  });

  test('a corrupted blob is refused with a digest error and never enters the store', async () => {
    const { store, image, built } = await storeWithImage();
    const tmp = await tempDir();
    const dir = path.join(tmp, 'layout');
    await writeOciLayoutDir(store, [{ target: image.manifest, names: [NAME] }], dir);
    const victim = built.layers[1]!;
    const file = path.join(dir, 'blobs', 'sha256', victim.digest.slice(7));
    const bytes = await readFile(file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 20) ^ 0xff, bytes.length - 20); // same size, different content
    await chmod(file, 0o644);
    await writeFile(file, bytes);

    const fresh = await openStore(path.join(tmp, 'root'));
    const err = (await importOciLayout(fresh, directorySource(dir)).catch((e: unknown) => e)) as ImageError;
    expect(err.code).toBe('TSB_IMAGE_DIGEST_MISMATCH');
    expect(err.digest).toBe(victim.digest);
    expect(await fresh.hasBlob(victim.digest)).toBe(false);
    expect(await fresh.hasBlob(image.manifest.digest)).toBe(false);
    expect(await readdir(path.join(tmp, 'root', 'tmp'))).toEqual([]);

    // The same through an archive (load): refused, nothing left behind.
    runOk('tar', ['-C', dir, '-cf', path.join(tmp, 'bad.tar'), '.']);
    const err2 = (await loadArchiveFile(fresh, path.join(tmp, 'bad.tar')).catch((e: unknown) => e)) as ImageError;
    expect(err2.code).toBe('TSB_IMAGE_DIGEST_MISMATCH');
    expect(await fresh.hasBlob(victim.digest)).toBe(false);
    expect(await readdir(path.join(tmp, 'root', 'tmp'))).toEqual([]);
  });

  test('a blob whose size disagrees with its descriptor is refused', async () => {
    const { store, image, built } = await storeWithImage();
    const tmp = await tempDir();
    const dir = path.join(tmp, 'layout');
    await writeOciLayoutDir(store, [{ target: image.manifest, names: [NAME] }], dir);
    const file = path.join(dir, 'blobs', 'sha256', built.layers[0]!.digest.slice(7));
    await chmod(file, 0o644);
    await writeFile(file, Buffer.concat([await readFile(file), Buffer.from('x')]));
    const fresh = await openStore(path.join(tmp, 'root'));
    await expect(importOciLayout(fresh, directorySource(dir))).rejects.toMatchObject({ code: 'TSB_IMAGE_DIGEST_MISMATCH' });
  });

  test('FROM oci-layout://DIR[:tag][@digest] resolves and imports one image', async () => {
    const { store, image, built } = await storeWithImage();
    const other = await writeImage(store, { ...built, config: { Cmd: ['other'] } });
    const tmp = await tempDir();
    const dir = path.join(tmp, 'layout');
    await writeOciLayoutDir(store, [{ target: image.manifest, names: [NAME] }, { target: other.manifest, names: ['docker.io/library/app:latest'] }], dir);
    const fresh = await openStore(path.join(tmp, 'root'));

    const v1 = await resolveOciLayoutImage(fresh, 'oci-layout://layout:v1', { baseDir: tmp });
    expect(v1).toMatchObject({ ref: `oci-layout://${dir}:v1`, manifestDigest: image.manifest.digest, layers: built.layers });
    expect(v1.config.Cmd).toEqual(['/bin/app']);
    // Without a tag: "latest" among several.
    expect((await resolveOciLayoutImage(fresh, `oci-layout://${dir}`)).manifestDigest).toBe(other.manifest.digest);
    expect((await resolveOciLayoutImage(fresh, `oci-layout://${dir}@${image.manifest.digest}`)).config.Cmd).toEqual(['/bin/app']);
    await expect(resolveOciLayoutImage(fresh, `oci-layout://${dir}:nope`)).rejects.toMatchObject({ code: 'TSB_IMAGE_NOT_FOUND' });
    await expect(resolveOciLayoutImage(fresh, `oci-layout://${tmp}/missing:v1`)).rejects.toMatchObject({ code: 'TSB_IMAGE_ARCHIVE' });
    await expect(resolveOciLayoutImage(fresh, `oci-layout://${dir}@sha256:abc`)).rejects.toMatchObject({ code: 'TSB_REF_INVALID' });
    await expect(resolveOciLayoutImage(fresh, `oci-layout://${dir}:-bad`)).rejects.toMatchObject({ code: 'TSB_REF_INVALID' });
    // Nothing was tagged: FROM does not name images.
    expect(await fresh.listTags()).toEqual([]);
  });

  test('archives with entries that climb out are refused', async () => {
    const tmp = await tempDir();
    await writeFile(path.join(tmp, 'x'), 'x');
    runOk('tar', ['-C', tmp, '-cf', path.join(tmp, 'evil.tar'), '-P', '--transform', 's,^x$,../../escape,', 'x']);
    const fresh = await openStore(path.join(tmp, 'root'));
    expect(runOk('tar', ['-tPf', path.join(tmp, 'evil.tar')])).toBe('../../escape\n');
    await expect(loadArchiveFile(fresh, path.join(tmp, 'evil.tar'))).rejects.toMatchObject({ code: 'TSB_IMAGE_ARCHIVE' });
    // The scratch directory is <root>/tmp/load-*: two levels up is <root>.
    await expect(lstat(path.join(tmp, 'root', 'escape'))).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await readdir(path.join(tmp, 'root', 'tmp'))).toEqual([]);
  });
});
