// The exported cache as a plain OCI image manifest, which every registry
// that takes images takes (no index, no unusual manifest type):
//
//   manifest  application/vnd.oci.image.manifest.v1+json
//   config    application/vnd.tsbuild.cache.config.v1+json — the records:
//             {"schema","cacheKeyVersion","records":[{key, layers, added}]}
//             where layers is the step result's whole filesystem (bottom
//             first, LayerRef: digest, diffID, size, mediaType) and added
//             the layer the step itself wrote, or null
//   layers    every blob a record names, once, in first-use order
//
// The encoding is deterministic (records sorted by key, fixed key order,
// compact JSON): exporting the same records twice gives the same digest, so
// a re-export of an unchanged build rewrites nothing.
import { createHash } from 'node:crypto';
import { CACHE_KEY_VERSION, type CacheKey } from '../../executor/index.js';
import type { LayerRef } from '../../executor/types.js';
import { MEDIA_TYPE_OCI_MANIFEST, ociLayerMediaType } from '../image/media-types.js';
import { isDigest, type Descriptor, type Digest } from '../store/index.js';
import { CacheTransferError } from './errors.js';

export const CACHE_CONFIG_MEDIA_TYPE = 'application/vnd.tsbuild.cache.config.v1+json';
export const CACHE_DOCUMENT_SCHEMA = 'tsbuild/build-cache/v1';
/** Caches are small JSON; anything bigger is not ours. */
export const MAX_CACHE_CONFIG_BYTES = 16 << 20;

export interface CacheRecordEntry {
  key: CacheKey;
  layers: LayerRef[];
  added: LayerRef | null;
}

export interface EncodedCache {
  manifest: { mediaType: string; digest: Digest; size: number; bytes: Buffer };
  config: { mediaType: string; digest: Digest; size: number; bytes: Buffer };
  /** The manifest's layers: the blobs the records need. */
  layers: Descriptor[];
}

function sha256(bytes: Buffer): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

function layerJson(l: LayerRef): LayerRef {
  return { digest: l.digest, diffID: l.diffID, size: l.size, mediaType: l.mediaType };
}

export function encodeCache(records: readonly CacheRecordEntry[]): EncodedCache {
  const byKey = new Map<string, CacheRecordEntry>();
  for (const r of records) byKey.set(r.key, r);
  const sorted = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const doc = {
    schema: CACHE_DOCUMENT_SCHEMA,
    cacheKeyVersion: CACHE_KEY_VERSION,
    records: sorted.map((r) => ({ key: r.key, layers: r.layers.map(layerJson), added: r.added === null ? null : layerJson(r.added) })),
  };
  const configBytes = Buffer.from(JSON.stringify(doc));
  const config = { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: sha256(configBytes), size: configBytes.length, bytes: configBytes };
  const layers: Descriptor[] = [];
  const seen = new Set<string>();
  for (const r of sorted) {
    for (const l of [...r.layers, ...(r.added === null ? [] : [r.added])]) {
      if (seen.has(l.digest)) continue;
      seen.add(l.digest);
      layers.push({ mediaType: ociLayerMediaType(l.mediaType), digest: l.digest, size: l.size });
    }
  }
  const manifestDoc = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_OCI_MANIFEST,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers,
  };
  const manifestBytes = Buffer.from(JSON.stringify(manifestDoc));
  return {
    manifest: { mediaType: MEDIA_TYPE_OCI_MANIFEST, digest: sha256(manifestBytes), size: manifestBytes.length, bytes: manifestBytes },
    config,
    layers,
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isLayerRef(v: unknown): v is LayerRef {
  return (
    isObject(v) &&
    isDigest(v.digest) &&
    isDigest(v.diffID) &&
    typeof v.size === 'number' &&
    Number.isSafeInteger(v.size) &&
    v.size >= 0 &&
    typeof v.mediaType === 'string'
  );
}

/** The manifest's config descriptor, if the manifest is a tsbuild cache. */
export function cacheConfigDescriptor(manifest: unknown, label: string): Descriptor {
  if (!isObject(manifest) || manifest.schemaVersion !== 2 || !isObject(manifest.config) || !Array.isArray(manifest.layers)) {
    throw new CacheTransferError('TSB_CACHE_INVALID', `${label}: not an image manifest`);
  }
  const c = manifest.config;
  if (c.mediaType !== CACHE_CONFIG_MEDIA_TYPE || !isDigest(c.digest) || typeof c.size !== 'number' || !Number.isSafeInteger(c.size) || c.size < 0) {
    throw new CacheTransferError('TSB_CACHE_INVALID', `${label}: not a tsbuild cache (config media type ${JSON.stringify(c.mediaType)})`);
  }
  if (c.size > MAX_CACHE_CONFIG_BYTES) throw new CacheTransferError('TSB_CACHE_INVALID', `${label}: cache document of ${c.size} bytes is too large`);
  return { mediaType: c.mediaType, digest: c.digest, size: c.size };
}

/**
 * The records of a cache document whose blobs the manifest lists (a record
 * naming a blob the cache does not carry could never be satisfied, so it is
 * dropped). Throws TSB_CACHE_INVALID for a document that is not ours or was
 * written with another cache-key version (its keys would never match).
 */
export function decodeCache(configBytes: Buffer, manifestLayers: readonly { digest: string }[], label: string): Map<string, CacheRecordEntry> {
  let doc: unknown;
  try {
    doc = JSON.parse(configBytes.toString('utf8'));
  } catch (err) {
    throw new CacheTransferError('TSB_CACHE_INVALID', `${label}: the cache document is not JSON`, { cause: err });
  }
  if (!isObject(doc) || doc.schema !== CACHE_DOCUMENT_SCHEMA || !Array.isArray(doc.records)) {
    throw new CacheTransferError('TSB_CACHE_INVALID', `${label}: not a ${CACHE_DOCUMENT_SCHEMA} document`);
  }
  if (doc.cacheKeyVersion !== CACHE_KEY_VERSION) {
    throw new CacheTransferError('TSB_CACHE_INVALID', `${label}: cache keys are ${JSON.stringify(doc.cacheKeyVersion)}, this tsbuild uses ${CACHE_KEY_VERSION}`);
  }
  const carried = new Set(manifestLayers.map((l) => l.digest));
  const out = new Map<string, CacheRecordEntry>();
  for (const r of doc.records as unknown[]) {
    if (!isObject(r) || typeof r.key !== 'string' || !/^[0-9a-f]{64}$/.test(r.key) || !Array.isArray(r.layers)) continue;
    if (!r.layers.every(isLayerRef) || !(r.added === null || isLayerRef(r.added))) continue;
    const layers = r.layers;
    const added = r.added;
    if (![...layers, ...(added === null ? [] : [added])].every((l) => carried.has(l.digest))) continue;
    out.set(r.key, { key: r.key as CacheKey, layers: layers.map(layerJson), added: added === null ? null : layerJson(added) });
  }
  return out;
}
