// Errors raised by the image side of src/: reading and writing manifests,
// the local image index, archives and outputs. Callers match on `code`.
import { TsbuildError } from '../errors.js';

export type ImageErrorCode =
  /** No local image matches the name, digest or ID. */
  | 'TSB_IMAGE_NOT_FOUND'
  /** An ID prefix matches more than one image. */
  | 'TSB_IMAGE_AMBIGUOUS'
  /** rmi by ID of an image tagged in several repositories, without -f. */
  | 'TSB_IMAGE_CONFLICT'
  /** A manifest, index or config that is malformed or of an unsupported type. */
  | 'TSB_IMAGE_INVALID'
  /** An index has no manifest for the wanted platform. */
  | 'TSB_IMAGE_PLATFORM'
  /** Imported bytes do not match their digest, size or the config's diff_id. */
  | 'TSB_IMAGE_DIGEST_MISMATCH'
  /** Not a docker or OCI archive/layout, or one with an unsafe or missing entry. */
  | 'TSB_IMAGE_ARCHIVE'
  /** An output destination cannot be written. */
  | 'TSB_IMAGE_OUTPUT';

export interface ImageErrorOptions {
  cause?: unknown;
  /** The file or directory the failing operation was about. */
  path?: string;
  /** The digest in question. */
  digest?: string;
}

export class ImageError extends TsbuildError {
  declare readonly code: ImageErrorCode;
  readonly path: string | undefined;
  readonly digest: string | undefined;
  constructor(code: ImageErrorCode, message: string, opts: ImageErrorOptions = {}) {
    super(code, message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.path = opts.path;
    this.digest = opts.digest;
  }
}

export function isImageError(err: unknown, code?: ImageErrorCode): err is ImageError {
  return err instanceof ImageError && (code === undefined || err.code === code);
}
