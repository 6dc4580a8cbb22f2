// --cache-from: read a cache manifest (registry or OCI layout) and its
// document of records, and offer the records to the executor as a
// read-only source consulted after the store's own records. Nothing but the
// manifest and the document is read up front: each record's layers are
// registered with LazyBlobs and come down only when a step needs the
// filesystem or the image is exported.
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createHash } from 'node:crypto';
import type { BlobSink } from '../../registry/index.js';
import type { CacheKey, CacheRecordSource } from '../../executor/index.js';
import type { LayerRef } from '../../executor/types.js';
import { ANNOTATION_REF_NAME } from '../image/media-types.js';
import type { ContentStore, Descriptor, Digest } from '../store/index.js';
import type { BlobOrigin, LazyBlobs } from '../remote/lazy-blobs.js';
import type { RegistrySession } from '../remote/registry-session.js';
import { cacheConfigDescriptor, decodeCache, MAX_CACHE_CONFIG_BYTES, type CacheRecordEntry } from './cache-document.js';
import type { CacheImportSpec } from './cache-spec.js';
import { CacheTransferError } from './errors.js';

/** Every imported cache's records, first import wins for a key. */
export class ImportedCache implements CacheRecordSource {
  readonly #records = new Map<string, CacheRecordEntry>();

  add(records: ReadonlyMap<string, CacheRecordEntry>): void {
    for (const [key, r] of records) if (!this.#records.has(key)) this.#records.set(key, r);
  }

  get size(): number {
    return this.#records.size;
  }

  get(key: CacheKey): Promise<{ layers: LayerRef[]; added: LayerRef | null } | null> {
    const r = this.#records.get(key);
    return Promise.resolve(r === undefined ? null : { layers: r.layers, added: r.added });
  }
}

export interface CacheImportContext {
  store: ContentStore;
  lazy: LazyBlobs;
  session: RegistrySession;
  signal?: AbortSignal;
}

/** A sink that keeps one small blob in memory (the cache document never enters the store). */
function memorySink(limit: number): { sink: BlobSink; bytes(): Buffer } {
  const chunks: Buffer[] = [];
  let size = 0;
  const sink: BlobSink = {
    has: () => Promise.resolve(false),
    create: () => {
      chunks.length = 0;
      size = 0;
      const stream = new Writable({
        write(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > limit) done(new CacheTransferError('TSB_CACHE_INVALID', `cache document is larger than ${limit} bytes`));
          else {
            chunks.push(chunk);
            done();
          }
        },
      });
      return Promise.resolve({ stream, commit: () => Promise.resolve(), abort: () => Promise.resolve() });
    },
  };
  return { sink, bytes: () => Buffer.concat(chunks) };
}

async function importRegistry(spec: Extract<CacheImportSpec, { type: 'registry' }>, ctx: CacheImportContext): Promise<Map<string, CacheRecordEntry>> {
  const label = spec.ref.canonical();
  const signal = ctx.signal === undefined ? {} : { signal: ctx.signal };
  const resolved = await ctx.session.client.resolve(spec.ref, signal);
  const config = cacheConfigDescriptor(resolved.manifest, label);
  const memory = memorySink(MAX_CACHE_CONFIG_BYTES);
  await ctx.session.client.fetchBlob(spec.ref, config, memory.sink, signal);
  const records = decodeCache(memory.bytes(), resolved.manifest.layers, label);
  ctx.lazy.add(ctx.session.origin(spec.ref), resolved.manifest.layers);
  return records;
}

function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A blob of the layout, read whole and checked (manifests and the document only). */
async function readLayoutBlob(dir: string, d: { digest: string; size: number }, what: string): Promise<Buffer> {
  if (d.size > MAX_CACHE_CONFIG_BYTES) throw new CacheTransferError('TSB_CACHE_INVALID', `${dir}: ${what} ${d.digest} is too large`);
  let bytes: Buffer;
  try {
    bytes = await readFile(path.join(dir, 'blobs', 'sha256', d.digest.replace(/^sha256:/, '')));
  } catch (err) {
    throw new CacheTransferError('TSB_CACHE_NOT_FOUND', `${dir}: ${what} ${d.digest} is missing`, { cause: err });
  }
  if (bytes.length !== d.size || sha256(bytes) !== d.digest) throw new CacheTransferError('TSB_CACHE_INVALID', `${dir}: ${what} ${d.digest} does not match its content`);
  return bytes;
}

