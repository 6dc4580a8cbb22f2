// Where pulled content goes. registry/ cannot import the content store, so
// it writes through this interface, which the store's own shapes satisfy:
//   { has: (d) => store.hasBlob(d as Digest), create: () => store.createBlobWriter() }
// `commit(expected)` makes the bytes visible under that digest; `abort()`
// discards them. Exactly one of the two is called per writer, and commit
// only after the bytes were verified against the digest.
import type { Readable, Writable } from 'node:stream';

export interface BlobSinkWriter {
  readonly stream: Writable;
  /** registry/ always passes the digest; optional only to match the content store's signature. */
  commit(expected?: string): Promise<unknown>;
  abort(): Promise<void>;
}

export interface BlobSink {
  has(digest: string): Promise<boolean>;
  create(): Promise<BlobSinkWriter>;
}

/** Where pushed content comes from: a stream of one blob's (or child manifest's) bytes. */
export interface BlobSource {
  open(digest: string): Readable | Promise<Readable>;
}
