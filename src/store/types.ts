// The content store's public contract. executor/ and src/ commands depend on
// these types only; the implementation lives beside this file.
import type { Readable, Writable } from 'node:stream';

/** `sha256:<64 hex>` */
export type Digest = `sha256:${string}`;

/** An OCI content descriptor (image-spec descriptor.md). */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

/**
 * A blob being written. Bytes go to a temporary file under <root>/tmp while
 * the sha256 and byte count are computed; `commit()` fsyncs, renames into
 * blobs/sha256/<hex> (idempotent if the blob already exists) and returns the
 * digest. `abort()` removes the temporary file. Exactly one of them is called.
 */
export interface BlobWriter {
  readonly stream: Writable;
  commit(expected?: Digest): Promise<{ digest: Digest; size: number }>;
  abort(): Promise<void>;
}

/** A tag in the local image index: a full reference such as
 * `docker.io/library/app:latest` pointing at a manifest (or index). */
export interface TagRecord {
  name: string;
  target: Descriptor;
  /** ISO time the tag was last written. */
  updated: string;
}

export interface ContentStore {
  readonly root: string;
  hasBlob(digest: Digest): Promise<boolean>;
  blobPath(digest: Digest): string;
  /** Throws StoreError code TSB_STORE_BLOB_UNKNOWN when absent. */
  readBlob(digest: Digest): Promise<Buffer>;
  openBlob(digest: Digest): Readable;
  writeBlob(data: Buffer | string, expected?: Digest): Promise<{ digest: Digest; size: number }>;
  createBlobWriter(): Promise<BlobWriter>;

  getTag(name: string): Promise<TagRecord | null>;
  setTag(name: string, target: Descriptor): Promise<void>;
  deleteTag(name: string): Promise<boolean>;
  listTags(): Promise<TagRecord[]>;

  /** Small JSON records keyed by a namespace and a key (cache records, stat
   * cache, container state). Each put is atomic. */
  getRecord<T>(ns: string, key: string): Promise<T | null>;
  /** `durable: false` skips the fsyncs (still atomic under kill -9): for
   * records whose loss after a power failure only costs work, e.g. cache. */
  putRecord(ns: string, key: string, value: unknown, opts?: { durable?: boolean }): Promise<void>;
  deleteRecord(ns: string, key: string): Promise<boolean>;
  listRecords(ns: string): Promise<string[]>;
}
