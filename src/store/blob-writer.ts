// Streaming blob ingestion: bytes go straight to a temp file in <root>/tmp
// while sha256 and the byte count are computed, so a layer is never held in
// memory. commit() fsyncs, checks the digest and renames into
// blobs/sha256/<hex>.
import { createHash, type Hash } from 'node:crypto';
import { open, rename, utimes, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { BlobWriter, Digest } from './types.js';
import { assertDigest, digestHex } from './digest.js';
import { StoreError, isErrnoCode } from './errors.js';
import { fsyncDir, tempPath, unlinkQuiet } from './atomic-file.js';

/** Blobs are immutable once committed; 0444 guards against a stray writer. */
export const BLOB_MODE = 0o444;
const HIGH_WATER_MARK = 1 << 20;

/**
 * If the blob at `dest` exists, refresh its mtime and return true. gc spares
 * unreferenced blobs younger than its grace period, and a build that has
 * just "written" a deduplicated blob has not tagged it yet. A blob we may
 * not touch (another user's shared store) still counts as present.
 */
export async function refreshExistingBlob(dest: string): Promise<boolean> {
  const now = new Date();
  try {
    await utimes(dest, now, now);
    return true;
  } catch (err) {
    if (isErrnoCode(err, 'ENOENT')) return false;
    if (isErrnoCode(err, 'EPERM') || isErrnoCode(err, 'EACCES')) return true;
    throw err;
  }
}

/**
 * Move a complete, fsynced temp file to its blob path, or drop it if the
 * blob already exists (see refreshExistingBlob).
 */
export async function installBlob(blobDir: string, tmp: string, digest: Digest): Promise<void> {
  const dest = path.join(blobDir, digestHex(digest));
  if (await refreshExistingBlob(dest)) {
    await unlinkQuiet(tmp);
    return;
  }
  // Two writers of the same content may both get here; rename replaces
  // atomically and the bytes are identical, so either result is correct.
  await rename(tmp, dest);
  await fsyncDir(blobDir);
}

async function writeAll(fh: FileHandle, chunk: Buffer): Promise<void> {
  let off = 0;
  while (off < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.length - off, null);
    off += bytesWritten;
  }
}

type WriterState = 'open' | 'closing' | 'closed';

class FileBlobWriter implements BlobWriter {
  readonly stream: Writable;
  readonly #fh: FileHandle;
  readonly #tmp: string;
  readonly #blobDir: string;
  readonly #hash: Hash = createHash('sha256');
  #size = 0;
  #state: WriterState = 'open';
  #fhClosed = false;

  constructor(fh: FileHandle, tmp: string, blobDir: string) {
    this.#fh = fh;
    this.#tmp = tmp;
    this.#blobDir = blobDir;
    this.stream = new Writable({
      highWaterMark: HIGH_WATER_MARK,
      write: (chunk: Buffer, _encoding, callback) => {
        if (this.#state !== 'open' && this.#state !== 'closing') {
          callback(new StoreError('TSB_STORE_WRITER_CLOSED', 'blob writer already committed or aborted', { path: this.#tmp }));
          return;
        }
        this.#hash.update(chunk);
        this.#size += chunk.length;
        writeAll(this.#fh, chunk).then(() => callback(), callback);
      },
    });
    // Errors surface from commit(); without a listener a failed write would
    // crash the process as an unhandled 'error' event.
    this.stream.on('error', () => undefined);
  }

  async commit(expected?: Digest): Promise<{ digest: Digest; size: number }> {
    this.#claim('commit');
    try {
      if (expected !== undefined) assertDigest(expected);
      await this.#finishStream();
      await this.#fh.sync();
      await this.#closeFh();
      const digest: Digest = `sha256:${this.#hash.digest('hex')}`;
      if (expected !== undefined && expected !== digest) {
        throw new StoreError('TSB_STORE_DIGEST_MISMATCH', `blob digest mismatch: expected ${expected}, got ${digest}`, {
          digest: expected,
          actual: digest,
        });
      }
      await installBlob(this.#blobDir, this.#tmp, digest);
      this.#state = 'closed';
      return { digest, size: this.#size };
    } catch (err) {
      await this.#discard();
      throw err;
    }
  }

  async abort(): Promise<void> {
    if (this.#state !== 'open') return;
    this.#state = 'closing';
    await this.#discard();
  }

  #claim(op: string): void {
    if (this.#state !== 'open') {
      throw new StoreError('TSB_STORE_WRITER_CLOSED', `${op}: blob writer already committed or aborted`, { path: this.#tmp });
    }
    this.#state = 'closing';
  }

  async #finishStream(): Promise<void> {
    const s = this.stream;
    if (s.errored) throw s.errored;
    if (s.writableFinished) return;
    if (s.destroyed) {
      throw new StoreError('TSB_STORE_WRITER_CLOSED', 'blob writer stream was destroyed before it finished', { path: this.#tmp });
    }
    if (!s.writableEnded) s.end();
    await finished(s);
  }

  async #closeFh(): Promise<void> {
    if (this.#fhClosed) return;
    this.#fhClosed = true;
    await this.#fh.close();
  }

  /** Best effort: the caller is already failing or aborting. */
  async #discard(): Promise<void> {
    this.#state = 'closed';
    if (!this.stream.destroyed) this.stream.destroy();
    await this.#closeFh().catch(() => undefined);
    await unlinkQuiet(this.#tmp).catch(() => undefined);
  }
}

export async function createFileBlobWriter(tmpDir: string, blobDir: string): Promise<BlobWriter> {
  const tmp = tempPath(tmpDir, 'blob');
  const fh = await open(tmp, 'wx', BLOB_MODE);
  return new FileBlobWriter(fh, tmp, blobDir);
}
