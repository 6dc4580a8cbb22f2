// The local image index as users see it: tags (full canonical references
// such as docker.io/library/app:latest) pointing at manifests, plus images
// that have no name (a build without -t, a load of an unnamed archive).
//
// An unnamed image is kept by a record in UNTAGGED_NAMESPACE whose `blobs`
// lists its manifest, which is how the store's gc finds it (records with a
// top-level `blobs` array are gc roots). Docker calls these dangling
// images; `prune` removes them, `rmi ID` removes one.
//
// Names resolve like docker: a reference (tag or @digest) first, then an
// image ID — the config digest, or any unambiguous hex prefix of it.
import { tryParseReference, parseReference, type ImageReference } from '../../registry/index.js';
import type { ContentStore, Descriptor, Digest, TagRecord } from '../store/index.js';
import { isDigest } from '../store/index.js';
import { ImageError } from './errors.js';
import { readImage, type ImageDetails, type ReadImageOptions } from './read-image.js';

export const UNTAGGED_NAMESPACE = 'untagged-images';

interface UntaggedRecord {
  blobs: Digest[];
  target: Descriptor;
  created: string;
}

/** One image of the index: a target and every tag that points at it. */
export interface LocalImage {
  target: Descriptor;
  /** Canonical tag names, sorted; empty for an unnamed image. */
  names: string[];
  /** ISO time: the newest tag update, or when the unnamed image was kept. */
  updated: string;
}

export interface LocalImageMatch extends LocalImage {
  /** The tag the text named, when it named one (not for IDs and digests). */
  matchedName: string | null;
}

const ID_PREFIX_RE = /^(?:sha256:)?[0-9a-f]{1,64}$/;

/** Keep `target` in the store although no tag names it. */
export async function keepUntagged(store: ContentStore, target: Descriptor): Promise<void> {
  const rec: UntaggedRecord = {
    blobs: [target.digest],
    target: { mediaType: target.mediaType, digest: target.digest, size: target.size },
    created: new Date().toISOString(),
  };
  await store.putRecord(UNTAGGED_NAMESPACE, target.digest, rec);
}

/** Forget the unnamed-image record of `digest` (its blobs become garbage unless tagged). */
export async function dropUntagged(store: ContentStore, digest: Digest): Promise<boolean> {
  return store.deleteRecord(UNTAGGED_NAMESPACE, digest);
}

async function untaggedRecords(store: ContentStore): Promise<UntaggedRecord[]> {
  const out: UntaggedRecord[] = [];
  for (const key of await store.listRecords(UNTAGGED_NAMESPACE)) {
    const rec = await store.getRecord<UntaggedRecord>(UNTAGGED_NAMESPACE, key);
    if (rec === null || typeof rec !== 'object' || typeof rec.target !== 'object' || !isDigest(rec.target?.digest)) continue;
    out.push(rec);
  }
  return out;
}

/** Every local image, tagged ones grouped by target, then unnamed ones. */
export async function listLocalImages(store: ContentStore): Promise<LocalImage[]> {
  const byDigest = new Map<string, LocalImage>();
  for (const tag of await store.listTags()) {
    const entry = byDigest.get(tag.target.digest);
    if (entry === undefined) {
      byDigest.set(tag.target.digest, { target: tag.target, names: [tag.name], updated: tag.updated });
    } else {
      entry.names.push(tag.name);
      if (tag.updated > entry.updated) entry.updated = tag.updated;
    }
  }
  for (const rec of await untaggedRecords(store)) {
    if (!byDigest.has(rec.target.digest)) {
      byDigest.set(rec.target.digest, { target: rec.target, names: [], updated: rec.created });
    }
  }
  const images = [...byDigest.values()];
  for (const img of images) img.names.sort();
  return images;
}

/**
 * Read an image for listing: null when its blobs are missing or unreadable
 * (the caller shows what it can rather than failing the whole listing).
 */
