// The content store against the real filesystem: blobs, tags, records and
// the validation that keeps every name inside the root.
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, test } from 'vitest';
import { StoreError, openStore, type ContentStore, type Descriptor, type Digest } from '../../src/store/index.js';
import { MiB, listFiles, pseudoRandomChunks, sha256File, tempDir } from './fixtures/store-helpers.js';

const HELLO_DIGEST = 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824' as Digest;
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

async function newStore(): Promise<ContentStore> {
  return openStore(path.join(await tempDir(), 'root'));
}

async function expectStoreError(p: Promise<unknown> | (() => unknown), code: string): Promise<StoreError> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(StoreError);
  expect((err as StoreError).code).toBe(code);
  return err as StoreError;
}

function desc(digest: Digest, size = 2): Descriptor {
  return { mediaType: MANIFEST, digest, size };
}

describe('layout', () => {
  test('openStore creates the layout and is idempotent', async () => {
    const root = path.join(await tempDir(), 'a', 'b', 'root');
    const store = await openStore(root);
    expect(store.root).toBe(root);
    expect((await readdir(root)).sort()).toEqual(['blobs', 'records', 'tags', 'tmp']);
    expect(await readdir(path.join(root, 'blobs'))).toEqual(['sha256']);
    await store.writeBlob('hello');
    const again = await openStore(root);
    expect(await again.hasBlob(HELLO_DIGEST)).toBe(true);
  });

  test('a relative root is made absolute', async () => {
    const dir = await tempDir();
    const prev = process.cwd();
    process.chdir(dir);
    try {
      const store = await openStore('rel-root');
      expect(store.root).toBe(path.join(dir, 'rel-root'));
    } finally {
      process.chdir(prev);
    }
  });
});

