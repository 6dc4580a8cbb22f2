// The BuildGraph: the plain-data plan that executor/ consumes. Nothing in
// here refers to the syntax layer or to the parser's own state; it is built by
// planBuild() and can be serialised as JSON.
import type { SourceRange } from './source-range.js';

/** sha256 hex over the canonical encoding of a step and its inputs. */
export type StepId = string & { readonly __brand: 'StepId' };

export const GRAPH_VERSION = 'tsbuild/graph/v1';

/** The `config` object of an OCI image configuration. */
export interface ImageConfig {
  User?: string;
  ExposedPorts?: Record<string, Record<string, never>>;
  Env?: string[];
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  Volumes?: Record<string, Record<string, never>>;
  WorkingDir?: string;
  Labels?: Record<string, string>;
  StopSignal?: string;
  Healthcheck?: HealthConfig;
  OnBuild?: string[];
  Shell?: string[];
  ArgsEscaped?: boolean;
}

export interface HealthConfig {
  Test: string[];
  /** Durations in nanoseconds, as in the OCI/docker config. */
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export interface HistoryEntry {
  createdBy: string;
  emptyLayer: boolean;
  comment?: string;
}

/** What a base image looks like, resolved by src/ before planning. */
export interface BaseImage {
  /** Canonical reference, e.g. docker.io/library/busybox:latest or oci-layout://… */
  ref: string;
  digest: string | null;
  config: ImageConfig;
  platform?: string;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export type ImageSource =
  | { type: 'scratch' }
  | { type: 'image'; ref: string; digest: string | null; platform: string | null };

/** Where files or mounts come from. */
export type FileSource =
  | { type: 'context' }
  | { type: 'step'; step: StepId; stage: number }
  | { type: 'image'; ref: string; digest: string | null };

export interface StepCommon {
  id: StepId;
  /** Stage index the step belongs to. */
  stage: number;
  /** The instruction that produced the step; null for synthetic steps. */
  range: SourceRange | null;
  /** Human-readable name for progress output, like BuildKit's vertex name. */
  name: string;
}

/** The root of a stage: scratch or an image's filesystem. */
export interface SourceStep extends StepCommon {
  kind: 'source';
  source: ImageSource;
}

export type RunMount =
  | { type: 'bind'; target: string; source: string; from: FileSource; readwrite: boolean }
  | {
      type: 'cache';
      target: string;
      id: string;
      sharing: 'shared' | 'private' | 'locked';
      from: FileSource | null;
      source: string;
      readonly: boolean;
      mode: number;
      uid: number;
      gid: number;
    }
  | { type: 'tmpfs'; target: string; size: number | null }
  | {
      type: 'secret';
      id: string;
      target: string | null;
      env: string | null;
      required: boolean;
      mode: number;
      uid: number;
      gid: number;
    }
  | { type: 'ssh'; id: string; target: string; required: boolean; mode: number; uid: number; gid: number };

/** A file handed to a RUN that is a single heredoc with a shebang. */
export interface InlineFile {
  path: string;
  content: string;
  mode: number;
}

export interface ExecStep extends StepCommon {
  kind: 'exec';
  /** The rootfs the command runs on. */
  input: StepId;
  args: string[];
  /**
   * KEY=VALUE: the stage's build environment as BuildKit keeps it — the
   * base's Env (with PATH), then ENV and ARG values in the order first set;
   * an ARG value replaces an ENV of the same name until the next ENV.
   */
  env: string[];
  /** Proxy build args: passed to the command, kept out of cache keys and history. */
  proxyEnv: string[];
  cwd: string;
  user: string;
  network: 'default' | 'none' | 'host';
  security: 'sandbox' | 'insecure';
  mounts: RunMount[];
  inlineFiles: InlineFile[];
}

export type CopySource =
  | { type: 'path'; path: string }
  | { type: 'url'; url: string }
  | { type: 'git'; url: string }
  | { type: 'inline'; name: string; content: string };

export interface CopyStep extends StepCommon {
  kind: 'copy';
  /** The filesystem written into (the stage's previous state, or scratch for --link). */
  input: StepId | null;
  /** copy/add copy files; mkdir creates `dest` (WORKDIR). */
  op: 'copy' | 'add' | 'mkdir';
  from: FileSource;
  sources: CopySource[];
  dest: string;
  /** As written after expansion (`user:group`, names or ids), resolved by the executor. */
  chown: string | null;
  /** Octal (`0755`) or symbolic (`u+x`) */
  chmod: string | null;
  link: boolean;
  parents: boolean;
  exclude: string[];
  checksum: string | null;
  keepGitDir: boolean;
  /** ADD: extract local archives (default true for ADD, --unpack for URLs). */
  unpack: boolean | null;
}

/** Lays `inputs` on top of each other (used by COPY --link). */
export interface MergeStep extends StepCommon {
  kind: 'merge';
  inputs: StepId[];
}

export type Step = SourceStep | ExecStep | CopyStep | MergeStep;

export interface StagePlan {
  index: number;
  name: string | null;
  /** The stage's base: an image/scratch source step, or another stage. */
  base: { type: 'source'; step: StepId } | { type: 'stage'; index: number };
  platform: string;
  /** Steps in execution order; the last is the stage's filesystem. */
  steps: StepId[];
  result: StepId;
  /** Config after the whole stage (base config plus this stage's instructions). */
  config: ImageConfig;
  author: string | null;
  /** History added by this stage, in order; base history comes from the base. */
  history: HistoryEntry[];
  range: SourceRange;
}

export interface Diagnostic {
  rule: string;
  message: string;
  range: SourceRange | null;
  level: 'warning' | 'error';
}

export interface BuildGraph {
  version: typeof GRAPH_VERSION;
  steps: Record<string, Step>;
  /** Reachable stages only, in Dockerfile order. */
  stages: StagePlan[];
  target: number;
  output: StepId;
  /** Build args that were passed but never consumed (docker warns about them). */
  unusedBuildArgs: string[];
  warnings: Diagnostic[];
}

/** A step before its id is computed. */
export type NewStep = Step extends infer S ? (S extends Step ? Omit<S, 'id'> : never) : never;
