// --cache-to: the build's cache records → one OCI image manifest, pushed to
// a registry or written into an OCI layout directory.
//
// Registry: blobs go through the same push as images (HEAD, then a
// cross-repository mount from the base image's or an imported cache's
// repository when on the same registry, then upload); a blob the store holds
// only lazily is fetched just before its upload, never for a HEAD or mount
// hit. Layout: blobs are copied in (fetched first if lazy), index.json is
// written last, replacing the entry with the same tag and keeping others.
import { randomBytes } from 'node:crypto';
import { chmod, copyFile, mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BuildGraph, StepId } from '../../parser/index.js';
import type { StepResult } from '../../executor/index.js';
import { isCodedError } from '../errors.js';
import { ANNOTATION_REF_NAME, MEDIA_TYPE_OCI_INDEX } from '../image/media-types.js';
import { isImageError } from '../image/errors.js';
import { readExistingIndex } from '../image/oci-layout.js';
import type { ContentStore, Descriptor, Digest } from '../store/index.js';
import type { LazyBlobs } from '../remote/lazy-blobs.js';
import { mountCandidate, storeSource } from '../remote/push-local.js';
import type { RegistrySession } from '../remote/registry-session.js';
import { encodeCache, type CacheRecordEntry, type EncodedCache } from './cache-document.js';
import type { CacheExportSpec, CacheMode } from './cache-spec.js';
import { CacheTransferError } from './errors.js';

/** Steps whose results make up the target image: the target stage and the stages it is based on. */
function finalImageSteps(graph: BuildGraph): Set<StepId> {
  const out = new Set<StepId>();
  const seen = new Set<number>();
  for (let index: number | null = graph.target; index !== null && !seen.has(index); ) {
    seen.add(index);
    const stage = graph.stages.find((s) => s.index === index);
    if (stage === undefined) break;
    for (const id of stage.steps) out.add(id);
    index = stage.base.type === 'stage' ? stage.base.index : null;
  }
  return out;
}

/** The records to export: copy and RUN steps (the ones looked up in the cache), min or max. */
export function collectRecords(graph: BuildGraph, results: ReadonlyMap<StepId, StepResult>, mode: CacheMode): CacheRecordEntry[] {
  const wanted = mode === 'max' ? null : finalImageSteps(graph);
  const out: CacheRecordEntry[] = [];
  for (const [id, result] of results) {
    const step = graph.steps[id];
    if (step === undefined || (step.kind !== 'copy' && step.kind !== 'exec')) continue;
    if (wanted !== null && !wanted.has(id)) continue;
    out.push({ key: result.key, layers: result.layers, added: result.added });
  }
  return out;
}

export interface CacheExportContext {
  store: ContentStore;
  lazy: LazyBlobs;
  session: RegistrySession;
  /** References whose repositories may hold the blobs (base images, imported caches), for mounts. */
  mountCandidates: readonly string[];
  signal?: AbortSignal;
}

export interface CacheExportResult {
  digest: Digest;
  records: number;
  layers: number;
}

async function sizeOf(file: string): Promise<number | null> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

async function writeAtomic(file: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${file}.tsbuild-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await write(tmp);
    await chmod(tmp, 0o644);
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

async function existingEntries(dir: string, tag: string): Promise<Descriptor[]> {
  let entries: Descriptor[];
  try {
    entries = await readExistingIndex(dir);
  } catch (err) {
    if (!isImageError(err)) throw err;
    throw new CacheTransferError('TSB_CACHE_EXPORT', `${dir}/index.json exists and is not an OCI index: ${err.message}`, { cause: err });
  }
  return entries.filter((d) => d?.annotations?.[ANNOTATION_REF_NAME] !== tag);
}

async function exportLocal(spec: Extract<CacheExportSpec, { type: 'local' }>, encoded: EncodedCache, ctx: CacheExportContext): Promise<void> {
  const blobs = path.join(spec.dest, 'blobs', 'sha256');
  try {
    await mkdir(blobs, { recursive: true });
    for (const layer of encoded.layers) {
      const dest = path.join(blobs, layer.digest.slice('sha256:'.length));
      if ((await sizeOf(dest)) === layer.size) continue;
      await ctx.lazy.ensure(layer.digest);
      await writeAtomic(dest, (tmp) => copyFile(ctx.store.blobPath(layer.digest), tmp));
    }
    for (const small of [encoded.config, encoded.manifest]) {
      const dest = path.join(blobs, small.digest.slice('sha256:'.length));
      if ((await sizeOf(dest)) !== small.size) await writeAtomic(dest, (tmp) => writeFile(tmp, small.bytes));
    }
    const entry: Descriptor = {
      mediaType: encoded.manifest.mediaType,
      digest: encoded.manifest.digest,
      size: encoded.manifest.size,
      annotations: { [ANNOTATION_REF_NAME]: spec.tag },
    };
    const manifests = [...(await existingEntries(spec.dest, spec.tag)), entry];
    await writeAtomic(path.join(spec.dest, 'oci-layout'), (tmp) => writeFile(tmp, JSON.stringify({ imageLayoutVersion: '1.0.0' })));
    // index.json last: until it is in place the layout names nothing new.
    await writeAtomic(path.join(spec.dest, 'index.json'), (tmp) =>
      writeFile(tmp, JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_INDEX, manifests })),
    );
  } catch (err) {
    if (isCodedError(err)) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new CacheTransferError('TSB_CACHE_EXPORT', `cannot write the cache to ${spec.dest}: ${code ?? (err as Error).message}`, { cause: err });
  }
}

export async function exportCache(spec: CacheExportSpec, records: readonly CacheRecordEntry[], ctx: CacheExportContext): Promise<CacheExportResult> {
  const encoded = encodeCache(records);
  if (spec.type === 'local') {
    await exportLocal(spec, encoded, ctx);
  } else {
    const source = storeSource(ctx.store, ctx.lazy, encoded.manifest, new Map([[encoded.config.digest, encoded.config.bytes]]));
    const mountFrom = mountCandidate(spec.ref, ctx.mountCandidates);
    await ctx.session.client.pushImage(spec.ref, source, {
      ...(mountFrom === undefined ? {} : { mountFrom }),
      ...(ctx.signal === undefined ? {} : { signal: ctx.signal }),
    });
  }
  return { digest: encoded.manifest.digest, records: new Set(records.map((r) => r.key)).size, layers: encoded.layers.length };
}