describe('blobs', () => {
  test('round trip through writeBlob, readBlob, openBlob and blobPath', async () => {
    const store = await newStore();
    expect(await store.hasBlob(HELLO_DIGEST)).toBe(false);
    const res = await store.writeBlob('hello');
    expect(res).toEqual({ digest: HELLO_DIGEST, size: 5 });
    expect(await store.hasBlob(HELLO_DIGEST)).toBe(true);
    expect((await store.readBlob(HELLO_DIGEST)).toString()).toBe('hello');
    const chunks: Buffer[] = [];
    for await (const c of store.openBlob(HELLO_DIGEST)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('hello');
    const file = store.blobPath(HELLO_DIGEST);
    expect(file).toBe(path.join(store.root, 'blobs', 'sha256', HELLO_DIGEST.slice(7)));
    expect(await readFile(file, 'utf8')).toBe('hello');
    // committed blobs are read-only
    expect((await stat(file)).mode & 0o777).toBe(0o444);
    expect(await listFiles(path.join(store.root, 'tmp'))).toEqual([]);
  });

  test('writeBlob with the right expected digest, binary data and empty blob', async () => {
    const store = await newStore();
    const bin = Buffer.from([0, 1, 2, 255, 254]);
    const d = `sha256:${createHash('sha256').update(bin).digest('hex')}` as Digest;
    expect(await store.writeBlob(bin, d)).toEqual({ digest: d, size: 5 });
    expect(await store.readBlob(d)).toEqual(bin);
    const empty = await store.writeBlob(Buffer.alloc(0));
    expect(empty).toEqual({ digest: 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', size: 0 });
    expect((await store.readBlob(empty.digest)).length).toBe(0);
  });

  test('reading a missing blob is TSB_STORE_BLOB_UNKNOWN, for readBlob and openBlob', async () => {
    const store = await newStore();
    const err = await expectStoreError(store.readBlob(HELLO_DIGEST), 'TSB_STORE_BLOB_UNKNOWN');
    expect(err.path).toBe(store.blobPath(HELLO_DIGEST));
    await expectStoreError(
      (async () => {
        for await (const _ of store.openBlob(HELLO_DIGEST)) void _;
      })(),
      'TSB_STORE_BLOB_UNKNOWN',
    );
  });

  test('streams a 50 MiB blob through the writer without holding it in memory', async () => {
    const store = await newStore();
    const size = 50 * MiB;
    const expected = createHash('sha256');
    // Live off-heap memory is only measurable after a collection; expose gc()
    // for this process (a documented V8 flag, settable at run time).
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    const base = process.memoryUsage().arrayBuffers;
    let peakBuffered = 0;
    let peakLive = 0;
    const writer = await store.createBlobWriter();
    const source = Readable.from(
      (function* () {
        let n = 0;
        for (const chunk of pseudoRandomChunks('big', size, 64 * 1024)) {
          expected.update(chunk);
          peakBuffered = Math.max(peakBuffered, writer.stream.writableLength);
          if (++n % 32 === 0) {
            gc();
            peakLive = Math.max(peakLive, process.memoryUsage().arrayBuffers - base);
          }
          yield chunk;
        }
      })(),
    );
    await pipeline(source, writer.stream);
    const digest = `sha256:${expected.digest('hex')}` as Digest;
    expect(await writer.commit(digest)).toEqual({ digest, size });
    // Backpressure held: the writer never queued more than its high-water
    // mark plus one chunk ...
    expect(peakBuffered).toBeLessThanOrEqual(1 * MiB + 64 * 1024);
    // ... and nothing kept the chunks alive after they were written: live
    // buffers stayed a small fraction of the 50 MiB blob.
    expect(peakLive).toBeLessThan(12 * MiB);
    expect((await stat(store.blobPath(digest))).size).toBe(size);
    expect(await sha256File(store.blobPath(digest))).toBe(digest);
    expect(await listFiles(path.join(store.root, 'tmp'))).toEqual([]);
  });

  test('writer accepts direct write() calls and commit() ends the stream itself', async () => {
    const store = await newStore();
    const w = await store.createBlobWriter();
    w.stream.write('hel');
    w.stream.write(Buffer.from('lo'));
    expect(await w.commit()).toEqual({ digest: HELLO_DIGEST, size: 5 });
    await expectStoreError(w.commit(), 'TSB_STORE_WRITER_CLOSED');
    await w.abort(); // no-op after commit
    expect(await store.hasBlob(HELLO_DIGEST)).toBe(true);
  });

  test('rewriting an existing blob is idempotent and leaves no temp files', async () => {
    const store = await newStore();
    const first = await store.writeBlob('hello');
    const ino = (await stat(store.blobPath(HELLO_DIGEST))).ino;
    expect(await store.writeBlob('hello', HELLO_DIGEST)).toEqual(first);
    for (let i = 0; i < 2; i++) {
      const w = await store.createBlobWriter();
      await pipeline(Readable.from([Buffer.from('hello')]), w.stream);
      expect(await w.commit(HELLO_DIGEST)).toEqual(first);
    }
    // the existing file was kept, not replaced
    expect((await stat(store.blobPath(HELLO_DIGEST))).ino).toBe(ino);
    expect(await listFiles(path.join(store.root, 'blobs', 'sha256'))).toEqual([HELLO_DIGEST.slice(7)]);
    expect(await listFiles(path.join(store.root, 'tmp'))).toEqual([]);
  });

  test('a digest mismatch is rejected and leaves nothing in blobs/ or tmp/', async () => {
    const store = await newStore();
    const wrong = `sha256:${'0'.repeat(64)}` as Digest;
    const e1 = await expectStoreError(store.writeBlob('hello', wrong), 'TSB_STORE_DIGEST_MISMATCH');
    expect(e1.digest).toBe(wrong);
    expect(e1.actual).toBe(HELLO_DIGEST);

    const w = await store.createBlobWriter();
    await pipeline(Readable.from(pseudoRandomChunks('mismatch', 3 * MiB)), w.stream);
    expect((await listFiles(path.join(store.root, 'tmp'))).length).toBe(1);
    await expectStoreError(w.commit(wrong), 'TSB_STORE_DIGEST_MISMATCH');
    await expectStoreError(w.commit(), 'TSB_STORE_WRITER_CLOSED');

    expect(await listFiles(path.join(store.root, 'blobs', 'sha256'))).toEqual([]);
    expect(await listFiles(path.join(store.root, 'tmp'))).toEqual([]);
  });

  test('abort() removes the temp file, and a failed source stream can be aborted', async () => {
    const store = await newStore();
    const w = await store.createBlobWriter();
    w.stream.write('partial');
    await w.abort();
    await w.abort();
    await expectStoreError(w.commit(), 'TSB_STORE_WRITER_CLOSED');

    const w2 = await store.createBlobWriter();
    const failing = new Readable({
      read() {
        this.destroy(new Error('source broke'));
      },
    });
    await expect(pipeline(failing, w2.stream)).rejects.toThrow('source broke');
    // commit after a failed stream reports the stream's error and cleans up
    await expect(w2.commit()).rejects.toThrow('source broke');
    expect(await listFiles(path.join(store.root, 'tmp'))).toEqual([]);
    expect(await listFiles(path.join(store.root, 'blobs', 'sha256'))).toEqual([]);
  });

  test('openBlob streams with backpressure into a slow consumer', async () => {
    const store = await newStore();
    const w = await store.createBlobWriter();
    await pipeline(Readable.from(pseudoRandomChunks('slow', 4 * MiB)), w.stream);
    const { digest } = await w.commit();
    const h = createHash('sha256');
    let n = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        h.update(chunk);
        if (++n % 8 === 0) setTimeout(cb, 1);
        else cb();
      },
    });
    await pipeline(store.openBlob(digest), slow);
    expect(`sha256:${h.digest('hex')}`).toBe(digest);
  });
});

