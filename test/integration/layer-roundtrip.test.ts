// walkDirectory → writeLayer → applyLayer against real directories and the
// real content store: the extracted tree must equal the source tree.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, chown, link, lutimes, mkdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { applyLayer, walkDirectory, writeLayer, type LayerEntry } from '../../executor/layer/index.js';
import { openStore } from '../../src/store/index.js';
import { snapshotTree, tempDir } from '../security/helpers/tree.js';

const run = promisify(execFile);

/** Depth-first order: compare paths component by component, bytewise. */
function walkOrder(x: string, y: string): number {
  const a = x.split('/');
  const b = y.split('/');
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = Buffer.compare(Buffer.from(a[i] as string), Buffer.from(b[i] as string));
    if (c !== 0) return c;
  }
  return a.length - b.length;
}
const isRoot = process.getuid?.() === 0;
const MiB = 1024 * 1024;

/** Files, dirs, symlinks, hard links, setuid, empty file, fifo, odd names. */
async function buildTree(root: string, mtime = new Date('2023-05-06T07:08:09Z')): Promise<void> {
  const w = async (rel: string, body: string | Buffer, mode = 0o644): Promise<void> => {
    const p = path.join(root, rel);
    await mkdir(path.dirname(p), { recursive: true });
    await writeFile(p, body);
    await chmod(p, mode);
  };
  await w('a/b/hello.txt', 'hello\n');
  await w('a-c', 'sorts before a/');
  await w('a.d', 'also before a/');
  await w('empty', '');
  await w('bin/su', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 1, 2, 3]), 0o4755);
  await link(path.join(root, 'bin/su'), path.join(root, 'bin/su-hardlink'));
  await link(path.join(root, 'bin/su'), path.join(root, 'a/su-third-link'));
  await w('secret', 'no permissions', 0o000);
  await w('grüße/日本語.txt', 'unicode\n');
  await w(`${'long-directory-name-'.repeat(6)}/${'f'.repeat(150)}`, 'long path\n');
  await w('etc/owned', 'uid 1234\n', 0o640);
  if (isRoot) await chown(path.join(root, 'etc/owned'), 1234, 5678);
  await mkdir(path.join(root, 'shared'));
  await chmod(path.join(root, 'shared'), 0o2775);
  await mkdir(path.join(root, 'tmp'));
  await chmod(path.join(root, 'tmp'), 0o1777);
  await mkdir(path.join(root, 'empty-dir'), { mode: 0o700 });
  await chmod(path.join(root, 'empty-dir'), 0o700);
  await symlink('b/hello.txt', path.join(root, 'a/link'));
  await symlink('/etc/passwd', path.join(root, 'abs-link'));
  await symlink('a', path.join(root, 'dir-link'));
  await symlink('../nowhere', path.join(root, 'a/dangling'));
  await run('mkfifo', ['-m', '0640', path.join(root, 'a/fifo')]);
  await chmod(path.join(root, 'a/fifo'), 0o640);
  // Fixed mtimes everywhere, deepest first so directories keep theirs.
  const snap = await snapshotTree(root);
  for (const rel of Object.keys(snap).reverse()) {
    const p = path.join(root, rel);
    if (snap[rel]?.type === 'symlink') await lutimes(p, mtime, mtime);
    else await utimes(p, mtime, mtime);
  }
}

async function roundTrip(src: string, dst: string, opts: { sourceDateEpoch?: number } = {}) {
  const store = await openStore(await tempDir('tsb-layer-store-'));
  const layer = await writeLayer(walkDirectory(src), store, opts);
  const applied = await applyLayer(store.openBlob(layer.digest), dst, { whiteouts: 'apply' });
  return { store, layer, applied };
}

