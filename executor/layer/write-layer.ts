// LayerEntry sequence → a committed blob in the content store, in one
// streaming pass:
//
//   packTar → tee(sha256 ⇒ diffID, byte count) → gzip → BlobWriter (digest, size)
//
// Nothing is buffered beyond the streams' high-water marks; the layer is
// never held in memory.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zlibConstants, createGzip } from 'node:zlib';
import type { ContentStore, Digest } from '../../src/store/index.js';
import type { LayerEntry } from './entry.js';
import { packTar } from './tar.js';

export const MEDIA_TYPE_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MEDIA_TYPE_LAYER_TAR = 'application/vnd.oci.image.layer.v1.tar';

export type LayerCompression = 'gzip' | 'none';

export interface WriteLayerOptions {
  /** Seconds since the epoch; mtimes after it are clamped (reproducible builds). */
  sourceDateEpoch?: number;
  /** Default 'gzip'. */
  compression?: LayerCompression;
  /** zlib level for gzip, default zlib's own default (6). */
  gzipLevel?: number;
  signal?: AbortSignal;
}

export interface WrittenLayer {
  /** sha256 of the uncompressed tar: the image config's rootfs.diff_ids entry. */
  diffID: Digest;
  /** sha256 of the blob as stored (compressed). */
  digest: Digest;
  /** Blob size in bytes (compressed). */
  size: number;
  mediaType: string;
  uncompressedSize: number;
}

/**
 * Tar, hash, compress and store `entries` as one layer blob. On any failure
 * (including abort) the temporary blob is removed and nothing is committed.
 *
 * The gzip stream is deterministic for a given zlib: Node writes a bare
 * 10-byte header (no FNAME, MTIME 0, OS 3), so equal tars give equal blobs.
 * Across zlib versions the compressed bytes may differ; the diffID never does.
 */
export async function writeLayer(
  entries: AsyncIterable<LayerEntry>,
  store: ContentStore,
  opts: WriteLayerOptions = {},
): Promise<WrittenLayer> {
  const compression = opts.compression ?? 'gzip';
  const diffHash = createHash('sha256');
  let uncompressedSize = 0;
  const tee = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      diffHash.update(chunk);
      uncompressedSize += chunk.length;
      callback(null, chunk);
    },
  });

  const writer = await store.createBlobWriter();
  try {
    const tar = packTar(entries, opts.sourceDateEpoch === undefined ? {} : { sourceDateEpoch: opts.sourceDateEpoch });
    const pipelineOpts = opts.signal === undefined ? {} : { signal: opts.signal };
    if (compression === 'gzip') {
      const gzip = createGzip({ level: opts.gzipLevel ?? zlibConstants.Z_DEFAULT_COMPRESSION });
      await pipeline(tar, tee, gzip, writer.stream, pipelineOpts);
    } else {
      await pipeline(tar, tee, writer.stream, pipelineOpts);
    }
    const { digest, size } = await writer.commit();
    const diffID: Digest = `sha256:${diffHash.digest('hex')}`;
    return {
      diffID,
      digest,
      size,
      mediaType: compression === 'gzip' ? MEDIA_TYPE_LAYER_GZIP : MEDIA_TYPE_LAYER_TAR,
      uncompressedSize,
    };
  } catch (err) {
    await writer.abort().catch(() => undefined);
    throw err;
  }
}