export async function tryReadImage(store: ContentStore, target: Descriptor, opts: ReadImageOptions = {}): Promise<ImageDetails | null> {
  try {
    return await readImage(store, target, opts);
  } catch (err) {
    if (err instanceof ImageError) return null;
    throw err;
  }
}

/** The docker image ID of a local image: its config digest (the target's digest if unreadable). */
export function imageId(details: ImageDetails | null, target: Descriptor): Digest {
  return details?.configDescriptor.digest ?? target.digest;
}

function withMatch(image: LocalImage, matchedName: string | null): LocalImageMatch {
  return { ...image, matchedName };
}

async function findById(store: ContentStore, text: string, opts: ReadImageOptions): Promise<LocalImageMatch | null> {
  const hex = text.startsWith('sha256:') ? text.slice('sha256:'.length) : text;
  const full = hex.length === 64;
  const matches: Array<{ image: LocalImage; id: string }> = [];
  for (const image of await listLocalImages(store)) {
    const details = await tryReadImage(store, image.target, opts);
    const id = imageId(details, image.target).slice('sha256:'.length);
    const manifest = image.target.digest.slice('sha256:'.length);
    // A full digest may name the manifest too (what containerd calls the ID).
    if (id.startsWith(hex) || (full && manifest === hex)) matches.push({ image, id });
  }
  const ids = new Set(matches.map((m) => m.id));
  if (ids.size > 1) {
    throw new ImageError('TSB_IMAGE_AMBIGUOUS', `image ID prefix "${text}" matches ${ids.size} images; give more characters`);
  }
  const [first] = matches;
  return first === undefined ? null : withMatch(first.image, null);
}

async function findByReference(store: ContentStore, ref: ImageReference): Promise<LocalImageMatch | null> {
  if (ref.digest !== null) {
    const images = (await listLocalImages(store)).filter((i) => i.target.digest === ref.digest);
    const sameRepo = images.find((i) => i.names.some((n) => tryParseReference(n)?.name() === ref.name()));
    const image = sameRepo ?? images[0];
    return image === undefined ? null : withMatch(image, null);
  }
  const tag: TagRecord | null = await store.getTag(ref.canonical());
  if (tag === null) return null;
  const all = (await store.listTags()).filter((t) => t.target.digest === tag.target.digest);
  const image: LocalImage = {
    target: tag.target,
    names: all.map((t) => t.name).sort(),
    updated: all.reduce((a, t) => (t.updated > a ? t.updated : a), tag.updated),
  };
  return withMatch(image, tag.name);
}

/**
 * Find the local image `text` names: a reference (`busybox`, `app:1`,
 * `name@sha256:…`), a full image ID (`sha256:<config digest>`, or the
 * manifest digest) or an unambiguous ID prefix (`3f5e`). Null when there is
 * none. Throws InvalidReferenceError (TSB_REF_INVALID) for text that is
 * neither a valid reference nor an ID, TSB_IMAGE_AMBIGUOUS for a prefix
 * that matches several images.
 */
export async function findLocalImage(store: ContentStore, text: string, opts: ReadImageOptions = {}): Promise<LocalImageMatch | null> {
  const looksLikeId = ID_PREFIX_RE.test(text);
  if (looksLikeId && text.startsWith('sha256:')) return findById(store, text, opts);
  let ref: ImageReference | null = null;
  if (looksLikeId) ref = tryParseReference(text);
  else ref = parseReference(text);
  if (ref !== null) {
    const hit = await findByReference(store, ref);
    if (hit !== null) return hit;
  }
  return looksLikeId ? findById(store, text, opts) : null;
}

/** findLocalImage, or TSB_IMAGE_NOT_FOUND naming `text`. */
export async function requireLocalImage(store: ContentStore, text: string, opts: ReadImageOptions = {}): Promise<LocalImageMatch> {
  const hit = await findLocalImage(store, text, opts);
  if (hit === null) throw new ImageError('TSB_IMAGE_NOT_FOUND', `No such image: ${text}`);
  return hit;
}
