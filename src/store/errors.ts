// Errors raised by the content store. This folder stands alone (it imports
// nothing else of ours), so StoreError does not extend the project's
// TsbuildError; callers match on `code`, never on message text.

export type StoreErrorCode =
  /** A blob that was asked for is not in the store. */
  | 'TSB_STORE_BLOB_UNKNOWN'
  /** Written bytes do not hash to the digest the caller expected. */
  | 'TSB_STORE_DIGEST_MISMATCH'
  /** A string that should be `sha256:<64 lowercase hex>` is not. */
  | 'TSB_STORE_INVALID_DIGEST'
  /** A tag name, record namespace or record key is not acceptable. */
  | 'TSB_STORE_INVALID_NAME'
  /** A descriptor or record value cannot be stored (bad shape, not JSON). */
  | 'TSB_STORE_INVALID_VALUE'
  /** A tag or record file on disk does not parse or has the wrong shape. */
  | 'TSB_STORE_CORRUPT'
  /** A BlobWriter was used after commit() or abort(), or its stream failed. */
  | 'TSB_STORE_WRITER_CLOSED';

export interface StoreErrorOptions {
  /** The file the failing operation was about. */
  path?: string;
  /** For digest errors: the digest in question (expected, for a mismatch). */
  digest?: string;
  /** For TSB_STORE_DIGEST_MISMATCH: what the bytes actually hash to. */
  actual?: string;
  cause?: unknown;
}

export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;
  readonly path?: string;
  readonly digest?: string;
  readonly actual?: string;

  constructor(code: StoreErrorCode, message: string, opts: StoreErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    if (opts.path !== undefined) this.path = opts.path;
    if (opts.digest !== undefined) this.digest = opts.digest;
    if (opts.actual !== undefined) this.actual = opts.actual;
  }
}

/** True for a Node.js system error with the given errno code (ENOENT, …). */
export function isErrnoCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
