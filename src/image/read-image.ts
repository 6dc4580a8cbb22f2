// A stored image → its manifest, full config, layers and history. Accepts
// OCI and docker schema2 manifests, and OCI indexes / docker manifest lists
// (one manifest is chosen by platform). Everything read is checked for
// shape before use: a blob's bytes are only as trustworthy as whoever
// wrote the tag or archive that pointed at them.
import type { ImageConfig } from '../../parser/index.js';
import type { ImagePlatform, LayerRef, OciHistory, ResolvedImage } from '../../executor/types.js';
import { isDescriptor, isDigest, StoreError, type ContentStore, type Descriptor, type Digest } from '../store/index.js';
import { ImageError } from './errors.js';
import {
  MEDIA_TYPE_DOCKER_CONFIG,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
} from './media-types.js';
import { DEFAULT_PLATFORM, formatImagePlatform, selectManifest } from './platform.js';
import type { ManifestJson, OciImageConfigJson } from './write-image.js';

/** Manifests and configs are small; registries cap manifests at 4 MiB. */
export const MAX_JSON_BLOB_BYTES = 16 << 20;

const MANIFEST_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPE_OCI_MANIFEST, MEDIA_TYPE_DOCKER_MANIFEST]);
const INDEX_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_DOCKER_MANIFEST_LIST]);
const CONFIG_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPE_OCI_CONFIG, MEDIA_TYPE_DOCKER_CONFIG]);

