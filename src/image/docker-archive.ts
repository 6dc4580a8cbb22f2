// docker-archive: the `docker save` / `docker load` format.
//
//   manifest.json        [{"Config":"<hex>.json","RepoTags":["docker.io/library/app:1"],"Layers":["<diffid hex>/layer.tar",…]}]
//   repositories         {"docker.io/library/app":{"1":"<top layer dir>"}}
//   <config hex>.json    the image config, byte for byte
//   <diffid hex>/layer.tar   each layer, uncompressed
//
// Layers are written uncompressed because every loader accepts that
// (docker since 1.10, podman/containers-image, skopeo). The tar entry needs
// its size up front, so each gzip layer is decompressed twice: once to
// count (and check it against its diff_id), once to write.
//
// On import every layer is hashed as it is read and must equal the
// config's diff_id before its blob is committed; plain layers are gzipped
// on the way in (the same zlib settings as writeLayer, so a layer we wrote
// comes back as the same blob and an image we saved loads with the same
// manifest digest).
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { Transform, Writable, type Readable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createGunzip, createGzip } from 'node:zlib';
import { detectCompression } from '../../executor/layer/index.js';
import { parseReference, type ImageReference } from '../../registry/index.js';
import type { LayerRef } from '../../executor/types.js';
import { isDigest, sha256Digest, type ContentStore, type Descriptor, type Digest } from '../store/index.js';
import { archiveFile, type ExtractedArchive } from './archive-extract.js';
import { ImageError } from './errors.js';
import {
  MEDIA_TYPE_DOCKER_FOREIGN_LAYER_GZIP,
  MEDIA_TYPE_DOCKER_LAYER,
  MEDIA_TYPE_DOCKER_LAYER_GZIP,
  MEDIA_TYPE_OCI_CONFIG,
  MEDIA_TYPE_OCI_LAYER,
  MEDIA_TYPE_OCI_LAYER_GZIP,
  MEDIA_TYPE_OCI_MANIFEST,
  MEDIA_TYPE_OCI_NONDISTRIBUTABLE_LAYER_GZIP,
} from './media-types.js';
import type { ExportImage, ImportedImage, ImportOptions } from './oci-layout.js';
import { MAX_JSON_BLOB_BYTES, readImage, type ImageDetails } from './read-image.js';
import { TarWriter } from './tar-writer.js';
import { manifestJson } from './write-image.js';

export const DOCKER_MANIFEST_FILE = 'manifest.json';

export interface DockerManifestEntry {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

const GZIP_LAYER_TYPES: ReadonlySet<string> = new Set([
  MEDIA_TYPE_OCI_LAYER_GZIP,
  MEDIA_TYPE_DOCKER_LAYER_GZIP,
  MEDIA_TYPE_OCI_NONDISTRIBUTABLE_LAYER_GZIP,
  MEDIA_TYPE_DOCKER_FOREIGN_LAYER_GZIP,
]);
const PLAIN_LAYER_TYPES: ReadonlySet<string> = new Set([MEDIA_TYPE_OCI_LAYER, MEDIA_TYPE_DOCKER_LAYER]);

function hex(digest: Digest): string {
  return digest.slice('sha256:'.length);
}

// ---------------------------------------------------------------------------
// export

/** The layer as an uncompressed tar stream. */
function openLayerTar(store: ContentStore, layer: LayerRef): Readable {
  const blob = store.openBlob(layer.digest);
  if (PLAIN_LAYER_TYPES.has(layer.mediaType)) return blob;
  if (!GZIP_LAYER_TYPES.has(layer.mediaType)) {
    throw new ImageError('TSB_IMAGE_INVALID', `layer ${layer.digest}: ${layer.mediaType} layers cannot be written to a docker archive`, {
      digest: layer.digest,
    });
  }
  const gunzip = createGunzip();
  blob.on('error', (err) => gunzip.destroy(err));
  blob.pipe(gunzip);
  return gunzip;
}

/** Decompress once to learn the tar's size, checking it against its diffID. */
async function measureLayer(store: ContentStore, layer: LayerRef): Promise<number> {
  if (PLAIN_LAYER_TYPES.has(layer.mediaType)) return layer.size;
  const hash = createHash('sha256');
  let size = 0;
  await pipeline(
    openLayerTar(store, layer),
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb();
      },
    }),
  );
  const diffID = `sha256:${hash.digest('hex')}`;
  if (diffID !== layer.diffID) {
    throw new ImageError('TSB_IMAGE_DIGEST_MISMATCH', `layer ${layer.digest} decompresses to ${diffID}, but the config says ${layer.diffID}`, {
      digest: layer.digest,
    });
  }
  return size;
}

function repoTags(names: readonly string[]): ImageReference[] {
  return names.map((n) => parseReference(n)).filter((r) => r.tag !== null);
}

