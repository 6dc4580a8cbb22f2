// docker-archive export and import, checked with podman (containers/image
// and containers/storage) and skopeo: podman loads what we save and saves
// what we load; round trips keep the manifest digest.
import { chmod, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';
import {
  loadArchiveFile,
  nameLoadedImages,
  withOutputTarget,
  writeDockerArchive,
  writeImage,
  type ImageError,
} from '../../src/image/index.js';
import { openStore, type ContentStore } from '../../src/store/index.js';
import { hasTool, isRoot, runOk, storeWithImage, tempDir } from './fixtures/image-helpers.js';

const NAME = 'docker.io/library/app:v1';

async function saveDocker(store: ContentStore, images: Parameters<typeof writeDockerArchive>[1]): Promise<string> {
  const file = path.join(await tempDir(), 'image.tar');
  await withOutputTarget(file, process.stdout, (out) => writeDockerArchive(store, images, out));
  return file;
}

/** podman with its own throwaway storage; nothing outlives the test. */
async function podman(): Promise<(...args: string[]) => string> {
  const dir = await tempDir('tsbuild-podman-');
  const global = [
    '--root', path.join(dir, 'root'),
    '--runroot', path.join(dir, 'run'),
    '--tmpdir', path.join(dir, 'tmp'),
    '--storage-driver', 'vfs',
    '--events-backend', 'none',
    '--cgroup-manager', 'cgroupfs',
  ];
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return (...args) => runOk('podman', [...global, ...args]);
}

describe('docker archive layout', () => {
  test('manifest.json, the config byte for byte, uncompressed layer.tar files', async () => {
    const { store, image, built } = await storeWithImage();
    const file = await saveDocker(store, [{ target: image.manifest, names: [NAME, 'localhost:5000/app:2'] }]);
    const list = runOk('tar', ['-tf', file]).trim().split('\n');
    const layerNames = built.layers.map((l) => `${l.diffID.slice(7)}/layer.tar`);
    expect(list).toEqual(expect.arrayContaining([...layerNames, `${image.config.digest.slice(7)}.json`, 'manifest.json', 'repositories']));
    const manifest = JSON.parse(runOk('tar', ['-xOf', file, 'manifest.json'])) as unknown;
    expect(manifest).toEqual([{ Config: `${image.config.digest.slice(7)}.json`, RepoTags: [NAME, 'localhost:5000/app:2'], Layers: layerNames }]);
    expect(runOk('tar', ['-xOf', file, `${image.config.digest.slice(7)}.json`])).toBe((await store.readBlob(image.config.digest)).toString());
    // Each layer.tar is the uncompressed layer: it hashes to its diff_id.
    for (const l of built.layers) {
      const hash = runOk('sh', ['-c', `tar -xOf '${file}' '${l.diffID.slice(7)}/layer.tar' | sha256sum`]).split(' ')[0];
      expect(`sha256:${hash}`).toBe(l.diffID);
    }
  });
});

describe.skipIf(!hasTool('skopeo'))('skopeo reads our docker archives (needs skopeo)', () => {
  test('skopeo inspect docker-archive: sees our config', async () => {
    const { store, image } = await storeWithImage();
    const file = await saveDocker(store, [{ target: image.manifest, names: [NAME] }]);
    const config = JSON.parse(runOk('skopeo', ['inspect', '--config', `docker-archive:${file}`])) as Record<string, unknown>;
    expect(config).toEqual(image.configJson);
  });
});

describe.skipIf(!hasTool('podman') || !isRoot)('podman load / save (needs podman, as root)', () => {
  test('podman load accepts our docker archive and podman image inspect shows our config', async () => {
    const { store, image, built } = await storeWithImage();
    const other = await writeImage(store, { ...built, config: { Cmd: ['/other'], User: '1000' } });
    const file = await saveDocker(store, [
      { target: image.manifest, names: [NAME] },
      { target: other.manifest, names: ['localhost:5000/team/other:2'] },
    ]);
    const p = await podman();
    const out = p('load', '-i', file);
    expect(out).toContain(`Loaded image: ${NAME}`);
    expect(out).toContain('Loaded image: localhost:5000/team/other:2');
    const [info] = JSON.parse(p('image', 'inspect', NAME)) as Array<Record<string, any>>;
    expect(info?.Id).toBe(image.config.digest.slice(7));
    expect(info?.Config).toEqual(image.configJson.config);
    expect(info?.RootFS.Layers).toEqual(built.layers.map((l) => l.diffID));
    expect(info?.Created).toBe('2024-01-02T03:04:05Z');
    expect(info?.History).toEqual(built.history);
    const [second] = JSON.parse(p('image', 'inspect', 'localhost:5000/team/other:2')) as Array<Record<string, any>>;
    expect(second?.Config).toEqual({ User: '1000', Cmd: ['/other'] });
  });

  test('what podman saves, we load: same image ID, same manifest digest', async () => {
    const { store, image } = await storeWithImage();
    const file = await saveDocker(store, [{ target: image.manifest, names: [NAME] }]);
    const p = await podman();
    p('load', '-i', file);
    const dir = await tempDir();
    // podman's docker-archive links each <id>/layer.tar to <diffid>.tar.
    p('save', '--format', 'docker-archive', '-o', path.join(dir, 'podman.tar'), NAME);
    expect(runOk('tar', ['-tvf', path.join(dir, 'podman.tar')])).toMatch(/layer\.tar -> /);

    const fresh = await openStore(path.join(dir, 'root'));
    const loaded = await loadArchiveFile(fresh, path.join(dir, 'podman.tar'));
    expect(loaded.format).toBe('docker');
    await nameLoadedImages(fresh, loaded.images);
    const [only] = loaded.images;
    expect(only?.names).toEqual([NAME]);
    expect(only?.details.configDescriptor.digest).toBe(image.config.digest);
    // Layers come back as the same gzip blobs, so the manifest is identical.
    expect(only?.target).toEqual(image.manifest);
    expect((await fresh.getTag(NAME))?.target.digest).toBe(image.manifest.digest);
  });

  test('podman save --format oci-archive loads too', async () => {
    const { store, image } = await storeWithImage();
    const file = await saveDocker(store, [{ target: image.manifest, names: [NAME] }]);
    const p = await podman();
    p('load', '-i', file);
    const dir = await tempDir();
    p('save', '--format', 'oci-archive', '-o', path.join(dir, 'oci.tar'), NAME);
    const fresh = await openStore(path.join(dir, 'root'));
    const loaded = await loadArchiveFile(fresh, path.join(dir, 'oci.tar'));
    expect(loaded.format).toBe('oci');
    expect(loaded.images[0]?.details.configDescriptor.digest).toBe(image.config.digest);
  });
});

describe('docker archive import', () => {
  test('save → load into an empty store gives the same manifest digest', async () => {
    const { store, image, built } = await storeWithImage();
    const other = await writeImage(store, { ...built, config: { Cmd: ['other'] } });
    const file = await saveDocker(store, [
      { target: image.manifest, names: [NAME] },
      { target: other.manifest, names: [] },
    ]);
    const fresh = await openStore(path.join(await tempDir(), 'root'));
    const loaded = await loadArchiveFile(fresh, file);
    expect(loaded.images.map((i) => [i.target, i.names])).toEqual([
      [image.manifest, [NAME]],
      [other.manifest, []],
    ]);
  });

  test('a layer that does not hash to its diff_id is refused and not stored', async () => {
    const { store, image, built } = await storeWithImage();
    const file = await saveDocker(store, [{ target: image.manifest, names: [NAME] }]);
    const dir = await tempDir();
    runOk('tar', ['-C', dir, '-xf', file]);
    const victim = path.join(dir, built.layers[0]!.diffID.slice(7), 'layer.tar');
    const bytes = await readFile(victim);
    bytes.writeUInt8(bytes.readUInt8(600) ^ 0xff, 600); // inside the first file's body
    await chmod(victim, 0o644);
    await writeFile(victim, bytes);
    const bad = path.join(dir, 'bad.tar');
    runOk('tar', ['-C', dir, '-cf', bad, 'manifest.json', 'repositories', `${image.config.digest.slice(7)}.json`,
      ...built.layers.map((l) => `${l.diffID.slice(7)}/layer.tar`)]);

    const root = path.join(dir, 'root');
    const fresh = await openStore(root);
    const err = (await loadArchiveFile(fresh, bad).catch((e: unknown) => e)) as ImageError;
    expect(err.code).toBe('TSB_IMAGE_DIGEST_MISMATCH');
    expect(err.digest).toBe(built.layers[0]!.diffID);
    expect(await readdir(path.join(root, 'blobs', 'sha256'))).toEqual([]);
    expect(await readdir(path.join(root, 'tmp'))).toEqual([]);
  });

  test('gzip-compressed layer files are kept as they are and checked after inflating', async () => {
    const { store, image, built } = await storeWithImage();
    const file = await saveDocker(store, [{ target: image.manifest, names: [NAME] }]);
    const dir = await tempDir();
    runOk('tar', ['-C', dir, '-xf', file]);
    for (const l of built.layers) runOk('sh', ['-c', `cd '${dir}/${l.diffID.slice(7)}' && gzip -n -9 layer.tar && mv layer.tar.gz layer.tar`]);
    runOk('tar', ['-C', dir, '-cf', path.join(dir, 'gz.tar'), '--exclude', 'gz.tar', '.']);
    const fresh = await openStore(path.join(dir, 'root'));
    const [loaded] = (await loadArchiveFile(fresh, path.join(dir, 'gz.tar'))).images;
    expect(loaded?.details.configDescriptor.digest).toBe(image.config.digest);
    expect(loaded?.details.layers.map((l) => l.diffID)).toEqual(built.layers.map((l) => l.diffID));
    const gz = runOk('sh', ['-c', `sha256sum '${dir}/${built.layers[0]!.diffID.slice(7)}/layer.tar'`]).split(' ')[0];
    expect(loaded?.details.layers[0]?.digest).toBe(`sha256:${gz}`);
  });

  test('a config that does not match its file name is refused', async () => {
    const { store, image } = await storeWithImage();
    const file = await saveDocker(store, [{ target: image.manifest, names: [NAME] }]);
    const dir = await tempDir();
    runOk('tar', ['-C', dir, '-xf', file]);
    const config = path.join(dir, `${image.config.digest.slice(7)}.json`);
    await writeFile(config, (await readFile(config, 'utf8')).replace('"/bin/app"', '"/bin/evil"'));
    runOk('tar', ['-C', dir, '-cf', path.join(dir, 'bad.tar'), '--exclude', 'bad.tar', '.']);
    const fresh = await openStore(path.join(dir, 'root'));
    await expect(loadArchiveFile(fresh, path.join(dir, 'bad.tar'))).rejects.toMatchObject({ code: 'TSB_IMAGE_DIGEST_MISMATCH' });
  });

  test('not an image archive', async () => {
    const dir = await tempDir();
    await writeFile(path.join(dir, 'hello'), 'hi');
    runOk('tar', ['-C', dir, '-cf', path.join(dir, 'plain.tar'), 'hello']);
    const fresh = await openStore(path.join(dir, 'root'));
    await expect(loadArchiveFile(fresh, path.join(dir, 'plain.tar'))).rejects.toMatchObject({ code: 'TSB_IMAGE_ARCHIVE' });
    await writeFile(path.join(dir, 'garbage.tar'), 'this is not a tar file at all'.repeat(40));
    await expect(loadArchiveFile(fresh, path.join(dir, 'garbage.tar'))).rejects.toMatchObject({ code: 'TSB_IMAGE_ARCHIVE' });
    await expect(loadArchiveFile(fresh, path.join(dir, 'missing.tar'))).rejects.toMatchObject({ code: 'TSB_IMAGE_ARCHIVE' });
  });
});
