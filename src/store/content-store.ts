// The local content store: content-addressed blobs, tags (the image index)
// and small JSON records, all under one root directory.
//
//   <root>/blobs/sha256/<hex>          immutable blobs, named by their digest
//   <root>/tmp/                        temp files; every write starts here
//   <root>/tags/<encoded name>.json    one file per tag (TagRecord)
//   <root>/records/<ns>/<key>.json     one file per record (the raw value)
//
// One file per tag means concurrent writers of different tags never
// read-modify-write a shared index, so no lock is needed; writers of the
// same tag race and the last rename wins, atomically.
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { BlobWriter, ContentStore, Descriptor, Digest, TagRecord } from './types.js';
import { assertDigest, digestHex, isDigest, sha256Digest } from './digest.js';
import { StoreError, isErrnoCode } from './errors.js';
import { decodeName, encodeName, tagStem, validateNamespace, validateRecordKey, validateTagName } from './names.js';
import { fsyncDir, writeFileAtomic } from './atomic-file.js';
import { BLOB_MODE, createFileBlobWriter, refreshExistingBlob } from './blob-writer.js';

export interface StoreLayout {
  root: string;
  blobs: string;
  tmp: string;
  tags: string;
  records: string;
}

export function storeLayout(root: string): StoreLayout {
  const abs = path.resolve(root);
  return {
    root: abs,
    blobs: path.join(abs, 'blobs', 'sha256'),
    tmp: path.join(abs, 'tmp'),
    tags: path.join(abs, 'tags'),
    records: path.join(abs, 'records'),
  };
}

function blobUnknown(digest: Digest, file: string, cause?: unknown): StoreError {
  return new StoreError('TSB_STORE_BLOB_UNKNOWN', `blob ${digest} not found in store`, {
    path: file,
    digest,
    ...(cause === undefined ? {} : { cause }),
  });
}

function corrupt(file: string, why: string, cause?: unknown): StoreError {
  return new StoreError('TSB_STORE_CORRUPT', `${file}: ${why}`, { path: file, ...(cause === undefined ? {} : { cause }) });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Shape check for descriptors we store or read back from tag files. */
export function isDescriptor(v: unknown): v is Descriptor {
  if (!isPlainObject(v)) return false;
  if (typeof v.mediaType !== 'string' || v.mediaType.length === 0) return false;
  if (!isDigest(v.digest)) return false;
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) return false;
  if (v.annotations !== undefined) {
    if (!isPlainObject(v.annotations)) return false;
    if (!Object.values(v.annotations).every((a) => typeof a === 'string')) return false;
  }
  if (v.platform !== undefined) {
    const p = v.platform;
    if (!isPlainObject(p) || typeof p.architecture !== 'string' || typeof p.os !== 'string') return false;
    if (p.variant !== undefined && typeof p.variant !== 'string') return false;
  }
  return true;
}

function parseTagFile(file: string, text: string): TagRecord {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw corrupt(file, 'tag file is not valid JSON', err);
  }
  if (!isPlainObject(v) || typeof v.name !== 'string' || typeof v.updated !== 'string' || !isDescriptor(v.target)) {
    throw corrupt(file, 'tag file does not hold {name, target, updated}');
  }
  return { name: v.name, target: v.target, updated: v.updated };
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if (isErrnoCode(err, 'ENOENT')) return null;
    throw err;
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isErrnoCode(err, 'ENOENT')) return [];
    throw err;
  }
}

async function unlinkDurably(file: string): Promise<boolean> {
  try {
    await unlink(file);
  } catch (err) {
    if (isErrnoCode(err, 'ENOENT')) return false;
    throw err;
  }
  await fsyncDir(path.dirname(file));
  return true;
}

const JSON_SUFFIX = '.json';

class FsContentStore implements ContentStore {
  readonly root: string;
  readonly layout: StoreLayout;

  constructor(layout: StoreLayout) {
    this.layout = layout;
    this.root = layout.root;
  }

  // ---- blobs ----

  blobPath(digest: Digest): string {
    return path.join(this.layout.blobs, digestHex(digest));
  }

  async hasBlob(digest: Digest): Promise<boolean> {
    try {
      return (await stat(this.blobPath(digest))).isFile();
    } catch (err) {
      if (isErrnoCode(err, 'ENOENT')) return false;
      throw err;
    }
  }

  async readBlob(digest: Digest): Promise<Buffer> {
    const file = this.blobPath(digest);
    try {
      return await readFile(file);
    } catch (err) {
      if (isErrnoCode(err, 'ENOENT')) throw blobUnknown(digest, file, err);
      throw err;
    }
  }

