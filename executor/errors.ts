// Executor errors. Each carries a stable code; a failed step also carries
// the step id and the Dockerfile range from the plan (never parsed back out
// of a message), so the CLI can quote the offending lines.
import type { SourceRange, StepId } from '../parser/index.js';
import { TsbuildError } from '../parser/index.js';

export type StepErrorCode =
  | 'TSB_STEP_FAILED'
  | 'TSB_STEP_SOURCE_NOT_FOUND'
  | 'TSB_STEP_BAD_SOURCE'
  | 'TSB_STEP_UNKNOWN_USER'
  | 'TSB_STEP_DOWNLOAD'
  | 'TSB_STEP_CHECKSUM'
  | 'TSB_STEP_UNSUPPORTED';

/** A step of the build failed; `range` points at its Dockerfile instruction. */
export class StepFailedError extends TsbuildError {
  declare readonly code: StepErrorCode;
  readonly stepId: StepId;
  readonly range: SourceRange | undefined;
  readonly exitCode: number | undefined;
  constructor(
    code: StepErrorCode,
    message: string,
    fields: { stepId: StepId; range: SourceRange | null; exitCode?: number },
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.stepId = fields.stepId;
    this.range = fields.range ?? undefined;
    this.exitCode = fields.exitCode;
  }
}

/** Raised inside step implementations without step context; the scheduler wraps it. */
export class StepProblem extends Error {
  readonly code: StepErrorCode;
  constructor(code: StepErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export class CacheError extends TsbuildError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TSB_CACHE_CORRUPT', message, options);
  }
}

export class InternalError extends TsbuildError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TSB_INTERNAL', message, options);
  }
}