/** Write `images` as a docker archive into `out` (not ended). */
export async function writeDockerArchive(store: ContentStore, images: readonly ExportImage[], out: Writable, opts: ImportOptions = {}): Promise<void> {
  const details: Array<{ image: ExportImage; details: ImageDetails }> = [];
  for (const image of images) details.push({ image, details: await readImage(store, image.target, opts) });

  const sizes = new Map<string, number>();
  for (const { details: d } of details) {
    for (const layer of d.layers) if (!sizes.has(layer.diffID)) sizes.set(layer.diffID, await measureLayer(store, layer));
  }

  const tar = new TarWriter(out);
  try {
    const written = new Set<string>();
    const manifest: DockerManifestEntry[] = [];
    const repositories: Record<string, Record<string, string>> = {};
    for (const { image, details: d } of details) {
      for (const layer of d.layers) {
        const name = `${hex(layer.diffID)}/layer.tar`;
        if (written.has(name)) continue;
        written.add(name);
        await tar.stream(name, sizes.get(layer.diffID) as number, openLayerTar(store, layer));
      }
      const configName = `${hex(d.configDescriptor.digest)}.json`;
      if (!written.has(configName)) {
        written.add(configName);
        await tar.file(configName, await store.readBlob(d.configDescriptor.digest));
      }
      const tags = repoTags(image.names);
      manifest.push({
        Config: configName,
        // Fully qualified: podman reads a short "app:1" as localhost/app:1,
        // docker normalises either form to the same name.
        RepoTags: tags.length === 0 ? null : tags.map((t) => t.canonical()),
        Layers: d.layers.map((l) => `${hex(l.diffID)}/layer.tar`),
      });
      const top = d.layers.at(-1);
      if (top !== undefined) {
        for (const t of tags) (repositories[t.name()] ??= {})[t.tag as string] = hex(top.diffID);
      }
    }
    await tar.file(DOCKER_MANIFEST_FILE, JSON.stringify(manifest));
    await tar.file('repositories', JSON.stringify(repositories));
    await tar.finish();
  } catch (err) {
    tar.destroy();
    throw err;
  }
}

// ---------------------------------------------------------------------------
// import

function archiveError(label: string, why: string, cause?: unknown): ImageError {
  return new ImageError('TSB_IMAGE_ARCHIVE', `${label}: ${why}`, { path: label, ...(cause === undefined ? {} : { cause }) });
}

export function parseDockerManifest(doc: unknown, label: string): DockerManifestEntry[] {
  if (!Array.isArray(doc)) throw archiveError(label, 'manifest.json is not an array');
  return doc.map((e: unknown, i) => {
    const entry = e as Partial<Record<keyof DockerManifestEntry, unknown>> | null;
    const tags = entry?.RepoTags;
    if (
      typeof entry?.Config !== 'string' ||
      !Array.isArray(entry.Layers) ||
      !entry.Layers.every((l) => typeof l === 'string') ||
      !(tags === undefined || tags === null || (Array.isArray(tags) && tags.every((t) => typeof t === 'string')))
    ) {
      throw archiveError(label, `manifest.json[${i}] is not {Config, RepoTags, Layers}`);
    }
    return { Config: entry.Config, RepoTags: (tags as string[] | null | undefined) ?? null, Layers: entry.Layers as string[] };
  });
}

/** The digest a file name promises: `<hex>.json`, `<hex>/layer.tar` does not, `blobs/sha256/<hex>` does. */
function promisedDigest(name: string): Digest | null {
  const m = /^(?:blobs\/sha256\/)?([a-f0-9]{64})(?:\.json)?$/.exec(name);
  return m === null ? null : (`sha256:${m[1]}` as Digest);
}

async function readHead(file: string): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(6);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** A Transform that hashes what passes through it. */
function hashing(hash: ReturnType<typeof createHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
  });
}

/**
 * Store one archive layer as a gzip blob, committed only if its
 * uncompressed content hashes to `diffID`.
 */
async function importLayer(store: ContentStore, file: string, name: string, diffID: Digest, label: string): Promise<Descriptor> {
  const compression = detectCompression(await readHead(file));
  if (compression !== 'none' && compression !== 'gzip') {
    throw archiveError(label, `layer ${name} is ${compression}-compressed, which is not supported`);
  }
  const diffHash = createHash('sha256');
  const writer = await store.createBlobWriter();
  try {
    if (compression === 'none') {
      const gzip = createGzip({ level: zlibConstants.Z_DEFAULT_COMPRESSION });
      await pipeline(createReadStream(file), hashing(diffHash), gzip, writer.stream);
    } else {
      // Kept as it is; the diff_id is the hash of its decompressed bytes.
      const gunzip = createGunzip();
      const inflated = pipeline(gunzip, hashing(diffHash), discard());
      inflated.catch(() => undefined);
      await pipeline(createReadStream(file), teeInto(gunzip), writer.stream);
      await inflated;
    }
    const actual = `sha256:${diffHash.digest('hex')}`;
    if (actual !== diffID) {
      throw new ImageError('TSB_IMAGE_DIGEST_MISMATCH', `${label}: layer ${name} hashes to ${actual}, but the config says ${diffID}`, {
        path: label,
        digest: diffID,
      });
    }
    const { digest, size } = await writer.commit();
    return { mediaType: MEDIA_TYPE_OCI_LAYER_GZIP, digest, size };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/** Pass chunks through while also writing them to `side` (ended with us). */
function teeInto(side: Writable): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (side.write(chunk)) cb(null, chunk);
      else side.once('drain', () => cb(null, chunk));
    },
    flush(cb) {
      side.end();
      finished(side).then(() => cb(), cb);
    },
  });
}

