// OCI image layouts (image-spec image-layout.md): export local images as a
// layout directory or a tar of one, and import from them.
//
//   oci-layout                {"imageLayoutVersion":"1.0.0"}
//   index.json                one manifest descriptor per image name, with
//                             org.opencontainers.image.ref.name = the tag
//                             (what `skopeo oci:DIR:tag` selects) and
//                             io.containerd.image.name = the full name
//   blobs/sha256/<hex>        manifests, configs, layers, byte for byte
//
// Import copies exactly the blobs the chosen manifests reach, each through
// a BlobWriter committed with the digest it must have: a blob whose bytes
// do not hash to its name never enters the store.
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Writable } from 'node:stream';
import { InvalidReferenceError, parseReference, tryParseReference } from '../../registry/index.js';
import type { ImagePlatform, ResolvedImage } from '../../executor/types.js';
import { isDigest, StoreError, type ContentStore, type Descriptor, type Digest } from '../store/index.js';
import { ImageError } from './errors.js';
import { ANNOTATION_IMAGE_NAME, ANNOTATION_REF_NAME, MEDIA_TYPE_OCI_INDEX } from './media-types.js';
import { DEFAULT_PLATFORM, formatImagePlatform, selectManifest } from './platform.js';
import {
  manifestKind,
  MAX_JSON_BLOB_BYTES,
  parseIndex,
  parseManifest,
  readImage,
  toResolvedImage,
  type ImageDetails,
  type IndexJson,
} from './read-image.js';
import { TarWriter } from './tar-writer.js';

export const OCI_LAYOUT_FILE = 'oci-layout';
export const OCI_INDEX_FILE = 'index.json';
const LAYOUT_VERSION = '1.0.0';

/** An image to export: what a tag points at, and the names to give it. */
export interface ExportImage {
  target: Descriptor;
  /** Canonical references (docker.io/library/app:1); may be empty. */
  names: string[];
}

/** An image read out of a layout or archive and copied into the store. */
export interface ImportedImage {
  /** Canonical names the archive gives it; empty when it has none. */
  names: string[];
  /** The manifest, as a tag in the store should point at it. */
  target: Descriptor;
  details: ImageDetails;
}

export interface ImportOptions {
  /** Which manifest to take from a multi-platform index (default linux/amd64). */
  platform?: ImagePlatform;
}

/** How an importer reads a layout: a directory, or an extracted archive with aliases. */
export interface LayoutSource {
  /** Names the layout in errors. */
  label: string;
  /** Host path of a file in the layout, by its name in the layout. */
  file(name: string): string;
}

// ---------------------------------------------------------------------------
// export

interface PreparedImage {
  names: string[];
  manifest: Descriptor;
  /** manifest, config and layers, in that order. */
  blobs: Descriptor[];
}

async function prepare(store: ContentStore, image: ExportImage, opts: ImportOptions): Promise<PreparedImage> {
  // An index target is exported as the one manifest for the platform: the
  // store may not hold the other platforms' blobs, and a layout must be
  // complete.
  const details = await readImage(store, image.target, opts);
  const blobs: Descriptor[] = [details.manifestDescriptor, details.configDescriptor, ...details.manifest.layers];
  return { names: image.names, manifest: details.manifestDescriptor, blobs };
}

/** The annotations index.json carries for `name` (buildkit/containerd style). */
export function nameAnnotations(name: string): Record<string, string> {
  const ref = parseReference(name);
  return { [ANNOTATION_IMAGE_NAME]: ref.canonical(), [ANNOTATION_REF_NAME]: ref.tag ?? ref.canonical() };
}

function indexEntries(prepared: readonly PreparedImage[]): Descriptor[] {
  const out: Descriptor[] = [];
  for (const p of prepared) {
    const base = { mediaType: p.manifest.mediaType, digest: p.manifest.digest, size: p.manifest.size };
    if (p.names.length === 0) out.push(base);
    for (const name of p.names) out.push({ ...base, annotations: nameAnnotations(name) });
  }
  return out;
}

function indexDocument(manifests: Descriptor[]): IndexJson {
  return { schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_INDEX, manifests };
}

