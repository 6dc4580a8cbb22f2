// planBuild: Dockerfile → BuildGraph. Pure: no I/O, no clock, no network.
// Stages are planned on demand starting from the target, so stages the
// target cannot reach are never planned (BuildKit's pruning); a stage that
// is re-entered while being planned is a dependency cycle.
import { DockerfileError, PlanError, TsbuildError, assertNever } from '../errors.js';
import { findFlag, flagString } from '../flags.js';
import { GRAPH_VERSION, type BuildGraph, type NewStep, type Diagnostic, type ImageConfig, type Platform, type StagePlan, type Step, type StepId } from '../graph.js';
import type { Dockerfile, Instruction, Stage } from '../instructions.js';
import { rules, type LintRule } from '../lint/rules.js';
import { ShellLexError, ShellLexer, type LexEnv } from '../shell-lexer.js';
import type { SourceRange } from '../source-range.js';
import { parseDockerfile } from '../ast-adapter.js';
import type { PlanOptions, Planner, StageState } from './context.js';
import { planCopy, planWorkdir } from './copy.js';
import {
  planArg, planCmd, planEnv, planExpose, planHealthcheck, planLabel, planMaintainer, planOnbuild, planShell,
  planStopsignal, planUser, planVolume,
} from './metadata.js';
import { planRun } from './run.js';
import { EnvList, StageScope } from './scope.js';
import { computeStepId } from './step-id.js';
import { lintDockerfile } from '../lint/static-checks.js';

