// images / tag / rmi / inspect / prune / save / load through bin/tsbuild,
// on images written with writeImage into a temp --root.
import { spawnSync } from 'node:child_process';
import { readdir, utimes } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { writeImage, type WrittenImage } from '../../src/image/index.js';
import { openStore, type ContentStore } from '../../src/store/index.js';
import { builtImage, SAMPLE, tempDir } from '../integration/fixtures/image-helpers.js';

const BIN = new URL('../../bin/tsbuild', import.meta.url).pathname;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  bytes: Buffer;
}

function tsbuild(root: string, args: string[], input?: Buffer): Result {
  const r = spawnSync(BIN, ['--root', root, ...args], { input: input ?? Buffer.alloc(0), maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), bytes: r.stdout };
}

interface Seeded {
  root: string;
  store: ContentStore;
  app: WrittenImage;
  other: WrittenImage;
}

/** A root with `app` tagged app:v1 and localhost:5000/team/app:2, and `other` tagged user/other. */
async function seed(): Promise<Seeded> {
  const root = await tempDir('tsbuild-e2e-root-');
  const store = await openStore(root);
  const app = await writeImage(store, await builtImage(store, SAMPLE));
  const other = await writeImage(store, await builtImage(store, { layers: [{ tree: { 'opt/other.txt': 'other\n' } }] }));
  await store.setTag('docker.io/library/app:v1', app.manifest);
  await store.setTag('localhost:5000/team/app:2', app.manifest);
  await store.setTag('docker.io/user/other:latest', other.manifest);
  return { root, store, app, other };
}

const short = (d: string): string => d.slice(7, 19);

/** Make every blob older than gc's grace period. */
async function ageBlobs(root: string): Promise<void> {
  const dir = path.join(root, 'blobs', 'sha256');
  const old = new Date(Date.now() - 3600_000);
  for (const name of await readdir(dir)) await utimes(path.join(dir, name), old, old);
}

describe('tsbuild images', () => {
  test('lists every name like docker, newest first; -q prints each image ID once', async () => {
    const { root, app, other } = await seed();
    const r = tsbuild(root, ['images']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^REPOSITORY\s{3,}TAG\s{3,}IMAGE ID\s{3,}CREATED\s{3,}SIZE$/);
    expect(lines.slice(1).map((l) => l.split(/\s{3,}/).slice(0, 3))).toEqual([
      ['app', 'v1', short(app.config.digest)],
      ['localhost:5000/team/app', '2', short(app.config.digest)],
      ['user/other', 'latest', short(other.config.digest)],
    ]);
    expect(lines[1]).toMatch(/ years ago\s+567B$/);
    expect(lines[3]).toMatch(/N\/A\s+\d+B$/);
    const q = tsbuild(root, ['images', '-q']);
    expect(q.stdout).toBe(`${short(app.config.digest)}\n${short(other.config.digest)}\n`);
  });

  test('an empty store prints the header only', async () => {
    const root = await tempDir();
    expect(tsbuild(root, ['images']).stdout).toBe('REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n');
  });
});

