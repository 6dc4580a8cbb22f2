// CLI-level errors and the one table that maps error codes to exit codes.
// Every folder raises errors with a stable `code` starting with TSB_; the
// top-level catch in cli.ts matches on that code, never on message text.
import { TsbuildError } from '../parser/index.js';

export { TsbuildError };

export type CliErrorCode =
  | 'TSB_CLI_USAGE'
  | 'TSB_CLI_NOT_IMPLEMENTED'
  | 'TSB_CLI_FILE'
  | 'TSB_CLI_INTERRUPTED';

/** A bad command line or an unreadable input file named on it. */
export class CliError extends TsbuildError {
  declare readonly code: CliErrorCode;
  constructor(code: CliErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** Exit codes, documented in README.md ("Exit codes"). */
export const EXIT = {
  ok: 0,
  /** The build failed: Dockerfile error, plan error, failed step, registry or store error. */
  buildFailed: 1,
  /** The command line is wrong or asks for something not implemented. */
  usage: 2,
  /** tsbuild run: the container could not be started (docker's 125). */
  runFailed: 125,
  /** A bug in tsbuild: please report it. */
  internal: 70,
} as const;

export interface CodedError {
  code: string;
  message: string;
}

export function isCodedError(e: unknown): e is Error & CodedError {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof Error && typeof code === "string" && code.startsWith("TSB_");
}

export function exitCodeFor(e: unknown): number {
  if (!isCodedError(e)) return EXIT.internal;
  if (e.code.startsWith('TSB_CLI_')) return EXIT.usage;
  if (e.code.startsWith('TSB_INTERNAL')) return EXIT.internal;
  if (e.code.startsWith('TSB_RUN_')) return EXIT.runFailed;
  return EXIT.buildFailed;
}