  openBlob(digest: Digest): Readable {
    const file = this.blobPath(digest);
    // Map ENOENT (reported asynchronously by the read stream) to a
    // StoreError while keeping backpressure: Readable.from pulls chunk by chunk.
    async function* chunks(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of createReadStream(file)) yield chunk as Buffer;
      } catch (err) {
        if (isErrnoCode(err, 'ENOENT')) throw blobUnknown(digest, file, err);
        throw err;
      }
    }
    return Readable.from(chunks(), { objectMode: false });
  }

  async writeBlob(data: Buffer | string, expected?: Digest): Promise<{ digest: Digest; size: number }> {
    if (expected !== undefined) assertDigest(expected);
    const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const digest = sha256Digest(buf);
    if (expected !== undefined && expected !== digest) {
      throw new StoreError('TSB_STORE_DIGEST_MISMATCH', `blob digest mismatch: expected ${expected}, got ${digest}`, {
        digest: expected,
        actual: digest,
      });
    }
    const dest = this.blobPath(digest);
    if (!(await refreshExistingBlob(dest))) {
      await writeFileAtomic(this.layout.tmp, dest, buf, { kind: 'blob', mode: BLOB_MODE });
    }
    return { digest, size: buf.length };
  }

  createBlobWriter(): Promise<BlobWriter> {
    return createFileBlobWriter(this.layout.tmp, this.layout.blobs);
  }

  // ---- tags ----

  #tagFile(name: string): string {
    validateTagName(name);
    return path.join(this.layout.tags, tagStem(name) + JSON_SUFFIX);
  }

  async getTag(name: string): Promise<TagRecord | null> {
    const file = this.#tagFile(name);
    const text = await readIfExists(file);
    if (text === null) return null;
    const rec = parseTagFile(file, text);
    if (rec.name !== name) throw corrupt(file, `tag file names ${JSON.stringify(rec.name)}, not ${JSON.stringify(name)}`);
    return rec;
  }

  async setTag(name: string, target: Descriptor): Promise<void> {
    const file = this.#tagFile(name);
    if (!isDescriptor(target)) {
      throw new StoreError('TSB_STORE_INVALID_VALUE', `setTag ${name}: target is not a valid descriptor`);
    }
    const rec: TagRecord = { name, target, updated: new Date().toISOString() };
    await writeFileAtomic(this.layout.tmp, file, JSON.stringify(rec, null, 2) + '\n', { kind: 'tag' });
  }

  async deleteTag(name: string): Promise<boolean> {
    return unlinkDurably(this.#tagFile(name));
  }

  async listTags(): Promise<TagRecord[]> {
    const out: TagRecord[] = [];
    for (const entry of await listDir(this.layout.tags)) {
      if (!entry.endsWith(JSON_SUFFIX)) continue;
      const stem = entry.slice(0, -JSON_SUFFIX.length);
      if (!stem.startsWith('~') && decodeName(stem) === null) continue; // not ours
      const file = path.join(this.layout.tags, entry);
      const text = await readIfExists(file);
      if (text === null) continue; // deleted while listing
      const rec = parseTagFile(file, text);
      if (tagStem(rec.name) !== stem) throw corrupt(file, `tag file names ${JSON.stringify(rec.name)}, which belongs elsewhere`);
      out.push(rec);
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // ---- records ----

  #recordDir(ns: string): string {
    validateNamespace(ns);
    return path.join(this.layout.records, ns);
  }

  #recordFile(ns: string, key: string): string {
    const dir = this.#recordDir(ns);
    validateRecordKey(key);
    return path.join(dir, encodeName(key) + JSON_SUFFIX);
  }

  async getRecord<T>(ns: string, key: string): Promise<T | null> {
    const file = this.#recordFile(ns, key);
    const text = await readIfExists(file);
    if (text === null) return null;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw corrupt(file, 'record is not valid JSON', err);
    }
  }

  async putRecord(ns: string, key: string, value: unknown, opts: { durable?: boolean } = {}): Promise<void> {
    const file = this.#recordFile(ns, key);
    const text = JSON.stringify(value);
    if (text === undefined) {
      throw new StoreError('TSB_STORE_INVALID_VALUE', `putRecord ${ns}/${key}: value is not JSON-serialisable`, { path: file });
    }
    const dir = path.dirname(file);
    const created = await mkdir(dir, { recursive: true });
    // A freshly created namespace directory must itself be durable, or the
    // rename below could vanish with it after a crash.
    if (created !== undefined) await fsyncDir(this.layout.records);
    await writeFileAtomic(this.layout.tmp, file, text + '\n', { kind: 'record', durable: opts.durable ?? true });
  }

  async deleteRecord(ns: string, key: string): Promise<boolean> {
    return unlinkDurably(this.#recordFile(ns, key));
  }

  async listRecords(ns: string): Promise<string[]> {
    const keys: string[] = [];
    for (const entry of await listDir(this.#recordDir(ns))) {
      if (!entry.endsWith(JSON_SUFFIX)) continue;
      const key = decodeName(entry.slice(0, -JSON_SUFFIX.length));
      if (key !== null) keys.push(key);
    }
    return keys.sort();
  }
}

/** Open (creating if missing) the store rooted at `root`. */
export async function openStore(root: string): Promise<ContentStore> {
  const layout = storeLayout(root);
  for (const dir of [layout.blobs, layout.tmp, layout.tags, layout.records]) {
    await mkdir(dir, { recursive: true });
  }
  // Make the directory entries themselves durable before anything is
  // renamed into them.
  for (const dir of [path.dirname(layout.blobs), layout.root]) await fsyncDir(dir);
  return new FsContentStore(layout);
}