describe('tags', () => {
  test('set, get, list, overwrite and delete, with /, : and @ in names', async () => {
    const store = await newStore();
    const a = await store.writeBlob('{"a":1}');
    const b = await store.writeBlob('{"b":2}');
    const names = [
      'docker.io/library/busybox:latest',
      'localhost:5000/team/app:v1.2.3-rc_1',
      'registry.example/app@sha256:' + 'ab'.repeat(32),
      'app',
    ];
    for (const n of names) await store.setTag(n, desc(a.digest, a.size));
    for (const n of names) {
      const rec = await store.getTag(n);
      expect(rec?.name).toBe(n);
      expect(rec?.target).toEqual(desc(a.digest, a.size));
      expect(Number.isNaN(Date.parse(rec?.updated ?? ''))).toBe(false);
    }
    expect((await store.listTags()).map((t) => t.name)).toEqual([...names].sort());
    // one flat file per tag; no subdirectories from the slashes
    const files = await readdir(path.join(store.root, 'tags'), { withFileTypes: true });
    expect(files.length).toBe(names.length);
    expect(files.every((f) => f.isFile() && f.name.endsWith('.json'))).toBe(true);

    const withExtras: Descriptor = {
      ...desc(b.digest, b.size),
      annotations: { 'org.opencontainers.image.ref.name': 'v1' },
      platform: { architecture: 'arm64', os: 'linux', variant: 'v8' },
    };
    await store.setTag(names[0] as string, withExtras);
    expect((await store.getTag(names[0] as string))?.target).toEqual(withExtras);

    expect(await store.deleteTag(names[1] as string)).toBe(true);
    expect(await store.deleteTag(names[1] as string)).toBe(false);
    expect(await store.getTag(names[1] as string)).toBeNull();
    expect(await store.getTag('never/set:x')).toBeNull();
    expect((await store.listTags()).length).toBe(names.length - 1);
    expect(await listFiles(path.join(store.root, 'tmp'))).toEqual([]);
  });

  test('very long references fall back to hashed file names', async () => {
    const store = await newStore();
    const long = `registry.example:5000/${'deep/'.repeat(60)}app:${'t'.repeat(100)}`;
    await store.setTag(long, desc(HELLO_DIGEST, 5));
    expect((await store.getTag(long))?.name).toBe(long);
    expect((await store.listTags()).map((t) => t.name)).toEqual([long]);
    const [file] = await readdir(path.join(store.root, 'tags'));
    expect(file).toMatch(/^~[0-9a-f]{64}\.json$/);
    expect(await store.deleteTag(long)).toBe(true);
  });

  test('setTag rejects a target that is not a descriptor', async () => {
    const store = await newStore();
    const bad = [
      { mediaType: MANIFEST, digest: 'sha256:abc', size: 1 },
      { mediaType: '', digest: HELLO_DIGEST, size: 1 },
      { mediaType: MANIFEST, digest: HELLO_DIGEST, size: -1 },
      { mediaType: MANIFEST, digest: HELLO_DIGEST, size: 1.5 },
      { mediaType: MANIFEST, digest: HELLO_DIGEST, size: 1, annotations: { a: 1 } },
    ];
    for (const t of bad) await expectStoreError(store.setTag('app', t as unknown as Descriptor), 'TSB_STORE_INVALID_VALUE');
    expect(await store.listTags()).toEqual([]);
  });

  test('a damaged tag file is TSB_STORE_CORRUPT, and unknown files in tags/ are ignored', async () => {
    const store = await newStore();
    await store.setTag('app:1', desc(HELLO_DIGEST, 5));
    await writeFile(path.join(store.root, 'tags', 'README'), 'not a tag');
    await writeFile(path.join(store.root, 'tags', 'app%3A2.json'), '{"name":"app:2","tar');
    const err = await expectStoreError(store.getTag('app:2'), 'TSB_STORE_CORRUPT');
    expect(err.path).toBe(path.join(store.root, 'tags', 'app%3A2.json'));
    await expectStoreError(store.listTags(), 'TSB_STORE_CORRUPT');
    // a well-formed file under the wrong name is corrupt too
    await writeFile(
      path.join(store.root, 'tags', 'app%3A2.json'),
      JSON.stringify({ name: 'app:1', target: desc(HELLO_DIGEST, 5), updated: new Date().toISOString() }),
    );
    await expectStoreError(store.getTag('app:2'), 'TSB_STORE_CORRUPT');
  });
});

