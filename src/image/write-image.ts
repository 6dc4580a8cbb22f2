// BuiltImage → OCI image config + OCI manifest, written as blobs.
//
// Determinism: the same BuiltImage always gives the same bytes, hence the
// same manifest digest. Keys come out in one fixed order (the field order
// of the Go structs docker, buildkit and containerd marshal, so our JSON
// reads like theirs), map-valued fields (Labels, ExposedPorts, Volumes)
// are sorted bytewise as Go sorts map keys, JSON is compact, and nothing
// time-dependent is written unless `created` is given.
import type { ImageConfig } from '../../parser/index.js';
import type { BuiltImage, LayerRef, OciHistory } from '../../executor/types.js';
import { isDigest, type ContentStore, type Descriptor, type Digest } from '../store/index.js';
import { ImageError } from './errors.js';
import { MEDIA_TYPE_OCI_CONFIG, MEDIA_TYPE_OCI_MANIFEST, ociLayerMediaType } from './media-types.js';

/** The OCI image config document (image-spec config.md). */
export interface OciImageConfigJson {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  'os.version'?: string;
  'os.features'?: string[];
  variant?: string;
  config?: ImageConfig & Record<string, unknown>;
  rootfs: { type: string; diff_ids: Digest[] };
  history?: OciHistory[];
}

/** The OCI (or docker schema2) manifest document. */
export interface ManifestJson {
  schemaVersion: 2;
  mediaType?: string;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface WrittenImage {
  manifest: Descriptor;
  config: Descriptor;
  configJson: OciImageConfigJson;
}

/** The order in which image config fields are written (ocispec ImageConfig,
 * then docker's extensions). Unknown fields follow, sorted. */
const CONFIG_FIELD_ORDER = [
  'User',
  'ExposedPorts',
  'Env',
  'Entrypoint',
  'Cmd',
  'Volumes',
  'WorkingDir',
  'Labels',
  'StopSignal',
  'ArgsEscaped',
  'Healthcheck',
  'OnBuild',
  'Shell',
] as const;
const MAP_FIELDS: ReadonlySet<string> = new Set(['ExposedPorts', 'Volumes', 'Labels']);
const HEALTHCHECK_ORDER = ['Test', 'Interval', 'Timeout', 'StartPeriod', 'StartInterval', 'Retries'] as const;
const HISTORY_ORDER = ['created', 'created_by', 'author', 'comment', 'empty_layer'] as const;

/** Go's map key order: bytewise on the UTF-8 encoding. */
export function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function sortedMap(value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort(byteOrder)) out[key] = value[key];
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The image config's `config` object in its fixed key order; null and
 * undefined fields are left out (Go's omitempty). */
export function orderImageConfig(config: ImageConfig): Record<string, unknown> {
  const src = config as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const put = (key: string): void => {
    const value = src[key];
    if (value === undefined || value === null) return;
    if (MAP_FIELDS.has(key) && isPlainObject(value)) out[key] = sortedMap(value);
    else if (key === 'Healthcheck' && isPlainObject(value)) {
      const hc: Record<string, unknown> = {};
      for (const k of HEALTHCHECK_ORDER) if (value[k] !== undefined) hc[k] = value[k];
      out[key] = hc;
    } else out[key] = value;
  };
  const known: ReadonlySet<string> = new Set(CONFIG_FIELD_ORDER);
  for (const key of CONFIG_FIELD_ORDER) put(key);
  for (const key of Object.keys(src).filter((k) => !known.has(k)).sort(byteOrder)) put(key);
  return out;
}

function orderHistory(entry: OciHistory): OciHistory {
  const out: Record<string, unknown> = {};
  for (const key of HISTORY_ORDER) {
    const value = entry[key];
    if (value === undefined) continue;
    if (key === 'empty_layer' && value !== true) continue;
    out[key] = value;
  }
  return out as OciHistory;
}

function checkLayer(layer: LayerRef, index: number): void {
  if (!isDigest(layer.digest) || !isDigest(layer.diffID)) {
    throw new ImageError('TSB_IMAGE_INVALID', `layer ${index}: digest and diffID must be sha256 digests`);
  }
  if (!Number.isSafeInteger(layer.size) || layer.size < 0) {
    throw new ImageError('TSB_IMAGE_INVALID', `layer ${index} (${layer.digest}): bad size ${layer.size}`);
  }
}

/** The image config document for `built`, in canonical field order. */
export function imageConfigJson(built: BuiltImage): OciImageConfigJson {
  const doc: Record<string, unknown> = {};
  if (built.created !== undefined) doc.created = built.created;
  if (built.author !== undefined) doc.author = built.author;
  doc.architecture = built.platform.architecture;
  doc.os = built.platform.os;
  if (built.platform.variant !== undefined && built.platform.variant !== '') doc.variant = built.platform.variant;
  doc.config = orderImageConfig(built.config);
  doc.rootfs = { type: 'layers', diff_ids: built.layers.map((l) => l.diffID) };
  doc.history = built.history.map(orderHistory);
  return doc as unknown as OciImageConfigJson;
}

/** The OCI manifest document for a config and its layers, in canonical order. */
export function manifestJson(config: Descriptor, layers: readonly Descriptor[]): ManifestJson {
  return {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_OCI_MANIFEST,
    config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
    layers: layers.map((l) => ({ mediaType: ociLayerMediaType(l.mediaType), digest: l.digest, size: l.size })),
  };
}

/**
 * Write the config and manifest of `built` into `store` (its layers must
 * already be there, except those `opts.allowMissing` accepts: layers a push
 * mounts from the registry instead of fetching) and return their
 * descriptors. Tags nothing: the caller decides which names point at the
 * manifest.
 */
export async function writeImage(store: ContentStore, built: BuiltImage, opts: { allowMissing?(digest: Digest): boolean } = {}): Promise<WrittenImage> {
  built.layers.forEach(checkLayer);
  for (const layer of built.layers) {
    if (!(await store.hasBlob(layer.digest)) && opts.allowMissing?.(layer.digest) !== true) {
      throw new ImageError('TSB_IMAGE_INVALID', `layer ${layer.digest} is not in the store`, { digest: layer.digest });
    }
  }
  const configJson = imageConfigJson(built);
  const configBlob = await store.writeBlob(JSON.stringify(configJson));
  const config: Descriptor = { mediaType: MEDIA_TYPE_OCI_CONFIG, digest: configBlob.digest, size: configBlob.size };
  const layers = built.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size }));
  const manifestBlob = await store.writeBlob(JSON.stringify(manifestJson(config, layers)));
  const manifest: Descriptor = { mediaType: MEDIA_TYPE_OCI_MANIFEST, digest: manifestBlob.digest, size: manifestBlob.size };
  return { manifest, config, configJson };
}
