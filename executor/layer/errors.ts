// Errors raised by the layer machinery (tar encoding, walking, extraction).
// Callers and tests match on `code`, never on message text.
import { TsbuildError } from '../../parser/index.js';

export type LayerErrorCode =
  /** An entry path is unsafe: a `..` component, a parent path whose
   * symlinks resolve above the root, or a NUL byte. */
  | 'TSB_LAYER_UNSAFE_PATH'
  /** A symlink target climbs above the root, or a hardlink target is not an
   * existing regular file inside the root. */
  | 'TSB_LAYER_UNSAFE_LINK'
  /** A path longer than 4096 bytes or deeper than 256 components (also for
   * link targets and symlink resolution). */
  | 'TSB_LAYER_PATH_TOO_DEEP'
  /** A character or block device entry while `allowDevices` is off. */
  | 'TSB_LAYER_DEVICE_NODE'
  /** Not a tar (or a corrupt, truncated or unsupported one). */
  | 'TSB_LAYER_BAD_ARCHIVE'
  /** A LayerEntry handed to packTar is malformed (bad path, missing body…). */
  | 'TSB_LAYER_BAD_ENTRY'
  /** A file body produced more or fewer bytes than the entry's size. */
  | 'TSB_LAYER_SIZE_MISMATCH'
  /** A parent component exists but is not a directory. */
  | 'TSB_LAYER_PATH_CONFLICT'
  /** An external program the layer needs (bzip2, xz, zstd, mknod, mkfifo)
   * is not installed or failed. */
  | 'TSB_LAYER_TOOL_FAILED';

export interface LayerErrorOptions {
  /** The tar entry (as named in the archive) or LayerEntry path at fault. */
  entry?: string;
  cause?: unknown;
}

export class LayerError extends TsbuildError {
  declare readonly code: LayerErrorCode;
  readonly entry?: string;

  constructor(code: LayerErrorCode, message: string, opts: LayerErrorOptions = {}) {
    super(code, message, opts.cause === undefined ? undefined : { cause: opts.cause });
    if (opts.entry !== undefined) this.entry = opts.entry;
  }
}

export function isLayerError(err: unknown, code?: LayerErrorCode): err is LayerError {
  return err instanceof LayerError && (code === undefined || err.code === code);
}

/** True for a Node.js system error with the given errno code (ENOENT, …). */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