describe('records', () => {
  test('put, get, list, overwrite and delete', async () => {
    const store = await newStore();
    expect(await store.getRecord('cache', 'k')).toBeNull();
    expect(await store.listRecords('cache')).toEqual([]);
    const key = `sha256:${'cd'.repeat(32)}`;
    await store.putRecord('cache', key, { blobs: [HELLO_DIGEST], n: 1 });
    await store.putRecord('cache', 'other/key@x', [1, 2]);
    await store.putRecord('containers', 'web', { state: 'running' });
    expect(await store.getRecord('cache', key)).toEqual({ blobs: [HELLO_DIGEST], n: 1 });
    expect(await store.getRecord('cache', 'other/key@x')).toEqual([1, 2]);
    expect(await store.listRecords('cache')).toEqual([key, 'other/key@x'].sort());
    expect(await store.listRecords('containers')).toEqual(['web']);
    // the file holds exactly the value (gc and humans read it directly)
    const raw = await readFile(path.join(store.root, 'records', 'cache', `sha256%3A${'cd'.repeat(32)}.json`), 'utf8');
    expect(JSON.parse(raw)).toEqual({ blobs: [HELLO_DIGEST], n: 1 });

    await store.putRecord('cache', key, { n: 2 });
    expect(await store.getRecord('cache', key)).toEqual({ n: 2 });
    expect(await store.deleteRecord('cache', key)).toBe(true);
    expect(await store.deleteRecord('cache', key)).toBe(false);
    expect(await store.listRecords('cache')).toEqual(['other/key@x']);
    await expectStoreError(store.putRecord('cache', 'u', undefined), 'TSB_STORE_INVALID_VALUE');
    expect(await listFiles(path.join(store.root, 'tmp'))).toEqual([]);
  });

  test('a damaged record is TSB_STORE_CORRUPT', async () => {
    const store = await newStore();
    await mkdir(path.join(store.root, 'records', 'cache'), { recursive: true });
    await writeFile(path.join(store.root, 'records', 'cache', 'k.json'), '{"blobs": [');
    await expectStoreError(store.getRecord('cache', 'k'), 'TSB_STORE_CORRUPT');
  });
});