export interface IndexJson {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export interface ReadImageOptions {
  /** Which manifest to take from an index; default linux/amd64. */
  platform?: ImagePlatform;
}

export interface ImageDetails {
  /** The (platform) manifest's own descriptor. */
  manifestDescriptor: Descriptor;
  manifestDigest: Digest;
  manifest: ManifestJson;
  /** The descriptor asked for, when it was an index; else null. */
  index: Descriptor | null;
  configDescriptor: Descriptor;
  /** The config document as stored, all fields. */
  config: OciImageConfigJson & Record<string, unknown>;
  layers: LayerRef[];
  history: OciHistory[];
  platform: ImagePlatform;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function invalid(what: string, digest: string, why: string): ImageError {
  return new ImageError('TSB_IMAGE_INVALID', `${what} ${digest}: ${why}`, { digest });
}

/** Read and parse a JSON blob, refusing anything too large to be one. */
export async function readJsonBlob(store: ContentStore, desc: Descriptor, what: string): Promise<unknown> {
  if (desc.size > MAX_JSON_BLOB_BYTES) throw invalid(what, desc.digest, `${desc.size} bytes is too large`);
  let bytes: Buffer;
  try {
    bytes = await store.readBlob(desc.digest);
  } catch (err) {
    if (err instanceof StoreError && err.code === 'TSB_STORE_BLOB_UNKNOWN') {
      throw new ImageError('TSB_IMAGE_NOT_FOUND', `${what} ${desc.digest} is not in the store`, { digest: desc.digest, cause: err });
    }
    throw err;
  }
  if (bytes.length !== desc.size) throw invalid(what, desc.digest, `descriptor says ${desc.size} bytes, blob has ${bytes.length}`);
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ImageError('TSB_IMAGE_INVALID', `${what} ${desc.digest} is not valid JSON`, { digest: desc.digest, cause: err });
  }
}

/** Shape-check a parsed index / manifest list. */
export function parseIndex(doc: unknown, digest: string): IndexJson {
  if (!isObject(doc) || doc.schemaVersion !== 2 || !Array.isArray(doc.manifests)) {
    throw invalid('index', digest, 'not an image index (schemaVersion 2 with manifests[])');
  }
  doc.manifests.forEach((m, i) => {
    if (!isDescriptor(m)) throw invalid('index', digest, `manifests[${i}] is not a valid descriptor`);
  });
  return doc as unknown as IndexJson;
}

/** Shape-check a parsed OCI / docker schema2 manifest. */
export function parseManifest(doc: unknown, digest: string): ManifestJson {
  if (!isObject(doc)) throw invalid('manifest', digest, 'not a JSON object');
  if (doc.schemaVersion === 1) throw invalid('manifest', digest, 'docker schema1 manifests are not supported');
  if (doc.schemaVersion !== 2 || !isDescriptor(doc.config) || !Array.isArray(doc.layers)) {
    throw invalid('manifest', digest, 'not an image manifest (schemaVersion 2 with config and layers[])');
  }
  doc.layers.forEach((l, i) => {
    if (!isDescriptor(l)) throw invalid('manifest', digest, `layers[${i}] is not a valid descriptor`);
  });
  return doc as unknown as ManifestJson;
}

/** The kind of a manifest-like document: by descriptor media type, else by its own fields. */
export function manifestKind(mediaType: string, doc: unknown): 'manifest' | 'index' | null {
  const own = isObject(doc) && typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  for (const t of [mediaType, own]) {
    if (t === undefined) continue;
    if (MANIFEST_TYPES.has(t)) return 'manifest';
    if (INDEX_TYPES.has(t)) return 'index';
  }
  if (isObject(doc) && Array.isArray(doc.manifests)) return 'index';
  if (isObject(doc) && Array.isArray(doc.layers)) return 'manifest';
  return null;
}

const STRING_ARRAY_FIELDS = ['Env', 'Entrypoint', 'Cmd', 'OnBuild', 'Shell'] as const;
const STRING_FIELDS = ['User', 'WorkingDir', 'StopSignal'] as const;
const SET_FIELDS = ['ExposedPorts', 'Volumes'] as const;

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

/** The fields of a config's `config` object that ImageConfig knows, type-checked. */
export function toImageConfig(raw: unknown, digest: string): ImageConfig {
  if (raw === undefined || raw === null) return {};
  if (!isObject(raw)) throw invalid('config', digest, '"config" is not an object');
  const out: Record<string, unknown> = {};
  const bad = (field: string): ImageError => invalid('config', digest, `config.${field} has the wrong type`);
  for (const f of STRING_ARRAY_FIELDS) {
    const v = raw[f];
    if (v === undefined) continue;
    if (v === null && (f === 'Entrypoint' || f === 'Cmd')) out[f] = null;
    else if (v === null) continue;
    else if (isStringArray(v)) out[f] = [...v];
    else throw bad(f);
  }
  for (const f of STRING_FIELDS) {
    const v = raw[f];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw bad(f);
    if (v !== '') out[f] = v;
  }
  for (const f of SET_FIELDS) {
    const v = raw[f];
    if (v === undefined || v === null) continue;
    if (!isObject(v)) throw bad(f);
    const set: Record<string, Record<string, never>> = {};
    for (const k of Object.keys(v)) set[k] = {};
    out[f] = set;
  }
  if (raw.Labels !== undefined && raw.Labels !== null) {
    if (!isObject(raw.Labels) || !Object.values(raw.Labels).every((s) => typeof s === 'string')) throw bad('Labels');
    out.Labels = { ...raw.Labels };
  }
  if (raw.ArgsEscaped !== undefined && raw.ArgsEscaped !== null) {
    if (typeof raw.ArgsEscaped !== 'boolean') throw bad('ArgsEscaped');
    out.ArgsEscaped = raw.ArgsEscaped;
  }
  const hc = raw.Healthcheck;
  if (hc !== undefined && hc !== null) {
    if (!isObject(hc) || !isStringArray(hc.Test)) throw bad('Healthcheck');
    const health: Record<string, unknown> = { Test: [...hc.Test] };
    for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const) {
      const v = hc[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`Healthcheck.${k}`);
      health[k] = v;
    }
    out.Healthcheck = health;
  }
  return out as ImageConfig;
}

function parseHistory(raw: unknown, digest: string): OciHistory[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalid('config', digest, '"history" is not an array');
  return raw.map((h, i) => {
    if (!isObject(h)) throw invalid('config', digest, `history[${i}] is not an object`);
    const out: OciHistory = {};
    for (const k of ['created', 'created_by', 'author', 'comment'] as const) {
      const v = h[k];
      if (v === undefined || v === null) continue;
      if (typeof v !== 'string') throw invalid('config', digest, `history[${i}].${k} is not a string`);
      out[k] = v;
    }
    if (h.empty_layer === true) out.empty_layer = true;
    return out;
  });
}

