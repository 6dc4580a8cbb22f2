// Manifests and indexes as plain data, parsed from the exact bytes a
// registry served (the digest is over those bytes, so they are kept; the
// parsed form is for reading fields only).
import { isDigest } from './digest.js';
import { RegistryError } from './errors.js';
import { OCI_INDEX, OCI_MANIFEST, isImageManifestMediaType, isIndexMediaType, isSchema1MediaType } from './media-types.js';
import type { Platform } from './platform.js';

/** An OCI content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
  artifactType?: string;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType?: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations?: Record<string, string>;
  subject?: Descriptor;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType?: string;
  manifests: Descriptor[];
  annotations?: Record<string, string>;
}

export type ParsedManifest =
  | { kind: 'manifest'; mediaType: string; manifest: ImageManifest }
  | { kind: 'index'; mediaType: string; index: ImageIndex };

/** 4 MiB: what distribution and containerd accept for a manifest. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

function protocol(message: string, context: { repository?: string; digest?: string }): RegistryError {
  return new RegistryError('TSB_REGISTRY_PROTOCOL', message, context);
}

function checkDescriptor(d: unknown, where: string, context: { repository?: string; digest?: string }): Descriptor {
  const desc = d as Partial<Descriptor> | null;
  if (
    desc === null ||
    typeof desc !== 'object' ||
    typeof desc.mediaType !== 'string' ||
    typeof desc.digest !== 'string' ||
    !isDigest(desc.digest) ||
    typeof desc.size !== 'number' ||
    !Number.isSafeInteger(desc.size) ||
    desc.size < 0
  ) {
    throw protocol(`${where}: not a valid descriptor (mediaType, digest, size)`, context);
  }
  return desc as Descriptor;
}

/**
 * Parse manifest bytes. The media type is the body's `mediaType` field when
 * present (it is part of the digested bytes), else the Content-Type header,
 * else inferred from the shape.
 */
export function parseManifest(
  bytes: Uint8Array,
  contentType: string,
  context: { repository?: string; digest?: string } = {},
): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new RegistryError('TSB_REGISTRY_PROTOCOL', 'manifest is not JSON', { ...context, cause: err });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw protocol('manifest is not a JSON object', context);
  const obj = doc as Record<string, unknown>;
  if (obj.schemaVersion === 1 || isSchema1MediaType(contentType)) {
    throw new RegistryError('TSB_REGISTRY_UNSUPPORTED', 'docker schema1 manifests are not supported', context);
  }
  if (obj.schemaVersion !== 2) throw protocol(`unsupported manifest schemaVersion ${String(obj.schemaVersion)}`, context);
  let mediaType = typeof obj.mediaType === 'string' ? obj.mediaType : contentType;
  if (!isIndexMediaType(mediaType) && !isImageManifestMediaType(mediaType)) {
    if (Array.isArray(obj.manifests)) mediaType = OCI_INDEX;
    else if (obj.config !== undefined && Array.isArray(obj.layers)) mediaType = OCI_MANIFEST;
    else throw new RegistryError('TSB_REGISTRY_UNSUPPORTED', `unsupported manifest media type ${JSON.stringify(mediaType)}`, context);
  }
  if (isIndexMediaType(mediaType)) {
    if (!Array.isArray(obj.manifests)) throw protocol('index has no manifests array', context);
    (obj.manifests as unknown[]).forEach((d, i) => checkDescriptor(d, `manifests[${i}]`, context));
    return { kind: 'index', mediaType, index: obj as unknown as ImageIndex };
  }
  checkDescriptor(obj.config, 'config', context);
  if (!Array.isArray(obj.layers)) throw protocol('manifest has no layers array', context);
  (obj.layers as unknown[]).forEach((d, i) => checkDescriptor(d, `layers[${i}]`, context));
  return { kind: 'manifest', mediaType, manifest: obj as unknown as ImageManifest };
}
