// Mark and sweep over the store. Roots are every tag and every record whose
// JSON has a top-level `blobs: string[]` (cache records use that); from a
// root, image indexes lead to manifests and manifests to their config,
// layers and subject. Unmarked blobs and temp files are removed only when
// their mtime is older than the grace period: a concurrent build writes its
// blobs first and its tag last, and must not lose the blobs in between.
//
// gc fails closed: a tag or record that does not parse throws
// TSB_STORE_CORRUPT before anything is deleted, because what it referenced
// cannot be known.
import { lstat, open, readdir, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { ContentStore, Digest } from './types.js';
import { isDigest } from './digest.js';
import { isErrnoCode } from './errors.js';
import { fsyncDir } from './atomic-file.js';
import { storeLayout } from './content-store.js';
import { validateNamespace } from './names.js';

export const DEFAULT_GC_GRACE_MS = 10 * 60 * 1000;

export const MEDIA_TYPE_OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const MEDIA_TYPE_OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const MEDIA_TYPE_DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const MEDIA_TYPE_DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';

const WALKED_MEDIA_TYPES: ReadonlySet<string> = new Set([
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_DOCKER_MANIFEST,
]);

/** Registries cap manifests at 4 MiB; anything much larger is not one. */
const MAX_MANIFEST_BYTES = 16 << 20;
const BLOB_NAME_RE = /^[0-9a-f]{64}$/;

export interface GcOptions {
  /** Spare unreachable blobs and temp files younger than this. Default 10 min. */
  graceMs?: number;
  /** Count what would be removed, remove nothing. */
  dryRun?: boolean;
}

export interface GcResult {
  removedBlobs: number;
  reclaimedBytes: number;
  removedTemp: number;
}

interface Pending {
  digest: Digest;
  /** Known from a descriptor, or undefined when reached from a record. */
  mediaType: string | undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function descriptorRef(v: unknown): Pending | null {
  if (!isObject(v) || !isDigest(v.digest)) return null;
  return { digest: v.digest, mediaType: typeof v.mediaType === 'string' ? v.mediaType : undefined };
}

/** The descriptors an index or manifest refers to. */
function referencedBy(doc: Record<string, unknown>): Pending[] {
  const out: Pending[] = [];
  const add = (v: unknown): void => {
    const ref = descriptorRef(v);
    if (ref) out.push(ref);
  };
  for (const field of ['manifests', 'layers'] as const) {
    const list = doc[field];
    if (Array.isArray(list)) list.forEach(add);
  }
  add(doc.config);
  add(doc.subject);
  return out;
}

/**
 * Read a blob as an index or manifest. With a known media type it must be
 * one of the four walked types; without one (a record's `blobs` entry or a
 * descriptor lacking mediaType) the JSON is sniffed, so a cache record that
 * points at a manifest keeps its layers too.
 */
async function readManifestLike(file: string, mediaType: string | undefined): Promise<Record<string, unknown> | null> {
  if (mediaType !== undefined && !WALKED_MEDIA_TYPES.has(mediaType)) return null;
  let fh;
  try {
    fh = await open(file, 'r');
  } catch (err) {
    if (isErrnoCode(err, 'ENOENT')) return null;
    throw err;
  }
  let text: string;
  try {
    const { size } = await fh.stat();
    if (size > MAX_MANIFEST_BYTES) return null;
    text = await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
  if (mediaType === undefined && !text.trimStart().startsWith('{')) return null;
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // Its digest is correct, so this is what was stored; it has no children.
    return null;
  }
  if (!isObject(doc)) return null;
  if (mediaType === undefined) {
    const own = doc.mediaType;
    const looksLike = doc.schemaVersion === 2 && (Array.isArray(doc.manifests) || Array.isArray(doc.layers));
    if (!(typeof own === 'string' && WALKED_MEDIA_TYPES.has(own)) && !looksLike) return null;
  }
  return doc;
}

async function markReachable(store: ContentStore): Promise<Set<string>> {
  const roots: Pending[] = [];
  for (const tag of await store.listTags()) roots.push({ digest: tag.target.digest, mediaType: tag.target.mediaType });

  const layout = storeLayout(store.root);
  let namespaces: string[] = [];
  try {
    namespaces = await readdir(layout.records);
  } catch (err) {
    if (!isErrnoCode(err, 'ENOENT')) throw err;
  }
  for (const ns of namespaces) {
    try {
      validateNamespace(ns);
    } catch {
      continue; // not a namespace we could have created
    }
    for (const key of await store.listRecords(ns)) {
      const rec = await store.getRecord<unknown>(ns, key);
      if (!isObject(rec) || !Array.isArray(rec.blobs)) continue;
      for (const b of rec.blobs) if (isDigest(b)) roots.push({ digest: b, mediaType: undefined });
    }
  }

  const marked = new Set<string>();
  const stack = roots;
  while (stack.length > 0) {
    const next = stack.pop() as Pending;
    if (marked.has(next.digest)) continue;
    marked.add(next.digest);
    const doc = await readManifestLike(store.blobPath(next.digest), next.mediaType);
    if (doc) stack.push(...referencedBy(doc));
  }
  return marked;
}

async function listEntries(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (err) {
    if (isErrnoCode(err, 'ENOENT')) return [];
    throw err;
  }
}

export async function collectGarbage(store: ContentStore, opts: GcOptions = {}): Promise<GcResult> {
  const graceMs = opts.graceMs ?? DEFAULT_GC_GRACE_MS;
  if (!Number.isFinite(graceMs) || graceMs < 0) throw new RangeError(`graceMs must be a finite number >= 0, got ${graceMs}`);
  const dryRun = opts.dryRun ?? false;
  const layout = storeLayout(store.root);

  const marked = await markReachable(store);
  // Taken after marking, so anything written while we marked is younger.
  const cutoff = Date.now() - graceMs;
  const result: GcResult = { removedBlobs: 0, reclaimedBytes: 0, removedTemp: 0 };

  for (const name of await listEntries(layout.blobs)) {
    if (!BLOB_NAME_RE.test(name) || marked.has(`sha256:${name}`)) continue;
    const file = path.join(layout.blobs, name);
    let st;
    try {
      st = await lstat(file);
    } catch (err) {
      if (isErrnoCode(err, 'ENOENT')) continue;
      throw err;
    }
    if (!st.isFile() || st.mtimeMs > cutoff) continue;
    if (!dryRun) {
      try {
        await unlink(file);
      } catch (err) {
        if (isErrnoCode(err, 'ENOENT')) continue;
        throw err;
      }
    }
    result.removedBlobs++;
    result.reclaimedBytes += st.size;
  }
  if (!dryRun && result.removedBlobs > 0) await fsyncDir(layout.blobs);

  for (const name of await listEntries(layout.tmp)) {
    const file = path.join(layout.tmp, name);
    let st;
    try {
      st = await lstat(file);
    } catch (err) {
      if (isErrnoCode(err, 'ENOENT')) continue;
      throw err;
    }
    if (st.mtimeMs > cutoff) continue;
    if (!dryRun) await rm(file, { recursive: true, force: true });
    result.removedTemp++;
  }
  return result;
}