describe('hostile input never leaves the root', () => {
  const hostileNames = [
    '',
    '.',
    '..',
    '../../etc',
    '../../../../../../etc/passwd',
    '/etc/passwd',
    'a/../../b',
    'a/./b',
    'a//b',
    'a/',
    'a\\..\\..\\b',
    'a\u0000b',
    'a\nb',
    'a b',
    'caf\u00e9',
    'x'.repeat(2000),
  ];
  const hostileDigests = [
    '',
    'sha256:',
    'sha256:../../../etc/passwd',
    `sha256:${'A'.repeat(64)}`,
    `sha256:${'a'.repeat(63)}`,
    `sha256:${'a'.repeat(65)}`,
    `sha256:${'a'.repeat(64)}/x`,
    `sha256:${'a'.repeat(60)}/../`,
    `sha512:${'a'.repeat(128)}`,
    `SHA256:${'a'.repeat(64)}`,
    'a'.repeat(64),
  ];

  test('tag names', async () => {
    const dir = await tempDir();
    const store = await openStore(path.join(dir, 'root'));
    for (const name of hostileNames) {
      await expectStoreError(store.setTag(name, desc(HELLO_DIGEST)), 'TSB_STORE_INVALID_NAME');
      await expectStoreError(store.getTag(name), 'TSB_STORE_INVALID_NAME');
      await expectStoreError(store.deleteTag(name), 'TSB_STORE_INVALID_NAME');
    }
    expect(await readdir(dir)).toEqual(['root']);
    expect(await readdir(path.join(dir, 'root', 'tags'))).toEqual([]);
  });

  test('record namespaces and keys', async () => {
    const dir = await tempDir();
    const store = await openStore(path.join(dir, 'root'));
    for (const key of [...hostileNames, 'k'.repeat(300)]) {
      await expectStoreError(store.putRecord('cache', key, {}), 'TSB_STORE_INVALID_NAME');
      await expectStoreError(store.getRecord('cache', key), 'TSB_STORE_INVALID_NAME');
      await expectStoreError(store.deleteRecord('cache', key), 'TSB_STORE_INVALID_NAME');
    }
    for (const ns of [...hostileNames, 'a/b', '.hidden', '-x', 'n'.repeat(65)]) {
      await expectStoreError(store.putRecord(ns, 'k', {}), 'TSB_STORE_INVALID_NAME');
      await expectStoreError(store.getRecord(ns, 'k'), 'TSB_STORE_INVALID_NAME');
      await expectStoreError(store.listRecords(ns), 'TSB_STORE_INVALID_NAME');
    }
    expect(await readdir(dir)).toEqual(['root']);
    expect(await readdir(path.join(dir, 'root', 'records'))).toEqual([]);
  });

  test('keys that only look odd are encoded into flat file names', async () => {
    const store = await newStore();
    const keys = ['.env', '%2E%2E', 'a%2Fb', 'a:b@c/d', '~x', '-', '_'];
    for (const k of keys) await store.putRecord('odd', k, { k });
    for (const k of keys) expect(await store.getRecord('odd', k)).toEqual({ k });
    expect(await store.listRecords('odd')).toEqual([...keys].sort());
    const files = await readdir(path.join(store.root, 'records', 'odd'));
    expect(files.length).toBe(keys.length);
    expect(files.every((f) => !f.startsWith('.') && !f.includes('/'))).toBe(true);
  });

  test('digests', async () => {
    const dir = await tempDir();
    const store = await openStore(path.join(dir, 'root'));
    for (const d of hostileDigests) {
      const digest = d as Digest;
      await expectStoreError(() => store.blobPath(digest), 'TSB_STORE_INVALID_DIGEST');
      await expectStoreError(store.hasBlob(digest), 'TSB_STORE_INVALID_DIGEST');
      await expectStoreError(store.readBlob(digest), 'TSB_STORE_INVALID_DIGEST');
      await expectStoreError(() => store.openBlob(digest), 'TSB_STORE_INVALID_DIGEST');
      await expectStoreError(store.writeBlob('hello', digest), 'TSB_STORE_INVALID_DIGEST');
      const w = await store.createBlobWriter();
      w.stream.write('hello');
      await expectStoreError(w.commit(digest), 'TSB_STORE_INVALID_DIGEST');
      await expectStoreError(store.setTag('app', desc(digest)), 'TSB_STORE_INVALID_VALUE');
    }
    expect(await readdir(dir)).toEqual(['root']);
    expect(await listFiles(path.join(dir, 'root', 'blobs', 'sha256'))).toEqual([]);
    expect(await listFiles(path.join(dir, 'root', 'tmp'))).toEqual([]);
  });
});
