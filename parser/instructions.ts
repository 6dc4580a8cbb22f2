// The parsed Dockerfile: our own instruction union, produced only by
// ast-adapter.ts. Arguments are kept as written (quotes, `$vars`); the planner
// expands them, because expansion depends on ARG/ENV state.
import type { SourceRange } from './source-range.js';

export interface Flag {
  name: string;
  /** null for a bare boolean flag such as `--link`. */
  value: string | null;
  range: SourceRange;
}

export type CommandLine =
  | { form: 'shell'; text: string }
  | { form: 'exec'; args: string[] };

export interface Heredoc {
  name: string;
  /**
   * The body as written, each line ending in '\n'. Leading tabs are kept even
   * for `<<-` (BuildKit chomps when the body is used, and keeps the raw text
   * for ONBUILD triggers and for RUN bodies the shell reads itself).
   */
  content: string;
  /** False when the delimiter was quoted: the body is taken literally. */
  expand: boolean;
  /** `<<-`: leading tabs are removed from every line when the body is used. */
  chomp: boolean;
}

export interface KeyValue {
  key: string;
  value: string;
}

interface InstructionBase {
  range: SourceRange;
  /** The instruction's source lines as written (heredoc bodies included). */
  original: string;
  /** The keyword as written (case preserved, for the casing lint). */
  keyword: string;
  flags: Flag[];
  /** A whitespace-only line sat inside the continuation (NoEmptyContinuation). */
  emptyContinuation: boolean;
}

export interface FromInstruction extends InstructionBase {
  kind: 'FROM';
  image: string;
  stageName: string | null;
  stageNameRange: SourceRange | null;
  /** The `AS` keyword as written, for the FromAsCasing lint. */
  asKeyword: string | null;
}
export interface RunInstruction extends InstructionBase {
  kind: 'RUN';
  command: CommandLine;
  heredocs: Heredoc[];
}
export interface CmdInstruction extends InstructionBase {
  kind: 'CMD';
  command: CommandLine;
}
export interface EntrypointInstruction extends InstructionBase {
  kind: 'ENTRYPOINT';
  command: CommandLine;
}
export interface ShellInstruction extends InstructionBase {
  kind: 'SHELL';
  args: string[];
}
export interface LabelInstruction extends InstructionBase {
  kind: 'LABEL';
  pairs: KeyValue[];
  legacyForm: boolean;
}
export interface EnvInstruction extends InstructionBase {
  kind: 'ENV';
  pairs: KeyValue[];
  legacyForm: boolean;
}
export interface ArgInstruction extends InstructionBase {
  kind: 'ARG';
  args: { name: string; value: string | null }[];
}
export interface ExposeInstruction extends InstructionBase {
  kind: 'EXPOSE';
  ports: string[];
}
export interface CopyInstruction extends InstructionBase {
  kind: 'COPY' | 'ADD';
  sources: string[];
  dest: string;
  heredocs: Heredoc[];
}
export interface WorkdirInstruction extends InstructionBase {
  kind: 'WORKDIR';
  path: string;
}
export interface UserInstruction extends InstructionBase {
  kind: 'USER';
  user: string;
}
export interface VolumeInstruction extends InstructionBase {
  kind: 'VOLUME';
  paths: string[];
}
export interface OnbuildInstruction extends InstructionBase {
  kind: 'ONBUILD';
  /** The trigger as stored in the image config: the joined line without `ONBUILD`, then each heredoc body and terminator. */
  expression: string;
  trigger: Instruction;
}
export interface StopsignalInstruction extends InstructionBase {
  kind: 'STOPSIGNAL';
  signal: string;
}
export interface HealthcheckInstruction extends InstructionBase {
  kind: 'HEALTHCHECK';
  /** null for HEALTHCHECK NONE. */
  command: CommandLine | null;
  /** Parsed options (durations in nanoseconds, 0 = not set), validated at parse time like BuildKit. */
  interval: number;
  timeout: number;
  startPeriod: number;
  startInterval: number;
  retries: number;
}
export interface MaintainerInstruction extends InstructionBase {
  kind: 'MAINTAINER';
  name: string;
}

export type Instruction =
  | FromInstruction
  | RunInstruction
  | CmdInstruction
  | EntrypointInstruction
  | ShellInstruction
  | LabelInstruction
  | EnvInstruction
  | ArgInstruction
  | ExposeInstruction
  | CopyInstruction
  | WorkdirInstruction
  | UserInstruction
  | VolumeInstruction
  | OnbuildInstruction
  | StopsignalInstruction
  | HealthcheckInstruction
  | MaintainerInstruction;

export type InstructionKind = Instruction['kind'];

export interface Directives {
  syntax: string | null;
  escape: '\\' | '`';
  /** `# check=skip=A,B;error=true` */
  check: { skip: string[] | 'all'; error: boolean };
}

export interface Stage {
  index: number;
  from: FromInstruction;
  instructions: Instruction[];
}

export interface Dockerfile {
  directives: Directives;
  /** ARG instructions before the first FROM. */
  globalArgs: ArgInstruction[];
  stages: Stage[];
  /** The source text, kept so errors can quote lines. */
  text: string;
}
