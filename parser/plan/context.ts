// State shared by the per-instruction planners while one BuildGraph is built.
import type { Dockerfile } from '../instructions.js';
import type { BaseImage, Diagnostic, HistoryEntry, ImageConfig, NewStep, Platform, Step, StepId } from '../graph.js';
import type { SourceRange } from '../source-range.js';
import type { ShellLexer } from '../shell-lexer.js';
import type { StageScope } from './scope.js';
import type { LintRule } from '../lint/rules.js';

export interface PlanOptions {
  /** Stage name to build; default: the last stage. */
  target?: string;
  /** --build-arg values (already resolved from the environment for `--build-arg NAME`). */
  buildArgs?: Record<string, string>;
  /** Target and build platforms; default linux/amd64 for both. */
  targetPlatform?: Platform;
  buildPlatform?: Platform;
  /** Base images resolved by the caller, keyed by the FROM reference as written after expansion. */
  bases?: Record<string, BaseImage>;
  /** Build-level RUN network default (`--network`). */
  network?: 'default' | 'none' | 'host';
  /** `--allow security.insecure` */
  allowInsecure?: boolean;
  /** Plan every stage, not only those the target needs (used by --call=check). */
  allStages?: boolean;
  /** File name used in error messages. */
  file?: string;
}

/** Where an instruction that may only appear once per stage was last seen. */
export interface Trackers {
  CMD: SourceRange | null;
  ENTRYPOINT: SourceRange | null;
  HEALTHCHECK: SourceRange | null;
}

export interface StageState {
  index: number;
  name: string | null;
  /** Variables: ENV and ARG values in one environment, plus the declared ARGs. */
  scope: StageScope;
  config: ImageConfig;
  author: string | null;
  history: HistoryEntry[];
  steps: StepId[];
  current: StepId;
  platform: string;
  /** A WORKDIR was set in this Dockerfile (this stage or the stage it builds on). */
  workdirSet: boolean;
  /** Whether the environment of the base is known (for UndefinedVar). */
  envKnown: boolean;
  trackers: Trackers;
}

export interface Planner {
  readonly df: Dockerfile;
  readonly options: PlanOptions;
  readonly lexer: ShellLexer;
  readonly buildArgs: Map<string, string>;
  readonly usedBuildArgs: Set<string>;
  readonly steps: Record<string, Step>;
  /** Variables of the global scope (meta ARGs and the automatic platform ARGs). */
  readonly globals: { get(name: string): string | undefined };
  addStep(step: NewStep): StepId;
  /** Expand one word in the stage's scope; lints undefined variables when the base env is known. */
  expand(word: string, state: StageState, range: SourceRange): string;
  expandWords(word: string, state: StageState, range: SourceRange): string[];
  /** Resolve a `--from` / `from=` value to an earlier stage or an image. */
  resolveFrom(value: string, range: SourceRange, state: StageState):
    | { type: 'stage'; index: number; step: StepId }
    | { type: 'image'; ref: string; digest: string | null };
  report<A extends unknown[]>(rule: LintRule<A>, range: SourceRange | null, ...args: A): void;
  readonly warnings: Diagnostic[];
}
