// Pushing a local image to every name it should have: one push per
// repository (its blobs once: HEAD, cross-repository mount, or upload), then
// one manifest PUT per tag. Blobs the store holds only lazily are fetched
// when the registry needs their bytes, and only then: a layer the
// destination already has, or can mount from the base image's repository,
// never comes down.
import { Readable } from 'node:stream';
import { parseReference, type ImageReference, type ProgressListener, type PushResult, type PushSource } from '../../registry/index.js';
import type { ImagePlatform } from '../../executor/types.js';
import { manifestKind, readImage } from '../image/read-image.js';
import type { ContentStore, Descriptor } from '../store/index.js';
import type { LazyBlobs } from './lazy-blobs.js';
import type { RegistrySession } from './registry-session.js';

export interface PushLocalOptions {
  /** Which manifest of an index to push (default linux/amd64). */
  platform?: ImagePlatform;
  /** A repository on `ref.registry` that may hold the blobs, for cross-repository mounts. */
  mountFrom?(ref: ImageReference): string | undefined;
  onProgress?: ProgressListener;
  /** Called once per repository before its push starts. */
  onRepository?(name: string, tags: readonly string[]): void;
  signal?: AbortSignal;
}

/** The manifest to push for `target`: itself, or the platform's manifest when it is an index. */
async function manifestToPush(store: ContentStore, target: Descriptor, platform: ImagePlatform | undefined): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
  const bytes = await store.readBlob(target.digest);
  let doc: unknown = null;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch {
    // readImage below reports it
  }
  if (manifestKind(target.mediaType, doc) === 'manifest') return { descriptor: target, bytes };
  // An index may name platforms whose blobs were never pulled; push the one
  // manifest this store can vouch for, as exports do.
  const details = await readImage(store, target, platform === undefined ? {} : { platform });
  return { descriptor: details.manifestDescriptor, bytes: await store.readBlob(details.manifestDigest) };
}

/** Blob bytes for the client: from the store, fetched first if only known remotely. */
export function storeSource(store: ContentStore, lazy: LazyBlobs, manifest: { mediaType: string; bytes: Uint8Array }, extra: ReadonlyMap<string, Buffer> = new Map()): PushSource {
  return {
    manifest,
    open: async (digest) => {
      const inline = extra.get(digest);
      if (inline !== undefined) return Readable.from([inline]);
      await lazy.ensure(digest);
      return store.openBlob(digest as Descriptor['digest']);
    },
  };
}

/** Group canonical tag references by repository: `reg/repo` → tags, in first-seen order. */
export function groupByRepository(names: readonly string[]): Map<string, { ref: ImageReference; tags: string[] }> {
  const groups = new Map<string, { ref: ImageReference; tags: string[] }>();
  for (const n of names) {
    const ref = parseReference(n);
    const tag = ref.tag ?? 'latest';
    const g = groups.get(ref.name());
    if (g === undefined) groups.set(ref.name(), { ref, tags: [tag] });
    else if (!g.tags.includes(tag)) g.tags.push(tag);
  }
  return groups;
}

export async function pushLocalImage(
  store: ContentStore,
  session: RegistrySession,
  lazy: LazyBlobs,
  target: Descriptor,
  names: readonly string[],
  opts: PushLocalOptions = {},
): Promise<PushResult[]> {
  const { descriptor, bytes } = await manifestToPush(store, target, opts.platform);
  const source = storeSource(store, lazy, { mediaType: descriptor.mediaType, bytes });
  const results: PushResult[] = [];
  for (const { ref, tags } of groupByRepository(names).values()) {
    const [first, ...rest] = tags;
    const mountFrom = opts.mountFrom?.(ref);
    opts.onRepository?.(ref.name(), tags);
    results.push(
      await session.client.pushImage(`${ref.name()}:${first ?? 'latest'}`, source, {
        tags: rest,
        ...(mountFrom === undefined ? {} : { mountFrom }),
        ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
        ...(opts.signal === undefined ? {} : { signal: opts.signal }),
      }),
    );
  }
  return results;
}

/**
 * The repository on `ref`'s registry to mount from: the first of
 * `candidates` (canonical references or `registry/repository` names) on
 * the same registry in another repository.
 */
export function mountCandidate(ref: ImageReference, candidates: readonly string[]): string | undefined {
  for (const c of candidates) {
    let parsed: ImageReference;
    try {
      parsed = parseReference(c);
    } catch {
      continue;
    }
    if (parsed.registry === ref.registry && parsed.repository !== ref.repository) return parsed.repository;
  }
  return undefined;
}
