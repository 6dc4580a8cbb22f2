// planBuild: Dockerfile → BuildGraph. Pure: no I/O, no clock, no network.
// The order follows BuildKit's dockerfile2llb.toDispatchState:
//   1. global ARGs (with the automatic platform ARGs and --build-arg values);
//   2. every stage's FROM: base name and --platform expanded, image
//      references checked, stages linked to the earlier stage they build on;
//   3. every stage's dependencies (COPY --from, RUN --mount from=) found and
//      checked for cycles — for all stages, reachable or not;
//   4. the stages the target needs (following ONBUILD triggers, which can
//      add dependencies) are planned in Dockerfile order; a stage that uses
//      one defined after it is an error, as in BuildKit.
// Stages the target does not need are never planned, so errors that only
// show while planning an instruction (expansion, values) cannot come from them.
import { parseTrigger } from '../ast-adapter.js';
import { DockerfileError, PlanError, assertNever } from '../errors.js';
import { findFlag, flagString } from '../flags.js';
import {
  GRAPH_VERSION,
  type BaseImage,
  type BuildGraph,
  type Diagnostic,
  type ImageConfig,
  type NewStep,
  type StagePlan,
  type Step,
  type StepId,
} from '../graph.js';
import type { Dockerfile, Instruction, Stage } from '../instructions.js';
import { rules, type LintRule } from '../lint/rules.js';
import { lintDockerfile } from '../lint/static-checks.js';
import { ShellLexError, ShellLexer, type LexEnv, type LexResult } from '../shell-lexer.js';
import type { SourceRange } from '../source-range.js';
import type { PlanOptions, Planner, StageState } from './context.js';
import { cleanPath, planCopy, planWorkdir } from './copy.js';
import {
  planArg, planCmd, planEnv, planExpose, planHealthcheck, planLabel, planMaintainer, planOnbuild, planShell,
  planStopsignal, planUser, planVolume,
} from './metadata.js';
import { mountFromValues } from './mounts.js';
import { DEFAULT_PLATFORM, formatPlatform, parsePlatform, platformArgs } from './platform.js';
import { referenceProblem } from './reference.js';
import { planRun } from './run.js';
import { EnvList, StageScope } from './scope.js';
import { computeStepId } from './step-id.js';

