// pullImage: resolve, then fetch the config and layers into the sink with
// bounded parallelism, then the manifest (and index) bytes. Manifests go in
// last, so a sink never holds a manifest whose blobs are missing. The first
// failure cancels the other transfers.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobSink } from './blob-sink.js';
import { fetchBlob } from './fetch-blob.js';
import type { Descriptor, ImageIndex, ImageManifest } from './manifest.js';
import type { Platform } from './platform.js';
import type { ProgressListener } from './progress.js';
import type { ImageReference } from './reference.js';
import { resolveManifest } from './resolve.js';
import { runBounded } from './run-bounded.js';
import type { Transport } from './transport.js';

export interface PullOptions {
  platform?: Platform | string;
  /** Blobs transferred at once. Default 4. */
  concurrency?: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

export interface PulledImage {
  reference: string;
  /** The platform manifest's digest. */
  manifestDigest: string;
  mediaType: string;
  /** The manifest exactly as served. */
  bytes: Buffer;
  manifest: ImageManifest;
  config: Descriptor;
  layers: Descriptor[];
  index?: { digest: string; mediaType: string; bytes: Buffer; index: ImageIndex };
  platform?: Platform;
}

/** Put small, already verified bytes (a manifest) into the sink. */
async function writeBytes(sink: BlobSink, digest: string, bytes: Buffer): Promise<void> {
  if (await sink.has(digest)) return;
  const writer = await sink.create();
  try {
    await pipeline(Readable.from([bytes]), writer.stream);
  } catch (err) {
    await writer.abort();
    throw err;
  }
  await writer.commit(digest);
}

export async function pullImage(t: Transport, ref: ImageReference, sink: BlobSink, opts: PullOptions = {}): Promise<PulledImage> {
  const resolved = await resolveManifest(t, ref, {
    ...(opts.platform === undefined ? {} : { platform: opts.platform }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  const { config, layers } = resolved.manifest;
  const blobs = [config, ...layers].filter((d, i, all) => all.findIndex((x) => x.digest === d.digest) === i);

  await runBounded(blobs, opts.concurrency ?? 4, opts.signal, (d, signal) =>
    fetchBlob(t, ref, d, sink, { signal, ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }) }),
  );

  await writeBytes(sink, resolved.digest, resolved.bytes);
  if (resolved.index !== undefined) await writeBytes(sink, resolved.index.digest, resolved.index.bytes);

  return {
    reference: resolved.reference,
    manifestDigest: resolved.digest,
    mediaType: resolved.mediaType,
    bytes: resolved.bytes,
    manifest: resolved.manifest,
    config,
    layers,
    ...(resolved.index === undefined ? {} : { index: resolved.index }),
    ...(resolved.platform === undefined ? {} : { platform: resolved.platform }),
  };
}