describe('layer round trip', () => {
  test('walk → writeLayer → applyLayer reproduces the tree', async () => {
    const src = await tempDir();
    const dst = await tempDir();
    await buildTree(src);
    const { store, layer, applied } = await roundTrip(src, dst);

    expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar+gzip');
    expect(applied.compression).toBe('gzip');
    const want = await snapshotTree(src, { mtimes: true });
    expect(await snapshotTree(dst, { mtimes: true })).toEqual(want);
    expect(applied.entries).toBe(Object.keys(want).length);
    expect(want['bin/su']).toMatchObject({ mode: 0o4755, inodeGroup: 'a/su-third-link' });
    expect(want['bin/su-hardlink']?.inodeGroup).toBe('a/su-third-link');
    expect(want['a/fifo']?.type).toBe('fifo');
    if (isRoot) expect(want['etc/owned']).toMatchObject({ uid: 1234, gid: 5678 });

    // diffID is the sha256 of the uncompressed tar, digest that of the blob.
    const h = createHash('sha256');
    let n = 0;
    await pipeline(store.openBlob(layer.digest), createGunzip(), async (source: AsyncIterable<Buffer>) => {
      for await (const c of source) {
        h.update(c);
        n += c.length;
      }
    });
    expect(`sha256:${h.digest('hex')}`).toBe(layer.diffID);
    expect(n).toBe(layer.uncompressedSize);
    const blob = await readFile(store.blobPath(layer.digest));
    expect(blob.length).toBe(layer.size);
    expect(`sha256:${createHash('sha256').update(blob).digest('hex')}`).toBe(layer.digest);
    // gzip header: no FNAME/FCOMMENT/FEXTRA flags, MTIME 0, OS unix.
    expect([...blob.subarray(0, 8)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]);
    expect(blob[9]).toBe(3);
  });

  test('GNU tar extracts our layer to the same tree', async () => {
    const src = await tempDir();
    const out = await tempDir();
    await buildTree(src);
    const store = await openStore(await tempDir('tsb-layer-store-'));
    const layer = await writeLayer(walkDirectory(src), store);
    await run('tar', ['-xzpf', store.blobPath(layer.digest), '-C', out, '--same-owner', '--numeric-owner']);
    expect(await snapshotTree(out, { mtimes: true })).toEqual(await snapshotTree(src, { mtimes: true }));
  });

  test('the same tree written twice gives the same digest; SOURCE_DATE_EPOCH hides newer mtimes', async () => {
    const one = await tempDir();
    const two = await tempDir();
    await buildTree(one, new Date('2030-01-01T00:00:00Z'));
    await buildTree(two, new Date('2031-06-01T00:00:00Z'));
    const store = await openStore(await tempDir('tsb-layer-store-'));
    const a1 = await writeLayer(walkDirectory(one), store);
    const a2 = await writeLayer(walkDirectory(one), store);
    expect(a2).toEqual(a1);
    const b = await writeLayer(walkDirectory(two), store);
    expect(b.diffID).not.toBe(a1.diffID);
    const epoch = Math.floor(new Date('2024-01-01T00:00:00Z').getTime() / 1000);
    const c1 = await writeLayer(walkDirectory(one), store, { sourceDateEpoch: epoch });
    const c2 = await writeLayer(walkDirectory(two), store, { sourceDateEpoch: epoch });
    expect(c2.digest).toBe(c1.digest);
    expect(c2.diffID).toBe(c1.diffID);
  });

  test('uncompressed layers have digest == diffID', async () => {
    const src = await tempDir();
    const dst = await tempDir();
    await buildTree(src);
    const store = await openStore(await tempDir('tsb-layer-store-'));
    const layer = await writeLayer(walkDirectory(src), store, { compression: 'none' });
    expect(layer.mediaType).toBe('application/vnd.oci.image.layer.v1.tar');
    expect(layer.digest).toBe(layer.diffID);
    expect(layer.size).toBe(layer.uncompressedSize);
    const applied = await applyLayer(store.openBlob(layer.digest), dst, { whiteouts: 'apply' });
    expect(applied.compression).toBe('none');
    expect(await snapshotTree(dst, { mtimes: true })).toEqual(await snapshotTree(src, { mtimes: true }));
  });

  test('applyLayer fed one byte at a time gives the same tree', async () => {
    const src = await tempDir();
    const dst = await tempDir();
    await buildTree(src);
    const store = await openStore(await tempDir('tsb-layer-store-'));
    const layer = await writeLayer(walkDirectory(src), store);
    const blob = await readFile(store.blobPath(layer.digest)); // small test layer
    const oneByte = Readable.from(
      (function* () {
        for (let i = 0; i < blob.length; i++) yield blob.subarray(i, i + 1);
      })(),
    );
    await applyLayer(oneByte, dst, { whiteouts: 'apply' });
    expect(await snapshotTree(dst, { mtimes: true })).toEqual(await snapshotTree(src, { mtimes: true }));
  });

  test('walk honours prefix and filter', async () => {
    const src = await tempDir();
    await buildTree(src);
    const seen: LayerEntry[] = [];
    for await (const e of walkDirectory(src, { prefix: '/app/', filter: (rel, isDir) => !(isDir && rel === 'a') && rel !== 'secret' })) seen.push(e);
    const paths = seen.map((e) => e.path);
    expect(paths.every((p) => p.startsWith('app/'))).toBe(true);
    expect(paths).not.toContain('app/a');
    expect(paths).not.toContain('app/a/b/hello.txt');
    expect(paths).not.toContain('app/secret');
    expect(paths).toContain('app/a-c');
    expect(paths).toEqual([...paths].sort(walkOrder));
  });

  test('walk order is depth first by name bytes and hard links point at the first path', async () => {
    const src = await tempDir();
    await buildTree(src);
    const seen: LayerEntry[] = [];
    for await (const e of walkDirectory(src)) seen.push(e);
    const paths = seen.map((e) => e.path);
    expect(paths).toEqual([...paths].sort(walkOrder));
    // Each directory's subtree directly follows it ('-' and '.' sort before '/').
    expect(paths.slice(0, 8)).toEqual(['a', 'a/b', 'a/b/hello.txt', 'a/dangling', 'a/fifo', 'a/link', 'a/su-third-link', 'a-c']);
    const links = seen.filter((e) => e.type === 'hardlink').map((e) => [e.path, e.linkname]);
    expect(links).toEqual([
      ['bin/su', 'a/su-third-link'],
      ['bin/su-hardlink', 'a/su-third-link'],
    ]);
  });

  test.skipIf(!isRoot)('device nodes round-trip when allowed (needs root)', async () => {
    const src = await tempDir();
    const dst = await tempDir();
    await run('mknod', ['-m', '0666', path.join(src, 'null'), 'c', '1', '3']);
    const store = await openStore(await tempDir('tsb-layer-store-'));
    const layer = await writeLayer(walkDirectory(src), store);
    await expect(applyLayer(store.openBlob(layer.digest), dst, { whiteouts: 'apply' })).rejects.toMatchObject({
      code: 'TSB_LAYER_DEVICE_NODE',
    });
    await applyLayer(store.openBlob(layer.digest), dst, { whiteouts: 'apply', allowDevices: true });
    expect(await snapshotTree(dst)).toEqual(await snapshotTree(src));
  });

  test('an aborted writeLayer leaves no blob and no temp file', async () => {
    const src = await tempDir();
    await buildTree(src);
    const storeRoot = await tempDir('tsb-layer-store-');
    const store = await openStore(storeRoot);
    const ac = new AbortController();
    async function* slow(): AsyncGenerator<LayerEntry> {
      for await (const e of walkDirectory(src)) {
        yield e;
        ac.abort();
      }
    }
    await expect(writeLayer(slow(), store, { signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    const { readdir } = await import('node:fs/promises');
    expect(await readdir(path.join(storeRoot, 'blobs', 'sha256'))).toEqual([]);
    expect(await readdir(path.join(storeRoot, 'tmp'))).toEqual([]);
  });
});

describe('a 100 MB layer streams', () => {
  test('writeLayer and applyLayer stay far below the layer size in RSS', async () => {
    const src = await tempDir();
    const dst = await tempDir();
    const size = 100 * MiB;
    // Incompressible bytes (AES-CTR keystream), written in 1 MiB chunks.
    const { createCipheriv } = await import('node:crypto');
    const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, 1), Buffer.alloc(16));
    await pipeline(
      Readable.from(
        (function* () {
          for (let left = size; left > 0; left -= MiB) yield cipher.update(Buffer.alloc(MiB));
        })(),
      ),
      createWriteStream(path.join(src, 'big.bin')),
    );
    const store = await openStore(await tempDir('tsb-layer-store-'));

    const measure = async <T>(fn: () => Promise<T>): Promise<{ result: T; growth: number; seconds: number }> => {
      const before = process.memoryUsage().rss;
      let peak = before;
      const timer = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().rss);
      }, 5);
      const t0 = process.hrtime.bigint();
      try {
        const result = await fn();
        peak = Math.max(peak, process.memoryUsage().rss);
        return { result, growth: peak - before, seconds: Number(process.hrtime.bigint() - t0) / 1e9 };
      } finally {
        clearInterval(timer);
      }
    };

    const w = await measure(() => writeLayer(walkDirectory(src), store));
    const a = await measure(() => applyLayer(store.openBlob(w.result.digest), dst, { whiteouts: 'apply' }));
    const report = {
      writeRssGrowthMiB: +(w.growth / MiB).toFixed(1),
      writeMiBps: +(size / MiB / w.seconds).toFixed(1),
      applyRssGrowthMiB: +(a.growth / MiB).toFixed(1),
      applyMiBps: +(size / MiB / a.seconds).toFixed(1),
    };
    console.log(`100 MiB layer: ${JSON.stringify(report)}`);
    expect(w.growth).toBeLessThan(64 * MiB);
    expect(a.growth).toBeLessThan(64 * MiB);
    expect(w.result.uncompressedSize).toBeGreaterThan(size);

    const { sha256File } = await import('../security/helpers/tree.js');
    expect(await sha256File(path.join(dst, 'big.bin'))).toBe(await sha256File(path.join(src, 'big.bin')));
    void createReadStream;
  }, 120_000);
});
