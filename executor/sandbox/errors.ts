// Sandbox errors. Callers match on `code`; a setup failure carries the
// helper's stage, syscall and errno as fields, never only in the message.
import { constants } from 'node:os';
import { TsbuildError } from '../../parser/index.js';

export type SandboxErrorCode =
  /** The sandbox could not be set up (stage, syscall, errno say where and why). */
  | 'TSB_SANDBOX_SETUP'
  /** native/tsbuild-sandbox is not built or not executable. */
  | 'TSB_SANDBOX_MISSING'
  /** The helper died or broke the status protocol. */
  | 'TSB_SANDBOX_HELPER'
  /** The caller's AbortSignal fired; the sandbox was killed and cleaned up. */
  | 'TSB_SANDBOX_ABORTED'
  /** Reading or setting the overlay opaque xattr failed. */
  | 'TSB_SANDBOX_OPAQUE';

export interface SandboxErrorFields {
  /** Helper stage, e.g. "mount overlay", "exec", "cgroup". */
  stage?: string | null;
  /** The failing syscall, e.g. "mount", "execve". */
  syscall?: string | null;
  errno?: number | null;
}

const ERRNO_NAMES = new Map<number, string>(Object.entries(constants.errno).map(([name, n]) => [n, name]));

export class SandboxError extends TsbuildError {
  declare readonly code: SandboxErrorCode;
  readonly stage: string | null;
  readonly syscall: string | null;
  readonly errno: number | null;
  /** "EINVAL" for errno 22, null when there is none. */
  readonly errnoName: string | null;

  constructor(code: SandboxErrorCode, message: string, fields: SandboxErrorFields = {}, options?: { cause?: unknown }) {
    super(code, message, options);
    this.stage = fields.stage ?? null;
    this.syscall = fields.syscall ?? null;
    this.errno = fields.errno ?? null;
    this.errnoName = this.errno === null ? null : (ERRNO_NAMES.get(this.errno) ?? null);
  }
}

export function isSandboxError(err: unknown, code?: SandboxErrorCode): err is SandboxError {
  return err instanceof SandboxError && (code === undefined || err.code === code);
}