function discard(): Writable {
  return new Writable({ write: (_chunk, _enc, cb) => cb() });
}

async function importEntry(
  store: ContentStore,
  archive: ExtractedArchive,
  entry: DockerManifestEntry,
  layerCache: Map<string, Descriptor>,
  opts: ImportOptions,
): Promise<ImportedImage> {
  const label = archive.label;
  const configFile = archiveFile(archive, entry.Config);
  const configBytes = await readFile(configFile);
  if (configBytes.length > MAX_JSON_BLOB_BYTES) throw archiveError(label, `config ${entry.Config} is too large`);
  const configDigest = sha256Digest(configBytes);
  const promised = promisedDigest(entry.Config);
  if (promised !== null && promised !== configDigest) {
    throw new ImageError('TSB_IMAGE_DIGEST_MISMATCH', `${label}: config ${entry.Config} hashes to ${configDigest}`, { path: label, digest: promised });
  }
  let config: { rootfs?: { diff_ids?: unknown } };
  try {
    config = JSON.parse(configBytes.toString('utf8')) as typeof config;
  } catch (err) {
    throw new ImageError('TSB_IMAGE_INVALID', `${label}: config ${entry.Config} is not valid JSON`, { path: label, cause: err });
  }
  const diffIDs = config?.rootfs?.diff_ids;
  if (!Array.isArray(diffIDs) || !diffIDs.every(isDigest)) {
    throw new ImageError('TSB_IMAGE_INVALID', `${label}: config ${entry.Config} has no rootfs.diff_ids`, { path: label });
  }
  if (diffIDs.length !== entry.Layers.length) {
    throw archiveError(label, `manifest.json lists ${entry.Layers.length} layers, the config ${diffIDs.length} diff_ids`);
  }
  const names = (entry.RepoTags ?? []).map((t) => {
    try {
      return parseReference(t).canonical();
    } catch (err) {
      throw archiveError(label, `RepoTags entry ${JSON.stringify(t)} is not a valid reference`, err);
    }
  });

  const layers: Descriptor[] = [];
  for (const [i, name] of entry.Layers.entries()) {
    const diffID = diffIDs[i] as Digest;
    const file = archiveFile(archive, name);
    const key = `${file}\0${diffID}`;
    let desc = layerCache.get(key);
    if (desc === undefined) {
      desc = await importLayer(store, file, name, diffID, label);
      layerCache.set(key, desc);
    }
    layers.push(desc);
  }
  const configBlob = await store.writeBlob(configBytes, configDigest);
  const configDesc: Descriptor = { mediaType: MEDIA_TYPE_OCI_CONFIG, digest: configBlob.digest, size: configBlob.size };
  const manifest = await store.writeBlob(JSON.stringify(manifestJson(configDesc, layers)));
  const target: Descriptor = { mediaType: MEDIA_TYPE_OCI_MANIFEST, digest: manifest.digest, size: manifest.size };
  return { names, target, details: await readImage(store, target, opts) };
}

/** Import every image of an extracted docker archive. */
export async function importDockerArchive(store: ContentStore, archive: ExtractedArchive, opts: ImportOptions = {}): Promise<ImportedImage[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(archiveFile(archive, DOCKER_MANIFEST_FILE), 'utf8'));
  } catch (err) {
    if (err instanceof ImageError) throw err;
    throw archiveError(archive.label, 'manifest.json is not valid JSON', err);
  }
  const entries = parseDockerManifest(doc, archive.label);
  const cache = new Map<string, Descriptor>();
  const out: ImportedImage[] = [];
  for (const entry of entries) {
    const image = await importEntry(store, archive, entry, cache, opts);
    const same = out.find((o) => o.target.digest === image.target.digest);
    if (same === undefined) out.push(image);
    else for (const n of image.names) if (!same.names.includes(n)) same.names.push(n);
  }
  return out;
}

/** Whether an extracted archive is a docker archive (has manifest.json). */
export function hasDockerManifest(archive: ExtractedArchive): boolean {
  return archive.files.has(DOCKER_MANIFEST_FILE) || archive.links.has(DOCKER_MANIFEST_FILE);
}