function uniqueBlobs(prepared: readonly PreparedImage[]): Descriptor[] {
  const seen = new Map<string, Descriptor>();
  for (const p of prepared) for (const b of p.blobs) if (!seen.has(b.digest)) seen.set(b.digest, b);
  return [...seen.values()];
}

async function writeFileAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.tsbuild-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data, { mode: 0o644 });
    await rename(tmp, file);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

async function sizeOf(file: string): Promise<number | null> {
  try {
    return (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function outputError(dir: string, err: unknown): Error {
  if (err instanceof ImageError || err instanceof StoreError) return err;
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return new ImageError('TSB_IMAGE_OUTPUT', `cannot write OCI layout ${dir}: ${code ?? (err as Error).message}`, { path: dir, cause: err });
}

/** The entries of an existing layout's index.json; [] when there is none. */
export async function readExistingIndex(dir: string): Promise<Descriptor[]> {
  let text: string;
  try {
    text = await readFile(path.join(dir, OCI_INDEX_FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ImageError('TSB_IMAGE_ARCHIVE', `${dir}: existing index.json is not valid JSON`, { path: dir, cause: err });
  }
  return parseIndex(doc, `${dir}/index.json`).manifests;
}

/**
 * Write `images` into the layout directory `dir`, creating it or adding to
 * an existing layout: an entry already there under the same ref name is
 * replaced (as `skopeo copy … oci:DIR:tag` does), others are kept.
 */
export async function writeOciLayoutDir(store: ContentStore, images: readonly ExportImage[], dir: string, opts: ImportOptions = {}): Promise<void> {
  const prepared = await Promise.all(images.map((i) => prepare(store, i, opts)));
  try {
    const blobDir = path.join(dir, 'blobs', 'sha256');
    await mkdir(blobDir, { recursive: true });
    for (const blob of uniqueBlobs(prepared)) {
      const dest = path.join(blobDir, blob.digest.slice('sha256:'.length));
      if ((await sizeOf(dest)) === blob.size) continue;
      const tmp = `${dest}.tsbuild-${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
      try {
        await copyFile(store.blobPath(blob.digest), tmp);
        await chmod(tmp, 0o644);
        await rename(tmp, dest);
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        throw err;
      }
    }
    const fresh = indexEntries(prepared);
    const replacedRefs = new Set(fresh.flatMap((d) => (d.annotations?.[ANNOTATION_REF_NAME] ? [d.annotations[ANNOTATION_REF_NAME]] : [])));
    const kept = (await readExistingIndex(dir)).filter((d) => {
      const ref = d.annotations?.[ANNOTATION_REF_NAME];
      if (ref !== undefined) return !replacedRefs.has(ref);
      return !fresh.some((f) => f.digest === d.digest && f.annotations === undefined);
    });
    await writeFileAtomic(path.join(dir, OCI_LAYOUT_FILE), JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
    // index.json last: until it is renamed in, the layout lists nothing new.
    await writeFileAtomic(path.join(dir, OCI_INDEX_FILE), JSON.stringify(indexDocument([...kept, ...fresh])));
  } catch (err) {
    throw outputError(dir, err);
  }
}

/** Write `images` as a tar of a fresh OCI layout into `out` (not ended). */
export async function writeOciLayoutTar(store: ContentStore, images: readonly ExportImage[], out: Writable, opts: ImportOptions = {}): Promise<void> {
  const prepared = await Promise.all(images.map((i) => prepare(store, i, opts)));
  const tar = new TarWriter(out);
  try {
    await tar.file(OCI_LAYOUT_FILE, JSON.stringify({ imageLayoutVersion: LAYOUT_VERSION }));
    await tar.file(OCI_INDEX_FILE, JSON.stringify(indexDocument(indexEntries(prepared))));
    await tar.directory('blobs/sha256');
    for (const blob of uniqueBlobs(prepared)) {
      await tar.stream(`blobs/sha256/${blob.digest.slice('sha256:'.length)}`, blob.size, store.openBlob(blob.digest));
    }
    await tar.finish();
  } catch (err) {
    tar.destroy();
    throw err;
  }
}

// ---------------------------------------------------------------------------
// import

function blobName(digest: string, label: string): string {
  if (!isDigest(digest)) {
    throw new ImageError('TSB_IMAGE_ARCHIVE', `${label}: unsupported digest ${JSON.stringify(digest)} (only sha256)`, { path: label });
  }
  return `blobs/sha256/${digest.slice('sha256:'.length)}`;
}

function mismatch(src: LayoutSource, desc: Descriptor, why: string, cause?: unknown): ImageError {
  return new ImageError('TSB_IMAGE_DIGEST_MISMATCH', `${src.label}: blob ${desc.digest} ${why}`, {
    path: src.label,
    digest: desc.digest,
    ...(cause === undefined ? {} : { cause }),
  });
}

async function blobSize(src: LayoutSource, desc: Descriptor): Promise<{ file: string; size: number }> {
  let file: string;
  try {
    file = src.file(blobName(desc.digest, src.label));
  } catch (err) {
    if (err instanceof ImageError) throw new ImageError('TSB_IMAGE_ARCHIVE', `${src.label}: blob ${desc.digest} is missing`, { path: src.label, cause: err });
    throw err;
  }
  const size = await sizeOf(file);
  if (size === null) throw new ImageError('TSB_IMAGE_ARCHIVE', `${src.label}: blob ${desc.digest} is missing`, { path: src.label, digest: desc.digest });
  if (size !== desc.size) throw mismatch(src, desc, `is ${size} bytes, its descriptor says ${desc.size}`);
  return { file, size };
}

/** Stream a layout blob into the store, committed only if it hashes to its digest. */
async function importBlob(store: ContentStore, src: LayoutSource, desc: Descriptor): Promise<void> {
  const { file } = await blobSize(src, desc);
  if (await store.hasBlob(desc.digest)) return;
  const writer = await store.createBlobWriter();
  try {
    await pipeline(createReadStream(file), writer.stream);
    await writer.commit(desc.digest);
  } catch (err) {
    await writer.abort();
    if (err instanceof StoreError && err.code === 'TSB_STORE_DIGEST_MISMATCH') {
      throw mismatch(src, desc, `does not match its content (sha256:${err.actual?.slice('sha256:'.length) ?? '?'})`, err);
    }
    throw err;
  }
}

/** Read a small layout blob (manifest, index, config) and check its digest. */
async function readVerified(src: LayoutSource, desc: Descriptor, what: string): Promise<Buffer> {
  if (desc.size > MAX_JSON_BLOB_BYTES) {
    throw new ImageError('TSB_IMAGE_INVALID', `${src.label}: ${what} ${desc.digest} is too large (${desc.size} bytes)`, { digest: desc.digest });
  }
  const { file } = await blobSize(src, desc);
  const bytes = await readFile(file);
  const actual = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  if (actual !== desc.digest) throw mismatch(src, desc, `does not match its content (${actual})`);
  return bytes;
}

function parseJson(src: LayoutSource, bytes: Buffer, what: string): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ImageError('TSB_IMAGE_INVALID', `${src.label}: ${what} is not valid JSON`, { path: src.label, cause: err });
  }
}

/** Copy the manifest `desc` reaches (through at most two indexes) and its blobs; return the manifest descriptor. */
async function importManifest(store: ContentStore, src: LayoutSource, desc: Descriptor, platform: ImagePlatform, depth = 0): Promise<Descriptor> {
  const bytes = await readVerified(src, desc, 'manifest');
  const doc = parseJson(src, bytes, `manifest ${desc.digest}`);
  const kind = manifestKind(desc.mediaType, doc);
  if (kind === 'index') {
    if (depth >= 2) throw new ImageError('TSB_IMAGE_INVALID', `${src.label}: indexes nested too deeply`, { digest: desc.digest });
    const index = parseIndex(doc, desc.digest);
    const chosen = selectManifest(index.manifests, platform);
    if (chosen === null) {
      throw new ImageError('TSB_IMAGE_PLATFORM', `${src.label}: no manifest for ${formatImagePlatform(platform)} in index ${desc.digest}`, {
        digest: desc.digest,
      });
    }
    return importManifest(store, src, chosen, platform, depth + 1);
  }
  if (kind !== 'manifest') {
    throw new ImageError('TSB_IMAGE_INVALID', `${src.label}: ${desc.digest} has unsupported media type ${desc.mediaType}`, { digest: desc.digest });
  }
  const manifest = parseManifest(doc, desc.digest);
  for (const layer of manifest.layers) await importBlob(store, src, layer);
  const config = await readVerified(src, manifest.config, 'config');
  await store.writeBlob(config, manifest.config.digest);
  // The manifest last: once it is in the store, everything it names is too.
  await store.writeBlob(bytes, desc.digest);
  return { mediaType: desc.mediaType, digest: desc.digest, size: desc.size };
}

/** The names an index.json entry gives its image (canonical), possibly none. */
export function entryNames(desc: Descriptor): string[] {
  const image = desc.annotations?.[ANNOTATION_IMAGE_NAME];
  const parsedImage = image === undefined ? null : tryParseReference(image);
  if (parsedImage !== null) return [parsedImage.canonical()];
  const ref = desc.annotations?.[ANNOTATION_REF_NAME];
  // A bare tag ("latest") names no repository; a full reference does.
  if (ref !== undefined && /[/:@]/.test(ref)) {
    const parsed = tryParseReference(ref);
    if (parsed !== null) return [parsed.canonical()];
  }
  return [];
}

async function readLayoutIndex(src: LayoutSource): Promise<IndexJson> {
  let layoutText: string;
  try {
    layoutText = await readFile(src.file(OCI_LAYOUT_FILE), 'utf8');
  } catch (err) {
    throw new ImageError('TSB_IMAGE_ARCHIVE', `${src.label}: not an OCI layout (no readable oci-layout file)`, { path: src.label, cause: err });
  }
  const layout = parseJson(src, Buffer.from(layoutText), 'oci-layout') as { imageLayoutVersion?: unknown } | null;
  if (typeof layout?.imageLayoutVersion !== 'string' || !layout.imageLayoutVersion.startsWith('1.')) {
    throw new ImageError('TSB_IMAGE_ARCHIVE', `${src.label}: unsupported oci-layout version`, { path: src.label });
  }
  let indexBytes: Buffer;
  try {
    indexBytes = await readFile(src.file(OCI_INDEX_FILE));
  } catch (err) {
    throw new ImageError('TSB_IMAGE_ARCHIVE', `${src.label}: no readable index.json`, { path: src.label, cause: err });
  }
  return parseIndex(parseJson(src, indexBytes, 'index.json'), `${src.label}/index.json`);
}

/** Import the given top-level index entries; entries reaching the same manifest merge. */
async function importEntries(store: ContentStore, src: LayoutSource, entries: readonly Descriptor[], opts: ImportOptions): Promise<ImportedImage[]> {
  const platform = opts.platform ?? DEFAULT_PLATFORM;
  const byDigest = new Map<string, ImportedImage>();
  const targets = new Map<string, Descriptor>();
  for (const entry of entries) {
    let target = targets.get(entry.digest);
    if (target === undefined) {
      target = await importManifest(store, src, entry, platform);
      targets.set(entry.digest, target);
    }
    let image = byDigest.get(target.digest);
    if (image === undefined) {
      image = { names: [], target, details: await readImage(store, target, { platform }) };
      byDigest.set(target.digest, image);
    }
    for (const name of entryNames(entry)) if (!image.names.includes(name)) image.names.push(name);
  }
  return [...byDigest.values()];
}

/** Import every image a layout lists. */
export async function importOciLayout(store: ContentStore, src: LayoutSource, opts: ImportOptions = {}): Promise<ImportedImage[]> {
  const index = await readLayoutIndex(src);
  return importEntries(store, src, index.manifests, opts);
}

export function directorySource(dir: string): LayoutSource {
  const abs = path.resolve(dir);
  return { label: abs, file: (name) => path.join(abs, ...name.split('/')) };
}

// ---------------------------------------------------------------------------
// FROM oci-layout://DIR[:tag][@digest]

export const OCI_LAYOUT_SCHEME = 'oci-layout://';

export interface OciLayoutReference {
  dir: string;
  tag: string | null;
  digest: Digest | null;
}

/** Parse `oci-layout://DIR[:tag][@sha256:…]`; DIR is resolved against `baseDir`.
 * Malformed text is InvalidReferenceError (TSB_REF_INVALID). */
export function parseOciLayoutReference(text: string, baseDir: string = process.cwd()): OciLayoutReference {
  const usage = (why: string): InvalidReferenceError => new InvalidReferenceError(text, 'format', `OCI layout reference: ${why}`);
  if (!text.startsWith(OCI_LAYOUT_SCHEME)) throw usage(`must start with ${OCI_LAYOUT_SCHEME}`);
  let rest = text.slice(OCI_LAYOUT_SCHEME.length);
  let digest: Digest | null = null;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) throw usage(`"${d}" is not a sha256 digest`);
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | null = null;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!/^[\w][\w.-]{0,127}$/.test(tag)) throw usage(`bad tag "${tag}"`);
  }
  if (rest === '') throw usage('no directory');
  return { dir: path.resolve(baseDir, rest), tag, digest };
}

function formatLayoutRef(ref: OciLayoutReference): string {
  return `${OCI_LAYOUT_SCHEME}${ref.dir}${ref.tag === null ? '' : `:${ref.tag}`}${ref.digest === null ? '' : `@${ref.digest}`}`;
}

function entryMatchesTag(desc: Descriptor, tag: string): boolean {
  if (desc.annotations?.[ANNOTATION_REF_NAME] === tag) return true;
  return entryNames(desc).some((n) => tryParseReference(n)?.tag === tag);
}

/** The one index entry `ref` selects, or a NOT_FOUND / AMBIGUOUS error. */
export function selectLayoutEntry(index: IndexJson, ref: OciLayoutReference, label: string): Descriptor {
  let candidates = index.manifests;
  if (ref.digest !== null) candidates = candidates.filter((d) => d.digest === ref.digest);
  if (ref.tag !== null) candidates = candidates.filter((d) => entryMatchesTag(d, ref.tag as string));
  else if (ref.digest === null && new Set(candidates.map((d) => d.digest)).size > 1) {
    const latest = candidates.filter((d) => entryMatchesTag(d, 'latest'));
    if (latest.length > 0) candidates = latest;
  }
  const digests = new Set(candidates.map((d) => d.digest));
  const [first] = candidates;
  if (first === undefined) {
    const what = [ref.tag === null ? null : `tag "${ref.tag}"`, ref.digest].filter(Boolean).join(' and ') || 'an image';
    throw new ImageError('TSB_IMAGE_NOT_FOUND', `${label}: the OCI layout has no ${what}`, { path: label });
  }
  if (digests.size > 1) {
    const refs = candidates.map((d) => d.annotations?.[ANNOTATION_REF_NAME] ?? d.digest);
    throw new ImageError('TSB_IMAGE_AMBIGUOUS', `${label}: the OCI layout holds several images (${refs.join(', ')}); name one with :tag or @digest`, {
      path: label,
    });
  }
  return first;
}

/**
 * Resolve `FROM oci-layout://DIR[:tag][@digest]`: copy the selected image
 * into the store (verifying every blob) and describe it. The blobs are not
 * tagged: the build that uses them must reference them (its result, or a
 * cache record) before the store's gc grace period ends.
 */
export async function resolveOciLayoutImage(
  store: ContentStore,
  text: string,
  opts: ImportOptions & { baseDir?: string } = {},
): Promise<ResolvedImage> {
  const ref = parseOciLayoutReference(text, opts.baseDir);
  const src = directorySource(ref.dir);
  const index = await readLayoutIndex(src);
  const entry = selectLayoutEntry(index, ref, src.label);
  const [image] = await importEntries(store, src, [entry], opts);
  if (image === undefined) throw new ImageError('TSB_IMAGE_NOT_FOUND', `${src.label}: nothing imported`);
  return toResolvedImage(formatLayoutRef(ref), image.details);
}