function parseConfig(doc: unknown, digest: string): OciImageConfigJson & Record<string, unknown> {
  if (!isObject(doc)) throw invalid('config', digest, 'not a JSON object');
  if (typeof doc.architecture !== 'string' || typeof doc.os !== 'string') {
    throw invalid('config', digest, 'missing architecture or os');
  }
  const rootfs = doc.rootfs;
  if (!isObject(rootfs) || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids) || !rootfs.diff_ids.every(isDigest)) {
    throw invalid('config', digest, 'rootfs must be {type: "layers", diff_ids: [sha256 digests]}');
  }
  return doc as OciImageConfigJson & Record<string, unknown>;
}

/**
 * Read the image `descriptor` points at. An index is resolved to the
 * manifest for `opts.platform` (default linux/amd64); a nested index is
 * followed once more.
 */
export async function readImage(store: ContentStore, descriptor: Descriptor, opts: ReadImageOptions = {}): Promise<ImageDetails> {
  const want = opts.platform ?? DEFAULT_PLATFORM;
  let desc = descriptor;
  let index: Descriptor | null = null;
  let doc = await readJsonBlob(store, desc, 'manifest');
  for (let depth = 0; manifestKind(desc.mediaType, doc) === 'index'; depth++) {
    if (depth >= 2) throw invalid('index', desc.digest, 'indexes nested too deeply');
    const idx = parseIndex(doc, desc.digest);
    index ??= descriptor;
    const chosen = selectManifest(idx.manifests, want);
    if (chosen === null) {
      const have = idx.manifests.flatMap((m) => (m.platform ? [formatImagePlatform(m.platform)] : []));
      throw new ImageError(
        'TSB_IMAGE_PLATFORM',
        `no manifest for ${formatImagePlatform(want)} in index ${desc.digest}${have.length ? ` (it has ${have.join(', ')})` : ''}`,
        { digest: desc.digest },
      );
    }
    desc = chosen;
    doc = await readJsonBlob(store, desc, 'manifest');
  }
  if (manifestKind(desc.mediaType, doc) !== 'manifest') {
    throw invalid('manifest', desc.digest, `unsupported media type ${desc.mediaType}`);
  }
  const manifest = parseManifest(doc, desc.digest);
  if (!CONFIG_TYPES.has(manifest.config.mediaType)) {
    throw invalid('manifest', desc.digest, `config media type ${manifest.config.mediaType} is not an image config`);
  }
  const config = parseConfig(await readJsonBlob(store, manifest.config, 'config'), manifest.config.digest);
  const diffIDs = config.rootfs.diff_ids;
  if (diffIDs.length !== manifest.layers.length) {
    throw invalid('manifest', desc.digest, `${manifest.layers.length} layers but the config lists ${diffIDs.length} diff_ids`);
  }
  const layers: LayerRef[] = manifest.layers.map((l, i) => ({
    digest: l.digest,
    diffID: diffIDs[i] as Digest,
    size: l.size,
    mediaType: l.mediaType,
  }));
  const platform: ImagePlatform = { os: config.os, architecture: config.architecture };
  if (typeof config.variant === 'string' && config.variant !== '') platform.variant = config.variant;
  return {
    manifestDescriptor: { mediaType: desc.mediaType, digest: desc.digest, size: desc.size },
    manifestDigest: desc.digest,
    manifest,
    index,
    configDescriptor: { mediaType: manifest.config.mediaType, digest: manifest.config.digest, size: manifest.config.size },
    config,
    layers,
    history: parseHistory(config.history, manifest.config.digest),
    platform,
  };
}

/** ImageDetails as the executor's ResolvedImage, named `ref`. */
export function toResolvedImage(ref: string, image: ImageDetails): ResolvedImage {
  const resolved: ResolvedImage = {
    ref,
    manifestDigest: image.manifestDigest,
    layers: image.layers,
    config: toImageConfig(image.config.config, image.configDescriptor.digest),
    history: image.history,
    platform: image.platform,
  };
  if (typeof image.config.author === 'string' && image.config.author !== '') resolved.author = image.config.author;
  return resolved;
}
