// Errors of cache export and import. An import failure is reported as a
// warning and the build goes on without that cache (as buildx does); an
// export failure fails the build unless ignore-error=true.
import { TsbuildError } from '../errors.js';

export type CacheTransferCode =
  /** --cache-from names a layout directory or entry that does not exist. */
  | 'TSB_CACHE_NOT_FOUND'
  /** The manifest or cache document is not one tsbuild wrote, is malformed, or has another key version. */
  | 'TSB_CACHE_INVALID'
  /** --cache-to type=local cannot write its directory. */
  | 'TSB_CACHE_EXPORT';

export class CacheTransferError extends TsbuildError {
  declare readonly code: CacheTransferCode;
  constructor(code: CacheTransferCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}