const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };
const STAGE_NAME_RE = /^[a-z][a-z0-9-_.]*$/;

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? '/' + p.variant : ''}`;
}

export function platformArgs(target: Platform, build: Platform): Map<string, string> {
  return new Map([
    ['TARGETPLATFORM', formatPlatform(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
    ['BUILDPLATFORM', formatPlatform(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
  ]);
}

interface MetaScope extends LexEnv {
  declared: Set<string>;
  values: Map<string, string | undefined>;
}

export function planBuild(df: Dockerfile, options: PlanOptions = {}): BuildGraph {
  return new BuildPlanner(df, options).plan();
}

class BuildPlanner implements Planner {
  readonly lexer: ShellLexer;
  readonly buildArgs: Map<string, string>;
  readonly usedBuildArgs = new Set<string>();
  readonly steps: Record<string, Step> = {};
  readonly warnings: Diagnostic[] = [];
  private readonly stagePlans = new Map<number, StagePlan>();
  private readonly inProgress = new Set<number>();
  private readonly meta: MetaScope;
  private readonly platformArgs: Map<string, string>;
  private readonly stageNames = new Map<string, number>();

  constructor(readonly df: Dockerfile, readonly options: PlanOptions) {
    this.lexer = new ShellLexer(df.directives.escape);
    this.buildArgs = new Map(Object.entries(options.buildArgs ?? {}));
    this.platformArgs = platformArgs(options.targetPlatform ?? DEFAULT_PLATFORM, options.buildPlatform ?? DEFAULT_PLATFORM);
    this.meta = this.planGlobalArgs();
    this.indexStageNames();
  }

  plan(): BuildGraph {
    for (const d of lintDockerfile(this.df)) this.report(d.rule, d.range, ...d.args);
    const target = this.resolveTarget();
    if (this.options.allStages) {
      for (const stage of this.df.stages) this.planStage(stage.index);
    }
    const targetPlan = this.planStage(target);
    const stages = [...this.stagePlans.values()].sort((a, b) => a.index - b.index);
    const unused = [...this.buildArgs.keys()].filter((k) => !this.usedBuildArgs.has(k) && !this.platformArgs.has(k)).sort();
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
    if (!(id in this.steps)) this.steps[id] = { ...step, id } as Step;
    return id;
  }

  expand(word: string, env: LexEnv, range: SourceRange, lintUndefined = false): string {
    return this.lex(word, env, range, lintUndefined, false)[0] as string;
  }

  expandWords(word: string, env: LexEnv, range: SourceRange, lintUndefined = false): string[] {
    return this.lex(word, env, range, lintUndefined, true);
  }

  private lex(word: string, env: LexEnv, range: SourceRange, lintUndefined: boolean, split: boolean): string[] {
    try {
      const r = split ? this.lexer.processWords(word, env) : this.lexer.processWord(word, env);
      if (lintUndefined) {
        for (const name of r.unmatched) {
          if (!this.platformArgs.has(name) && !isProxyArg(name)) this.report(rules.UndefinedVar, range, name);
        }
      }
      return split ? r.words : [r.result];
    } catch (e) {
      if (e instanceof ShellLexError) {
        throw new DockerfileError('TSB_DOCKERFILE_EXPANSION', `failed to process "${word}": ${e.message}`, range, { cause: e });
      }
      throw e;
    }
  }

  resolveFrom(value: string, range: SourceRange, fromStage: number):
    | { type: 'stage'; index: number; step: StepId }
    | { type: 'image'; ref: string; digest: string | null } {
    let index = this.stageNames.get(value.toLowerCase());
    if (index === undefined && /^\d+$/.test(value)) {
      index = Number(value);
      if (index >= this.df.stages.length) {
        throw new PlanError('TSB_PLAN_UNKNOWN_STAGE', `stage index ${value} out of bounds: the Dockerfile has ${this.df.stages.length} stages`, range);
      }
    }
    if (index !== undefined) {
      if (index === fromStage) throw new PlanError('TSB_PLAN_CYCLE', `stage "${value}" refers to itself`, range);
      const plan = this.planStage(index, range);
      return { type: 'stage', index, step: plan.result };
    }
    if (value === '' || /\s/.test(value)) {
      throw new PlanError('TSB_PLAN_UNKNOWN_STAGE', `invalid stage or image reference "${value}"`, range);
    }
    const base = this.options.bases?.[value];
    return { type: 'image', ref: base?.ref ?? value, digest: base?.digest ?? null };
  }

  report<A extends unknown[]>(rule: LintRule<A>, range: SourceRange | null, ...args: A): void {
    const check = this.df.directives.check;
    if (check.skip === 'all' || check.skip.includes(rule.name)) return;
    this.warnings.push({ rule: rule.name, message: rule.format(...args), range, level: check.error ? 'error' : 'warning' });
  }

  // --- stages --------------------------------------------------------------

  private planGlobalArgs(): MetaScope {
    const values = new Map<string, string | undefined>(this.platformArgs);
    const declared = new Set<string>();
    const scope: MetaScope = { declared, values, get: (name) => values.get(name) };
    for (const instr of this.df.globalArgs) {
      for (const { name, value } of instr.args) {
        declared.add(name);
        if (this.buildArgs.has(name)) {
          values.set(name, this.buildArgs.get(name));
          this.usedBuildArgs.add(name);
        } else if (value !== null) {
          values.set(name, this.expand(value, scope, instr.range));
        } else if (!this.platformArgs.has(name)) {
          values.set(name, undefined);
        }
      }
    }
    return scope;
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
        throw new PlanError('TSB_PLAN_DUPLICATE_STAGE', `duplicate stage name "${raw}"`, range);
      }
      if (raw !== name) this.report(rules.StageNameCasing, range, raw);
      if (name === 'scratch' || name === 'context') this.report(rules.ReservedStageName, range, name);
      this.stageNames.set(name, stage.index);
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

  private planStage(index: number, refRange?: SourceRange): StagePlan {
    const done = this.stagePlans.get(index);
    if (done) return done;
    const stage = this.df.stages[index] as Stage;
    if (this.inProgress.has(index)) {
      throw new PlanError('TSB_PLAN_CYCLE', `circular dependency detected on stage: ${stage.from.stageName ?? index}`, refRange ?? stage.from.range);
    }
    this.inProgress.add(index);
    const state = this.startStage(stage);
    for (const instr of this.withOnbuildTriggers(state, stage)) this.applyInstruction(state, instr);
    this.inProgress.delete(index);
    const names = state.steps.length;
    state.steps.forEach((id, i) => {
      const step = this.steps[id] as Step;
      if (step.stage === index && !step.name.startsWith('[')) {
        step.name = `[${state.name ?? `stage-${index}`} ${i + 1}/${names}] ${step.name}`;
      }
    });
    const plan: StagePlan = {
      index,
      name: state.name,
      base: this.stageBase.get(index) as StagePlan['base'],
      platform: state.platform,
      steps: state.steps,
      result: state.current,
      config: state.config,
      author: state.author,
      history: state.history,
      range: stage.from.range,
    };
    this.stagePlans.set(index, plan);
    return plan;
  }

  private readonly stageBase = new Map<number, StagePlan['base']>();
  private readonly pendingTriggers = new Map<number, Instruction[]>();

  private startStage(stage: Stage): StageState {
    const from = stage.from;
    const image = this.expand(from.image, this.meta, from.range);
    const used = this.lexer.processWord(from.image, this.meta);
    for (const name of [...used.matched, ...used.unmatched]) {
      if (!this.meta.declared.has(name) && !this.platformArgs.has(name)) this.report(rules.UndefinedArgInFrom, from.range, name);
    }
    if (image === '') {
      if (from.image.includes('$')) this.report(rules.InvalidDefaultArgInFrom, from.range, from.image);
      throw new DockerfileError('TSB_DOCKERFILE_ARGS', `base name (${from.image}) should not be blank`, from.range);
    }
    const platformRaw = flagString(from, 'platform');
    let platform = formatPlatform(this.options.targetPlatform ?? DEFAULT_PLATFORM);
    if (platformRaw !== null) {
      const range = findFlag(from, 'platform')?.range ?? from.range;
      if (!platformRaw.includes('$')) this.report(rules.FromPlatformFlagConstDisallowed, range, platformRaw);
      platform = this.expand(platformRaw, this.meta, range);
      if (!/^[a-z0-9_]+\/[a-z0-9_]+(\/[a-z0-9_.]+)?$/i.test(platform)) {
        throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', `invalid --platform=${platform}: expected os/arch[/variant]`, range);
      }
    }
    const name = from.stageName?.toLowerCase() ?? null;
    const fromStage = this.stageNames.get(image.toLowerCase());
    let config: ImageConfig;
    let current: StepId;
    let envKnown = true;
    if (fromStage !== undefined && fromStage < stage.index) {
      const basePlan = this.planStage(fromStage, from.range);
      config = structuredClone(basePlan.config);
      current = basePlan.result;
      platform = platformRaw === null ? basePlan.platform : platform;
      this.stageBase.set(stage.index, { type: 'stage', index: fromStage });
    } else if (image === 'scratch') {
      config = { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], WorkingDir: '/' };
      current = this.addStep({ kind: 'source', stage: stage.index, range: from.range, name: 'FROM scratch', source: { type: 'scratch' } });
      this.stageBase.set(stage.index, { type: 'source', step: current });
    } else {
      const base = this.options.bases?.[image];
      envKnown = base !== undefined;
      config = structuredClone(base?.config ?? {});
      current = this.addStep({
        kind: 'source',
        stage: stage.index,
        range: from.range,
        name: `FROM ${base?.ref ?? image}`,
        source: { type: 'image', ref: base?.ref ?? image, digest: base?.digest ?? null, platform: platformRaw === null ? null : platform },
      });
      this.stageBase.set(stage.index, { type: 'source', step: current });
      const triggers = config.OnBuild ?? [];
      if (triggers.length > 0) this.pendingTriggers.set(stage.index, this.parseTriggers(triggers, from.range));
    }
    if (config.OnBuild !== undefined) config.OnBuild = [];
    return {
      index: stage.index,
      name,
      scope: new StageScope(new EnvList(config.Env ?? [])),
      config,
      author: null,
      history: [],
      steps: [],
      current,
      platform,
      cmdSet: false,
      absoluteWorkdir: false,
      envKnown,
      seen: new Map(),
    };
  }

  private parseTriggers(triggers: string[], range: SourceRange): Instruction[] {
    try {
      const df = parseDockerfile(`FROM scratch\n${triggers.join('\n')}\n`, { file: 'ONBUILD trigger' });
      return (df.stages[0]?.instructions ?? []).map((i) => ({ ...i, range }));
    } catch (e) {
      if (e instanceof TsbuildError) {
        throw new DockerfileError('TSB_DOCKERFILE_SYNTAX', `invalid ONBUILD trigger in base image: ${e.message}`, range, { cause: e });
      }
      throw e;
    }
  }

  private *withOnbuildTriggers(state: StageState, stage: Stage): Iterable<Instruction> {
    yield* this.pendingTriggers.get(state.index) ?? [];
    yield* stage.instructions;
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
        return planArg(this, state, instr, this.meta.values);
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

function isProxyArg(name: string): boolean {
  return /^(HTTP|HTTPS|FTP|NO|ALL)_PROXY$/i.test(name);
}
