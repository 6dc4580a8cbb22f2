// State shared by the per-instruction planners while one BuildGraph is built.
import type { Dockerfile } from '../instructions.js';
import type { BaseImage, Diagnostic, HistoryEntry, ImageConfig, NewStep, Platform, Step, StepId } from '../graph.js';
import type { SourceRange } from '../source-range.js';
import type { ShellLexer } from '../shell-lexer.js';
import type { StageScope } from './scope.js';
import type { LintRule } from '../lint/rules.js';

export interface PlanOptions {
  /** Stage name or index to build; default: the last stage. */
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

export interface StageState {
  index: number;
  name: string | null;
  scope: StageScope;
  config: ImageConfig;
  author: string | null;
  history: HistoryEntry[];
  steps: StepId[];
  current: StepId;
  platform: string;
  cmdSet: boolean;
  /** True once this stage set an absolute WORKDIR (for WorkdirRelativePath). */
  absoluteWorkdir: boolean;
  /** Whether the environment of the base is known (for UndefinedVar). */
  envKnown: boolean;
  /** Counts for MultipleInstructionsDisallowed. */
  seen: Map<string, number>;
}

export interface Planner {
  readonly df: Dockerfile;
  readonly options: PlanOptions;
  readonly lexer: ShellLexer;
  readonly buildArgs: Map<string, string>;
  readonly usedBuildArgs: Set<string>;
  readonly steps: Record<string, Step>;
  addStep(step: NewStep): StepId;
  /** Expand one word; lint undefined variables when `lintEnv` says the env is fully known. */
  expand(word: string, env: { get(name: string): string | undefined }, range: SourceRange, lintUndefined?: boolean): string;
  expandWords(word: string, env: { get(name: string): string | undefined }, range: SourceRange, lintUndefined?: boolean): string[];
  /** Resolve a `--from` / `from=` value to a stage (planning it first) or an image. */
  resolveFrom(value: string, range: SourceRange, fromStage: number):
    | { type: 'stage'; index: number; step: StepId }
    | { type: 'image'; ref: string; digest: string | null };
  report<A extends unknown[]>(rule: LintRule<A>, range: SourceRange | null, ...args: A): void;
  readonly warnings: Diagnostic[];
}
