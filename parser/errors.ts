// Errors raised by the frontend. parser/ may import nothing else of ours, so
// the base class lives here; other folders define their own classes with the
// same shape (`code` starting with TSB_) and the CLI matches on `code`.
import type { SourceRange } from './source-range.js';

export class TsbuildError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export type DockerfileErrorCode =
  | 'TSB_DOCKERFILE_SYNTAX'
  | 'TSB_DOCKERFILE_UNKNOWN_INSTRUCTION'
  | 'TSB_DOCKERFILE_UNKNOWN_FLAG'
  | 'TSB_DOCKERFILE_BAD_FLAG'
  | 'TSB_DOCKERFILE_JSON'
  | 'TSB_DOCKERFILE_HEREDOC'
  | 'TSB_DOCKERFILE_ARGS'
  | 'TSB_DOCKERFILE_EXPANSION'
  | 'TSB_DOCKERFILE_DIRECTIVE'
  | 'TSB_DOCKERFILE_EMPTY'
  | 'TSB_DOCKERFILE_NO_FROM'
  | 'TSB_DOCKERFILE_LINT';

/** A problem in the Dockerfile text itself, located by `range`. */
export class DockerfileError extends TsbuildError {
  declare readonly code: DockerfileErrorCode;
  readonly range: SourceRange;
  readonly file: string | undefined;
  constructor(
    code: DockerfileErrorCode,
    message: string,
    range: SourceRange,
    options?: { cause?: unknown; file?: string },
  ) {
    super(code, message, options);
    this.range = range;
    this.file = options?.file;
  }
}

export type PlanErrorCode =
  | 'TSB_PLAN_UNKNOWN_STAGE'
  | 'TSB_PLAN_DUPLICATE_STAGE'
  | 'TSB_PLAN_CYCLE'
  | 'TSB_PLAN_STAGE_ORDER'
  | 'TSB_PLAN_BAD_STAGE_NAME'
  | 'TSB_PLAN_BAD_OPTION';

/** The Dockerfile parses but cannot be planned: unknown stage, cycle, … */
export class PlanError extends TsbuildError {
  declare readonly code: PlanErrorCode;
  readonly range: SourceRange | undefined;
  constructor(code: PlanErrorCode, message: string, range?: SourceRange, options?: { cause?: unknown }) {
    super(code, message, options);
    this.range = range;
  }
}

export function assertNever(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
