// A pass-through stream that hashes and counts what flows through it and
// fails as soon as the bytes run past the descriptor's size, so a hostile
// or broken server cannot fill the disk. `verify()` after the end checks
// size and digest; until then nothing downstream may be committed.
import { Transform, type TransformCallback } from 'node:stream';
import type { Hash } from 'node:crypto';
import { createDigestHash, digestAlgorithm } from './digest.js';
import { RegistryError } from './errors.js';

export interface DigestVerifierOptions {
  digest: string;
  size: number;
  repository?: string;
  /** Called with the running byte count, at most every `progressStep` bytes and at the end. */
  onProgress?: (current: number) => void;
  progressStep?: number;
}

export class DigestVerifier extends Transform {
  readonly expectedDigest: string;
  readonly expectedSize: number;
  #hash: Hash;
  #count = 0;
  #reported = 0;
  #repository: string | undefined;
  #onProgress: ((current: number) => void) | undefined;
  #step: number;

  constructor(opts: DigestVerifierOptions) {
    super();
    this.expectedDigest = opts.digest;
    this.expectedSize = opts.size;
    this.#repository = opts.repository;
    this.#hash = createDigestHash(digestAlgorithm(opts.digest, opts.repository === undefined ? {} : { repository: opts.repository }));
    this.#onProgress = opts.onProgress;
    this.#step = opts.progressStep ?? 1 << 20;
  }

  get bytes(): number {
    return this.#count;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#count += chunk.length;
    if (this.#count > this.expectedSize) {
      callback(this.#mismatch(`more than the ${this.expectedSize} bytes its descriptor declares`));
      return;
    }
    this.#hash.update(chunk);
    if (this.#onProgress !== undefined && this.#count - this.#reported >= this.#step) {
      this.#reported = this.#count;
      this.#onProgress(this.#count);
    }
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    try {
      this.verify();
      if (this.#onProgress !== undefined && this.#reported !== this.#count) this.#onProgress(this.#count);
      callback();
    } catch (err) {
      callback(err as Error);
    }
  }

  /** Throws TSB_REGISTRY_DIGEST_MISMATCH unless every byte arrived and they hash to the digest. */
  verify(): void {
    if (this.#count !== this.expectedSize) {
      throw this.#mismatch(`${this.#count} bytes, but its descriptor declares ${this.expectedSize}`);
    }
    const algorithm = this.expectedDigest.slice(0, this.expectedDigest.indexOf(':'));
    const actual = `${algorithm}:${this.#hash.copy().digest('hex')}`;
    if (actual !== this.expectedDigest) throw this.#mismatch(`content hashes to ${actual}`);
  }

  #mismatch(detail: string): RegistryError {
    return new RegistryError('TSB_REGISTRY_DIGEST_MISMATCH', `blob ${this.expectedDigest}: ${detail}`, {
      digest: this.expectedDigest,
      ...(this.#repository === undefined ? {} : { repository: this.#repository }),
    });
  }
}