const STAGE_NAME_RE = /^[a-z][a-z0-9-_.]*$/;
const NEEDS_LEXER = /[$'"\\`\uFEFF]/;
/** No variables referenced (shared: results are only read). */
const NONE = new Set<string>();
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** Args BuildKit never puts into a stage's environment. */
const NON_ENV_ARGS = new Set(['BUILDKIT_SBOM_SCAN_CONTEXT', 'BUILDKIT_SBOM_SCAN_STAGE']);

export function planBuild(df: Dockerfile, options: PlanOptions = {}): BuildGraph {
  return new BuildPlanner(df, options).plan();
}

/** What planning needs to know about a stage before planning it. */
interface StageInfo {
  stage: Stage;
  /** The base name after expansion. */
  baseName: string;
  /** The earlier stage this one is built on, if any. */
  baseStage: number | null;
  /** FROM --platform after expansion, or null. */
  platform: string | null;
  /** Stages this one needs, with the instruction that needs them (for cycle errors). */
  deps: Map<number, SourceRange>;
  /** ONBUILD triggers to run before the stage's own instructions. */
  triggers: Instruction[];
}

class BuildPlanner implements Planner {
  readonly lexer: ShellLexer;
  readonly buildArgs: Map<string, string>;
  readonly usedBuildArgs = new Set<string>();
  readonly steps: Record<string, Step> = {};
  readonly warnings: Diagnostic[] = [];
  readonly globals: EnvList;
  private readonly platformArgs: Map<string, string>;
  private readonly stagePlans = new Map<number, StagePlan>();
  /** Final scope of each planned stage, for stages built on it. */
  private readonly finalScopes = new Map<number, StageScope>();
  private readonly finalWorkdirSet = new Map<number, boolean>();
  private readonly stageNames = new Map<string, number>();
  private readonly stageBase = new Map<number, StagePlan['base']>();
  private readonly globalDeclared = new Set<string>();
  private readonly infos: StageInfo[] = [];

  constructor(readonly df: Dockerfile, readonly options: PlanOptions) {
    this.lexer = new ShellLexer(df.directives.escape);
    this.buildArgs = new Map(Object.entries(options.buildArgs ?? {}));
    const lastStage = df.stages[df.stages.length - 1];
    const targetName = options.target || (lastStage?.from.stageName?.toLowerCase() ?? '');
    this.platformArgs = platformArgs(
      options.targetPlatform ?? DEFAULT_PLATFORM,
      options.buildPlatform ?? DEFAULT_PLATFORM,
      targetName,
      this.buildArgs,
    );
    this.globals = new EnvList([...this.platformArgs].map(([k, v]) => `${k}=${v}`));
  }

  plan(): BuildGraph {
    for (const d of lintDockerfile(this.df)) this.report(d.rule, d.range, ...d.args);
    this.indexStageNames();
    this.planGlobalArgs();
    this.lintDefaultBaseNames();
    for (const stage of this.df.stages) this.infos.push(this.resolveStageBase(stage));
    const target = this.resolveTarget();
    for (const info of this.infos) this.findDeps(info, info.stage.instructions);
    this.checkCycles();
    const wanted = this.reachable(target);
    for (const info of this.infos) {
      if (wanted.has(info.stage.index)) this.planStage(info);
    }
    const targetPlan = this.stagePlans.get(target) as StagePlan;
    const stages = [...this.stagePlans.values()].sort((a, b) => a.index - b.index);
    const unused = [...this.buildArgs.keys()]
      .filter((k) => !this.usedBuildArgs.has(k) && !this.platformArgs.has(k) && !isProxyArg(k))
      .sort();
    return {
      version: GRAPH_VERSION,
      steps: this.steps,
      stages,
      target,
      output: targetPlan.result,
      unusedBuildArgs: unused,
      warnings: this.warnings,
    };
  }

  // --- Planner interface -------------------------------------------------

  addStep(step: NewStep): StepId {
    const id = computeStepId(step as Step);
    // The planners build a fresh object per step, so it becomes the step itself.
    if (!(id in this.steps)) this.steps[id] = Object.assign(step, { id }) as Step;
    return id;
  }

  expand(word: string, state: StageState, range: SourceRange): string {
    return this.lex(word, state.scope, range, state, false)[0] as string;
  }

  expandWords(word: string, state: StageState, range: SourceRange): string[] {
    return this.lex(word, state.scope, range, state, true);
  }

  private lex(word: string, env: LexEnv, range: SourceRange, state: StageState | null, split: boolean): string[] {
    const r = this.process(word, env, range, split);
    if (state !== null && state.envKnown) {
      for (const name of r.unmatched) {
        if (!state.scope.isDeclared(name) && !NON_ENV_ARGS.has(name)) this.report(rules.UndefinedVar, range, name);
      }
    }
    return split ? r.words : [r.result];
  }

  private process(word: string, env: LexEnv, range: SourceRange, split: boolean): LexResult {
    // Most words have nothing to expand, unquote or unescape: the lexer would
    // return them unchanged (a leading BOM is the one other thing it drops).
    if (!NEEDS_LEXER.test(word) && !(split && /[\s\u0085]/.test(word))) {
      return { result: word, words: word === '' ? [] : [word], matched: NONE, unmatched: NONE };
    }
    try {
      return split ? this.lexer.processWords(word, env) : this.lexer.processWord(word, env);
    } catch (e) {
      if (e instanceof ShellLexError) {
        throw new DockerfileError('TSB_DOCKERFILE_EXPANSION', `failed to process "${word}": ${e.message}`, range, { cause: e });
      }
      if (isStackOverflow(e)) {
        // The lexer recurses per nested ${…}; absurd nesting is an input error.
        throw new DockerfileError('TSB_DOCKERFILE_EXPANSION', 'failed to process a word: substitutions nested too deeply', range, { cause: e });
      }
      throw e;
    }
  }

  resolveFrom(value: string, range: SourceRange, state: StageState):
    | { type: 'stage'; index: number; step: StepId }
    | { type: 'image'; ref: string; digest: string | null } {
    const index = this.stageRef(value, range);
    if (index !== null) {
      const plan = this.stagePlans.get(index);
      if (plan === undefined || index >= state.index) {
        const self = state.name ?? `stage-${state.index}`;
        throw new PlanError('TSB_PLAN_STAGE_ORDER',
          `cannot use stage "${value}" from stage "${self}": it needs to be defined before the stage that uses it`, range);
      }
      return { type: 'stage', index, step: plan.result };
    }
    const base = this.options.bases?.[value];
    return { type: 'image', ref: base?.ref ?? value, digest: base?.digest ?? null };
  }

  report<A extends unknown[]>(rule: LintRule<A>, range: SourceRange | null, ...args: A): void {
    const check = this.df.directives.check;
    if (check.skip === 'all' || check.skip.includes(rule.name)) return;
    this.warnings.push({ rule: rule.name, message: rule.format(...args), range, level: check.error ? 'error' : 'warning' });
  }

  // --- global scope and stages --------------------------------------------

  /** BuildKit buildMetaArgs: --build-arg wins, else the default expanded with the ARGs before it. */
  private planGlobalArgs(): void {
    for (const instr of this.df.globalArgs) {
      for (const { name, value } of instr.args) {
        this.globalDeclared.add(name);
        if (this.buildArgs.has(name)) {
          this.globals.set(name, this.buildArgs.get(name) as string);
          this.usedBuildArgs.add(name);
        } else if (value !== null) {
          this.globals.set(name, this.process(value, this.globals, instr.range, false).result);
        }
      }
    }
  }

  private indexStageNames(): void {
    for (const stage of this.df.stages) {
      const raw = stage.from.stageName;
      if (raw === null) continue;
      const name = raw.toLowerCase();
      const range = stage.from.stageNameRange ?? stage.from.range;
      if (!STAGE_NAME_RE.test(name)) {
        throw new PlanError('TSB_PLAN_BAD_STAGE_NAME', `invalid name for build stage: "${raw}", name can't start with a number or contain symbols`, range);
      }
      if (this.stageNames.has(name)) {
        // BuildKit only warns (DuplicateStageName) and lets the later stage win,
        // which silently changes what earlier references mean; we refuse.
        throw new PlanError('TSB_PLAN_DUPLICATE_STAGE', `duplicate stage name "${raw}": stage names must be unique`, range);
      }
      this.stageNames.set(name, stage.index);
    }
  }

  /** InvalidDefaultArgInFrom: the base names with only the defaults of the global ARGs. */
  private lintDefaultBaseNames(): void {
    const defaults = new EnvList([...platformArgs(
      this.options.targetPlatform ?? DEFAULT_PLATFORM, this.options.buildPlatform ?? DEFAULT_PLATFORM,
    )].map(([k, v]) => `${k}=${v}`));
    try {
      for (const instr of this.df.globalArgs) {
        for (const { name, value } of instr.args) {
          if (value !== null) defaults.set(name, this.lexer.processWord(value, defaults).result);
        }
      }
      for (const stage of this.df.stages) {
        const image = this.lexer.processWord(stage.from.image, defaults).result;
        if (referenceProblem(image) !== null && image !== 'scratch') this.report(rules.InvalidDefaultArgInFrom, stage.from.range, stage.from.image);
      }
    } catch (e) {
      // Like BuildKit: a lint never fails the build; the real error comes later.
      if (!(e instanceof ShellLexError) && !isStackOverflow(e)) throw e;
    }
  }

  /** The FROM line of every stage, reachable or not (BuildKit resolves them all). */
  private resolveStageBase(stage: Stage): StageInfo {
    const from = stage.from;
    const match = this.process(from.image, this.globals, from.range, false);
    for (const name of match.unmatched) {
      if (!this.globalDeclared.has(name) && !this.platformArgs.has(name)) this.report(rules.UndefinedArgInFrom, from.range, name);
    }
    const baseName = match.result;
    if (baseName === '') {
      throw new DockerfileError('TSB_DOCKERFILE_ARGS', `base name (${from.image}) should not be blank`, from.range);
    }
    let platform: string | null = null;
    const platformRaw = flagString(from, 'platform');
    if (platformRaw !== null) {
      const range = findFlag(from, 'platform')?.range ?? from.range;
      const pm = this.process(platformRaw, this.globals, range, false);
      for (const name of pm.unmatched) {
        if (!this.globalDeclared.has(name) && !this.platformArgs.has(name)) this.report(rules.UndefinedArgInFrom, from.range, name);
      }
      if (pm.matched.size === 1 && pm.unmatched.size === 0 && pm.matched.has('TARGETPLATFORM') && pm.result === this.globals.get('TARGETPLATFORM')) {
        this.report(rules.RedundantTargetPlatform, range, platformRaw);
      }
      if (pm.matched.size === 0 && pm.unmatched.size === 0) {
        const p = parsePlatform(pm.result);
        const stageName = from.stageName?.toLowerCase() ?? '';
        if (p !== null && !stageName.includes(p.os) && !stageName.includes(p.architecture)) {
          this.report(rules.FromPlatformFlagConstDisallowed, range, pm.result);
        }
      }
      if (pm.result === '') throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', `empty platform value from expression ${platformRaw}`, range);
      const p = parsePlatform(pm.result);
      if (p === null) throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', `failed to parse platform ${platformRaw}: "${pm.result}" is not os/arch[/variant]`, range);
      platform = formatPlatform(p);
    }
    // Only an earlier stage, matched exactly (names are stored lowercase).
    const named = this.stageNames.get(baseName);
    const baseStage = named !== undefined && named < stage.index ? named : null;
    if (baseStage === null && baseName !== 'scratch') {
      const problem = referenceProblem(baseName);
      if (problem !== null) throw new DockerfileError('TSB_DOCKERFILE_ARGS', `failed to parse stage name "${baseName}": ${problem}`, from.range);
    }
    return { stage, baseName, baseStage, platform, deps: new Map(), triggers: [] };
  }

  /** A --from value naming a stage (by name or index), or null for an image. */
  private stageRef(value: string, range: SourceRange): number | null {
    if (/^[+-]?\d+$/.test(value)) {
      const index = Number(value);
      if (!Number.isSafeInteger(index) || index < 0 || index >= this.df.stages.length) {
        throw new PlanError('TSB_PLAN_UNKNOWN_STAGE', `invalid stage index ${value}: the Dockerfile has ${this.df.stages.length} stages`, range);
      }
      return index;
    }
    return this.stageNames.get(value.toLowerCase()) ?? null;
  }

  /** BuildKit toCommand: the stages an instruction needs; images are checked for syntax. */
  private findDeps(info: StageInfo, instructions: readonly Instruction[]): void {
    const add = (value: string, range: SourceRange): void => {
      const index = this.stageRef(value, range);
      if (index !== null) {
        if (!info.deps.has(index)) info.deps.set(index, range);
        return;
      }
      const problem = referenceProblem(value);
      if (problem !== null) throw new PlanError('TSB_PLAN_UNKNOWN_STAGE', `"${value}" is neither a stage nor an image: ${problem}`, range);
    };
    for (const instr of instructions) {
      // An ONBUILD records its trigger; the trigger's needs belong to the stages that run it.
      const target = instr;
      if (target.kind === 'COPY') {
        const flag = findFlag(target, 'from');
        // An empty --from means the context, as in BuildKit.
        if (flag?.value) add(flag.value, flag.range);
      } else if (target.kind === 'RUN') {
        for (const flag of target.flags) {
          if (flag.name !== 'mount') continue;
          for (const value of mountFromValues(flag.value ?? '')) add(value, flag.range);
        }
      }
    }
  }

  /** BuildKit validateCircularDependency, over every stage; iterative so a long chain cannot overflow the stack. */
  private checkCycles(): void {
    const state = new Map<number, 'active' | 'done'>();
    for (const root of this.infos) {
      if (state.has(root.stage.index)) continue;
      // Each frame: a stage and the dependencies still to visit, with the range that led to it.
      const stack: { index: number; deps: [number, SourceRange][]; via: SourceRange | null }[] = [
        { index: root.stage.index, deps: [...root.deps], via: null },
      ];
      state.set(root.stage.index, 'active');
      while (stack.length > 0) {
        const frame = stack[stack.length - 1] as (typeof stack)[number];
        const next = frame.deps.shift();
        if (next === undefined) {
          state.set(frame.index, 'done');
          stack.pop();
          continue;
        }
        const [dep, range] = next;
        if (state.get(dep) === 'active') {
          const name = root.stage.from.stageName?.toLowerCase() ?? `stage-${root.stage.index}`;
          throw new PlanError('TSB_PLAN_CYCLE', `circular dependency detected on stage: ${name}`, stack[1]?.via ?? range);
        }
        if (state.get(dep) === 'done') continue;
        state.set(dep, 'active');
        stack.push({ index: dep, deps: [...(this.infos[dep] as StageInfo).deps], via: range });
      }
    }
  }

  private resolveTarget(): number {
    const target = this.options.target;
    if (target === undefined || target === '') return this.df.stages.length - 1;
    const index = this.stageNames.get(target.toLowerCase());
    if (index !== undefined) return index;
    const names = [...this.stageNames.keys()];
    throw new PlanError('TSB_PLAN_UNKNOWN_STAGE', `target stage "${target}" could not be found${names.length ? ` (stages: ${names.join(', ')})` : ''}`);
  }

  /**
   * The stages the target needs: its base and dependencies, transitively,
   * with the ONBUILD triggers each needed stage inherits (a trigger can add
   * a dependency). Every stage when `allStages` is set.
   */
  private reachable(target: number): Set<number> {
    const wanted = new Set<number>();
    const todo = this.options.allStages ? this.infos.map((i) => i.stage.index) : [target];
    if (this.options.allStages) todo.push(target);
    while (todo.length > 0) {
      const i = todo.pop() as number;
      if (wanted.has(i)) continue;
      wanted.add(i);
      const info = this.infos[i] as StageInfo;
      this.initTriggers(info);
      if (info.baseStage !== null) todo.push(info.baseStage);
      todo.push(...info.deps.keys());
    }
    return wanted;
  }

  private initTriggers(info: StageInfo): void {
    const from = info.stage.from;
    let expressions: readonly string[];
    if (info.baseStage !== null) {
      const base = this.infos[info.baseStage] as StageInfo;
      expressions = base.stage.instructions.flatMap((i) => (i.kind === 'ONBUILD' ? [i.expression] : []));
    } else {
      expressions = this.baseImage(info.baseName)?.config.OnBuild ?? [];
    }
    info.triggers = expressions.map((text) => parseTrigger(text, from.range));
    this.findDeps(info, info.triggers);
  }

  private baseImage(name: string): BaseImage | undefined {
    return this.options.bases?.[name];
  }

  private planStage(info: StageInfo): void {
    const state = this.startStage(info);
    for (const instr of info.triggers) this.applyInstruction(state, instr);
    for (const instr of info.stage.instructions) this.applyInstruction(state, instr);
    const index = info.stage.index;
    const total = state.steps.length;
    const label = this.df.stages.length === 1 ? '' : `${state.name ?? `stage-${index}`} `;
    state.steps.forEach((id, i) => {
      const step = this.steps[id] as Step;
      if (step.stage === index && !step.name.startsWith('[')) step.name = `[${label}${i + 1}/${total}] ${step.name}`;
    });
    this.finalScopes.set(index, state.scope);
    this.finalWorkdirSet.set(index, state.workdirSet);
    this.stagePlans.set(index, {
      index,
      name: state.name,
      base: this.stageBase.get(index) as StagePlan['base'],
      platform: state.platform,
      steps: state.steps,
      result: state.current,
      config: state.config,
      author: state.author,
      history: state.history,
      range: info.stage.from.range,
    });
  }

  private startStage(info: StageInfo): StageState {
    const { stage, baseName } = info;
    const from = stage.from;
    const index = stage.index;
    const targetPlatform = formatPlatform(this.options.targetPlatform ?? DEFAULT_PLATFORM);
    let config: ImageConfig;
    let current: StepId;
    let envKnown = true;
    let scope: StageScope | null = null;
    let author: string | null = null;
    let workdirSet = false;
    let platform = info.platform ?? targetPlatform;
    if (info.baseStage !== null) {
      const basePlan = this.stagePlans.get(info.baseStage) as StagePlan;
      config = structuredClone(basePlan.config);
      // ONBUILD triggers do not carry over from a base stage; they run here instead.
      delete config.OnBuild;
      current = basePlan.result;
      platform = basePlan.platform;
      author = basePlan.author;
      scope = (this.finalScopes.get(info.baseStage) as StageScope).clone();
      workdirSet = this.finalWorkdirSet.get(info.baseStage) ?? false;
      this.stageBase.set(index, { type: 'stage', index: info.baseStage });
    } else if (baseName === 'scratch') {
      config = { Env: [`PATH=${DEFAULT_PATH}`], WorkingDir: '/' };
      current = this.addStep({ kind: 'source', stage: index, range: from.range, name: 'FROM scratch', source: { type: 'scratch' } });
      this.stageBase.set(index, { type: 'source', step: current });
    } else {
      const base = this.baseImage(baseName);
      envKnown = base !== undefined;
      config = structuredClone(base?.config ?? {});
      delete config.OnBuild;
      current = this.addStep({
        kind: 'source',
        stage: index,
        range: from.range,
        name: `FROM ${base?.ref ?? baseName}`,
        source: { type: 'image', ref: base?.ref ?? baseName, digest: base?.digest ?? null, platform: info.platform },
      });
      this.stageBase.set(index, { type: 'source', step: current });
    }
    // BuildKit makes sure every image has a PATH, and normalises the base's WORKDIR.
    if (!(config.Env ?? []).some((kv) => kv.split('=')[0] === 'PATH')) config.Env = [...(config.Env ?? []), `PATH=${DEFAULT_PATH}`];
    if (config.WorkingDir) config.WorkingDir = cleanPath(config.WorkingDir);
    return {
      index,
      name: from.stageName?.toLowerCase() ?? null,
      scope: scope ?? new StageScope(new EnvList(config.Env ?? [])),
      config,
      author,
      history: [],
      steps: [],
      current,
      platform,
      workdirSet,
      envKnown,
      trackers: { CMD: null, ENTRYPOINT: null, HEALTHCHECK: null },
    };
  }

  private applyInstruction(state: StageState, instr: Instruction): void {
    switch (instr.kind) {
      case 'FROM':
        throw new DockerfileError('TSB_DOCKERFILE_SYNTAX', 'FROM inside a stage', instr.range);
      case 'RUN':
        return planRun(this, state, instr);
      case 'COPY':
      case 'ADD':
        return planCopy(this, state, instr);
      case 'WORKDIR':
        return planWorkdir(this, state, instr);
      case 'ENV':
        return planEnv(this, state, instr);
      case 'LABEL':
        return planLabel(this, state, instr);
      case 'ARG':
        return planArg(this, state, instr);
      case 'CMD':
      case 'ENTRYPOINT':
        return planCmd(this, state, instr);
      case 'SHELL':
        return planShell(this, state, instr);
      case 'EXPOSE':
        return planExpose(this, state, instr);
      case 'VOLUME':
        return planVolume(this, state, instr);
      case 'USER':
        return planUser(this, state, instr);
      case 'STOPSIGNAL':
        return planStopsignal(this, state, instr);
      case 'HEALTHCHECK':
        return planHealthcheck(this, state, instr);
      case 'ONBUILD':
        return planOnbuild(this, state, instr);
      case 'MAINTAINER':
        return planMaintainer(this, state, instr);
      default:
        return assertNever(instr);
    }
  }
}

export function isStackOverflow(e: unknown): boolean {
  return e instanceof RangeError && /call stack/i.test(e.message);
}

function isProxyArg(name: string): boolean {
  return /^(HTTP|HTTPS|FTP|NO|ALL)_PROXY$/i.test(name);
}
