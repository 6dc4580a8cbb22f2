// Bringing a registry image into the local store, in two depths:
//
//   pullImageMetadata  manifest (+ index) and config only — what a build
//                      needs to plan; the layers stay remote until a step or
//                      the export needs them (LazyBlobs)
//   pullImageComplete  everything, as `tsbuild pull` does
//
// Either way the name is recorded locally like docker pull records it: a
// tag reference becomes a tag on the platform manifest; a digest reference
// keeps the image (the index when the digest names one) as an unnamed image.
import {
  formatPlatform,
  type Descriptor as RegistryDescriptor,
  type ImageReference,
  type ProgressListener,
  type ResolvedManifest,
} from '../../registry/index.js';
import type { ImagePlatform } from '../../executor/types.js';
import { keepUntagged } from '../image/local-images.js';
import { readImage, type ImageDetails } from '../image/read-image.js';
import type { ContentStore, Descriptor, Digest } from '../store/index.js';
import { forEachBounded } from './for-each-bounded.js';
import { storeSink, type RegistrySession } from './registry-session.js';

export interface PulledLocalImage {
  /** The canonical reference as asked. */
  name: string;
  /** What the local name (or unnamed-image record) points at. */
  target: Descriptor;
  /** The platform manifest's digest. */
  manifestDigest: Digest;
  /** What the registry serves under the name: the index digest when there is one (docker's `Digest:`). */
  repoDigest: Digest;
  details: ImageDetails;
  /** The tag pointed at this manifest already, and nothing had to be fetched. */
  upToDate: boolean;
}

type Manifests = Pick<ResolvedManifest, 'digest' | 'mediaType' | 'bytes' | 'index'>;

function platformText(p: ImagePlatform): string {
  return formatPlatform(p.variant === undefined ? { os: p.os, architecture: p.architecture } : p);
}

/** Store the manifest bytes (and the index's), record the name, read the image back. */
async function record(store: ContentStore, ref: ImageReference, m: Manifests, platform: ImagePlatform, fetched: boolean): Promise<PulledLocalImage> {
  const manifest: Descriptor = { mediaType: m.mediaType, digest: m.digest as Digest, size: m.bytes.length };
  await store.writeBlob(m.bytes, manifest.digest);
  let target = manifest;
  if (m.index !== undefined) {
    await store.writeBlob(m.index.bytes, m.index.digest as Digest);
    if (ref.digest === m.index.digest) target = { mediaType: m.index.mediaType, digest: m.index.digest as Digest, size: m.index.bytes.length };
  }
  // Read before naming: a config that does not parse must not get a tag.
  const details = await readImage(store, manifest, { platform });
  const name = ref.canonical();
  let upToDate = false;
  if (ref.digest === null) {
    const before = await store.getTag(name);
    upToDate = !fetched && before?.target.digest === manifest.digest;
    if (!upToDate) await store.setTag(name, manifest);
  } else {
    await keepUntagged(store, target);
  }
  const repoDigest = (m.index?.digest ?? manifest.digest) as Digest;
  return { name, target, manifestDigest: manifest.digest, repoDigest, details, upToDate };
}

/** Resolve `ref` for the platform and fetch its config (verified) into the store. */
async function resolveWithConfig(
  store: ContentStore,
  session: RegistrySession,
  ref: ImageReference,
  platform: ImagePlatform,
  signal: { signal?: AbortSignal },
): Promise<{ resolved: ResolvedManifest; fetched: boolean }> {
  const resolved = await session.client.resolve(ref, { platform: platformText(platform), ...signal });
  const config = await session.client.fetchBlob(ref, resolved.manifest.config, storeSink(store), signal);
  return { resolved, fetched: config.fetched };
}

/** Manifest and config of `ref` into the store; the layers are left where they are. */
export async function pullImageMetadata(
  store: ContentStore,
  session: RegistrySession,
  ref: ImageReference,
  opts: { platform: ImagePlatform; signal?: AbortSignal },
): Promise<PulledLocalImage> {
  const signal = opts.signal === undefined ? {} : { signal: opts.signal };
  const { resolved, fetched } = await resolveWithConfig(store, session, ref, opts.platform, signal);
  return record(store, ref, resolved, opts.platform, fetched);
}

export interface PullCompleteOptions {
  platform: ImagePlatform;
  /** The layers about to be fetched, once the manifest is known. */
  onLayers?(layers: readonly RegistryDescriptor[]): void;
  onProgress?: ProgressListener;
  /** Layers transferred at once. Default 4. */
  concurrency?: number;
  signal?: AbortSignal;
}

/** Everything `ref` needs into the store (`tsbuild pull`); the name is recorded last. */
export async function pullImageComplete(
  store: ContentStore,
  session: RegistrySession,
  ref: ImageReference,
  opts: PullCompleteOptions,
): Promise<PulledLocalImage> {
  const signal = opts.signal === undefined ? {} : { signal: opts.signal };
  const { resolved, fetched: configFetched } = await resolveWithConfig(store, session, ref, opts.platform, signal);
  const layers = resolved.manifest.layers.filter((d, i, all) => all.findIndex((x) => x.digest === d.digest) === i);
  opts.onLayers?.(layers);
  const sink = storeSink(store);
  const fetchOpts = { ...signal, ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }) };
  let fetched = configFetched;
  await forEachBounded(layers, opts.concurrency ?? 4, async (d) => {
    if ((await session.client.fetchBlob(ref, d, sink, fetchOpts)).fetched) fetched = true;
  });
  return record(store, ref, resolved, opts.platform, fetched);
}