describe('tsbuild tag', () => {
  test('tags by name and by ID prefix; refuses digests, unknown sources and bad names', async () => {
    const { root, store, app, other } = await seed();
    expect(tsbuild(root, ['tag', 'app:v1', 'registry.example/app:prod']).code).toBe(0);
    expect((await store.getTag('registry.example/app:prod'))?.target).toEqual(app.manifest);
    expect(tsbuild(root, ['tag', short(other.config.digest), 'again']).code).toBe(0);
    expect((await store.getTag('docker.io/library/again:latest'))?.target).toEqual(other.manifest);

    const digestTarget = tsbuild(root, ['tag', 'app:v1', `x@${app.manifest.digest}`]);
    expect(digestTarget.code).toBe(2);
    expect(digestTarget.stderr).toContain('(TSB_CLI_USAGE)');
    const missing = tsbuild(root, ['tag', 'nope', 'x']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No such image: nope (TSB_IMAGE_NOT_FOUND)');
    const bad = tsbuild(root, ['tag', 'app:v1', 'Bad/Name']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('(TSB_REF_INVALID)');
  });
});

describe('tsbuild rmi', () => {
  test('a name untags; an ID with several names needs -f; failures do not stop the rest', async () => {
    const { root, store, app, other } = await seed();
    const one = tsbuild(root, ['rmi', 'localhost:5000/team/app:2']);
    expect(one.code).toBe(0);
    expect(one.stdout).toBe('Untagged: localhost:5000/team/app:2\n');

    await store.setTag('docker.io/library/app:v2', app.manifest);
    const conflict = tsbuild(root, ['rmi', short(app.config.digest)]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toContain('(TSB_IMAGE_CONFLICT)');
    expect(await store.getTag('docker.io/library/app:v1')).not.toBeNull();

    const forced = tsbuild(root, ['rmi', '-f', short(app.config.digest), 'nope', 'user/other']);
    expect(forced.code).toBe(1);
    expect(forced.stdout).toBe(
      `Untagged: app:v1\nUntagged: app:v2\nDeleted: ${app.config.digest}\nUntagged: user/other:latest\nDeleted: ${other.config.digest}\n`,
    );
    expect(forced.stderr).toContain('No such image: nope (TSB_IMAGE_NOT_FOUND)');
    expect(await store.listTags()).toEqual([]);
    // Blobs stay until prune.
    expect(await store.hasBlob(app.manifest.digest)).toBe(true);
  });
});

describe('tsbuild inspect', () => {
  test('a docker-like JSON array with config, rootfs, history and manifest', async () => {
    const { root, app } = await seed();
    const r = tsbuild(root, ['inspect', 'app:v1', short(app.config.digest)]);
    expect(r.code).toBe(0);
    const [first, second] = JSON.parse(r.stdout) as Array<Record<string, any>>;
    expect(first).toMatchObject({
      Id: app.config.digest,
      RepoTags: ['app:v1', 'localhost:5000/team/app:2'],
      RepoDigests: [`app@${app.manifest.digest}`, `localhost:5000/team/app@${app.manifest.digest}`],
      Created: '2024-01-02T03:04:05Z',
      Architecture: 'amd64',
      Os: 'linux',
      Config: { Cmd: ['/bin/app'], WorkingDir: '/srv', Labels: { 'org.example.a': '1', 'org.example.b': '2' } },
      RootFS: { Type: 'layers', Layers: app.configJson.rootfs.diff_ids },
      History: app.configJson.history,
      Descriptor: app.manifest,
    });
    expect(first?.Manifest.config.digest).toBe(app.config.digest);
    expect(second?.Id).toBe(app.config.digest);
  });

  test('prints what it found and fails for what it did not', async () => {
    const { root, app } = await seed();
    const r = tsbuild(root, ['inspect', 'nope', 'app:v1']);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as Array<{ Id: string }>).map((i) => i.Id)).toEqual([app.config.digest]);
    expect(r.stderr).toContain('No such object: nope (TSB_IMAGE_NOT_FOUND)');
  });
});

describe('tsbuild prune', () => {
  test('reclaims the blobs of removed images only; -a also drops build cache records', async () => {
    const { root, store, app, other } = await seed();
    const cacheLayer = (await builtImage(store, { layers: [{ tree: { cached: 'c' } }] })).layers[0]!;
    await store.putRecord('cache', 'k1', { version: 1, blobs: [cacheLayer.digest] });
    tsbuild(root, ['rmi', 'user/other']);
    await ageBlobs(root);

    const r = tsbuild(root, ['prune']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Deleted blobs: 3\nTotal reclaimed space: \d+(\.\d+)?k?B\n$/);
    expect(await store.hasBlob(other.manifest.digest)).toBe(false);
    expect(await store.hasBlob(other.config.digest)).toBe(false);
    expect(await store.hasBlob(app.manifest.digest)).toBe(true);
    expect(await store.hasBlob(cacheLayer.digest)).toBe(true);
    expect(tsbuild(root, ['images', '-q']).stdout).toBe(`${short(app.config.digest)}\n`);

    const all = tsbuild(root, ['prune', '-a']);
    expect(all.stdout).toMatch(/^Deleted build cache records: 1\nDeleted blobs: 1\nTotal reclaimed space: \d+B\n$/);
    expect(await store.hasBlob(cacheLayer.digest)).toBe(false);
    expect(await store.hasBlob(app.manifest.digest)).toBe(true);
  });

  test('blobs younger than the grace period survive (a concurrent build may not have tagged them yet)', async () => {
    const { root, store, other } = await seed();
    tsbuild(root, ['rmi', 'user/other']);
    expect(tsbuild(root, ['prune']).stdout).toBe('Total reclaimed space: 0B\n');
    expect(await store.hasBlob(other.manifest.digest)).toBe(true);
  });
});

describe('tsbuild save / load', () => {
  test('docker format through a file: loads into an empty root with the same digests', async () => {
    const { root, app, other } = await seed();
    const file = path.join(await tempDir(), 'images.tar');
    const saved = tsbuild(root, ['save', '-o', file, 'app:v1', 'user/other']);
    expect(saved.code).toBe(0);
    expect(saved.stdout).toBe('');

    const fresh = await tempDir();
    const loaded = tsbuild(fresh, ['load', '-i', file]);
    expect(loaded.code).toBe(0);
    expect(loaded.stdout).toBe('Loaded image: app:v1\nLoaded image: user/other:latest\n');
    const inspect = JSON.parse(tsbuild(fresh, ['inspect', 'app:v1', 'user/other']).stdout) as Array<{ Id: string; Descriptor: unknown }>;
    expect(inspect.map((i) => i.Descriptor)).toEqual([app.manifest, other.manifest]);
  });

  test('OCI format through stdout and stdin', async () => {
    const { root, app } = await seed();
    const saved = tsbuild(root, ['save', '--format', 'oci', 'localhost:5000/team/app:2']);
    expect(saved.code).toBe(0);
    expect(saved.bytes.subarray(0, 10).toString()).toBe('oci-layout');
    const fresh = await tempDir();
    const loaded = tsbuild(fresh, ['load'], saved.bytes);
    expect(loaded.stderr).toBe('');
    expect(loaded.stdout).toBe('Loaded image: localhost:5000/team/app:2\n');
    const [info] = JSON.parse(tsbuild(fresh, ['inspect', 'localhost:5000/team/app:2']).stdout) as Array<{ Descriptor: unknown }>;
    expect(info?.Descriptor).toEqual(app.manifest);
  });

  test('an image saved by ID loads untagged and is listed as <none>', async () => {
    const { root, app } = await seed();
    const saved = tsbuild(root, ['save', short(app.config.digest)]);
    const fresh = await tempDir();
    expect(tsbuild(fresh, ['load'], saved.bytes).stdout).toBe(`Loaded image ID: ${app.config.digest}\n`);
    expect(tsbuild(fresh, ['images']).stdout).toMatch(new RegExp(`^<none>\\s+<none>\\s+${short(app.config.digest)}\\s`, 'm'));
    expect(tsbuild(fresh, ['rmi', short(app.config.digest)]).stdout).toBe(`Deleted: ${app.config.digest}\n`);
    expect(tsbuild(fresh, ['images', '-q']).stdout).toBe('');
  });

  test('load refuses what is not an image archive; save refuses unknown images', async () => {
    const { root } = await seed();
    const r = tsbuild(root, ['load'], Buffer.from('not a tar'.repeat(100)));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('(TSB_IMAGE_ARCHIVE)');
    const s = tsbuild(root, ['save', '-o', path.join(await tempDir(), 'x.tar'), 'nope']);
    expect(s.code).toBe(1);
    expect(s.stderr).toContain('(TSB_IMAGE_NOT_FOUND)');
  });
});

test('the image commands are no longer marked as not implemented', () => {
  const r = spawnSync(BIN, ['--help'], { encoding: 'utf8' });
  for (const c of ['images', 'tag', 'rmi', 'inspect', 'prune', 'save', 'load']) {
    const line = r.stdout.split('\n').find((l) => l.startsWith(`  ${c} `));
    expect(line).toBeDefined();
    expect(line).not.toContain('not implemented');
  }
});