/** The layout directory as a lazy origin: a blob is streamed into the store, which checks its digest. */
function layoutOrigin(dir: string, store: ContentStore): BlobOrigin {
  return {
    label: dir,
    fetch: async (d) => {
      const file = path.join(dir, 'blobs', 'sha256', d.digest.replace(/^sha256:/, ''));
      const st = await stat(file).catch((err: unknown) => {
        throw new CacheTransferError('TSB_CACHE_NOT_FOUND', `${dir}: blob ${d.digest} is missing`, { cause: err });
      });
      if (st.size !== d.size) throw new CacheTransferError('TSB_CACHE_INVALID', `${dir}: blob ${d.digest} is ${st.size} bytes, its descriptor says ${d.size}`);
      const writer = await store.createBlobWriter();
      try {
        await pipeline(createReadStream(file), writer.stream);
        await writer.commit(d.digest as Digest);
      } catch (err) {
        await writer.abort();
        throw err;
      }
    },
  };
}

function selectEntry(spec: Extract<CacheImportSpec, { type: 'local' }>, manifests: Descriptor[]): Descriptor {
  let candidates = manifests;
  if (spec.digest !== null) candidates = candidates.filter((d) => d.digest === spec.digest);
  if (spec.tag !== null) candidates = candidates.filter((d) => d.annotations?.[ANNOTATION_REF_NAME] === spec.tag);
  else if (candidates.length > 1) candidates = candidates.filter((d) => d.annotations?.[ANNOTATION_REF_NAME] === 'latest');
  const [first] = candidates;
  if (first === undefined || new Set(candidates.map((d) => d.digest)).size > 1) {
    const what = spec.tag !== null ? `tag "${spec.tag}"` : spec.digest ?? 'a single cache (name one with tag=)';
    throw new CacheTransferError('TSB_CACHE_NOT_FOUND', `${spec.src}: the layout has no ${what}`);
  }
  return first;
}

async function importLocal(spec: Extract<CacheImportSpec, { type: 'local' }>, ctx: CacheImportContext): Promise<Map<string, CacheRecordEntry>> {
  let indexText: string;
  try {
    indexText = await readFile(path.join(spec.src, 'index.json'), 'utf8');
  } catch (err) {
    throw new CacheTransferError('TSB_CACHE_NOT_FOUND', `${spec.src}: no OCI layout (index.json) there`, { cause: err });
  }
  let index: unknown;
  try {
    index = JSON.parse(indexText);
  } catch (err) {
    throw new CacheTransferError('TSB_CACHE_INVALID', `${spec.src}/index.json is not JSON`, { cause: err });
  }
  const manifests = (index as { manifests?: unknown } | null)?.manifests;
  if (!Array.isArray(manifests)) throw new CacheTransferError('TSB_CACHE_INVALID', `${spec.src}/index.json is not an OCI index`);
  const entry = selectEntry(spec, manifests as Descriptor[]);
  const manifestBytes = await readLayoutBlob(spec.src, entry, 'manifest');
  let manifest: unknown;
  try {
    manifest = JSON.parse(manifestBytes.toString('utf8'));
  } catch (err) {
    throw new CacheTransferError('TSB_CACHE_INVALID', `${spec.src}: manifest ${entry.digest} is not JSON`, { cause: err });
  }
  const config = cacheConfigDescriptor(manifest, spec.src);
  const layers = (manifest as { layers: Descriptor[] }).layers;
  const records = decodeCache(await readLayoutBlob(spec.src, config, 'cache document'), layers, spec.src);
  ctx.lazy.add(layoutOrigin(spec.src, ctx.store), layers);
  return records;
}

/** Read one --cache-from source into `into`; returns how many records it offered. */
export async function importCache(spec: CacheImportSpec, into: ImportedCache, ctx: CacheImportContext): Promise<number> {
  const records = spec.type === 'registry' ? await importRegistry(spec, ctx) : await importLocal(spec, ctx);
  into.add(records);
  return records.size;
}
