// The scheduler: each step runs once however many steps need it (a map of
// promises), ready steps run in parallel up to `jobs`, and every step is
// looked up in the cache by its own key, so a miss in one stage never
// forces a miss in an independent one.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { BuildGraph, CopyStep, IgnoreMatcher, Step, StepId } from '../parser/index.js';
import { assertNever } from '../parser/index.js';
import type { ContentStore } from '../src/store/index.js';
import { cacheKey, type CacheKey } from './cache-key.js';
import { ContextFs } from './context-fs.js';
import { ContextHasher } from './context-hasher.js';
import { digestLines, planCopyStep } from './copy/copy-plan.js';
import { writePlan } from './copy/write-plan.js';
import { planToEntries } from './copy/plan-entries.js';
import { InternalError, StepFailedError, StepProblem } from './errors.js';
import { fetchUrl } from './fetch-url.js';
import { walkDirectory, writeLayer } from './layer/index.js';
import { LayeredFs } from './layered-fs.js';
import { Snapshots } from './snapshots.js';
import type { BuildEvent, BuiltImage, ImagePlatform, LayerRef, OciHistory, ResolvedImage } from './types.js';
import { runExecStep, type RunLimits, type SandboxRunner } from './run-step.js';
import { openBuildNetwork, type BuildNetwork } from './build-network.js';
import type { SecretSource } from './run-mounts.js';
import type { ExecStep, FileSource } from '../parser/index.js';

export interface ExecutorDeps {
  store: ContentStore;
  /** Base and --from images, keyed by the reference in the plan. */
  images: Readonly<Record<string, ResolvedImage>>;
  /** Runs RUN steps; without it a RUN fails with TSB_STEP_UNSUPPORTED. */
  sandbox?: SandboxRunner;
  /**
   * Make a layer's blob present in the store when a step needs its
   * filesystem and the store lacks it (a base pulled without its layers, an
   * imported cache record). src/ knows where each layer came from.
   */
  fetchBlob?(layer: LayerRef): Promise<void>;
  /** Read-only cache records (imported with --cache-from), consulted after the store's own. */
  cacheSource?: CacheRecordSource;
}

/** Cache records from elsewhere; their blobs may be absent until fetchBlob brings them. */
export interface CacheRecordSource {
  get(key: CacheKey): Promise<{ layers: LayerRef[]; added: LayerRef | null } | null>;
}

export interface ExecuteOptions {
  contextDir: string | null;
  ignore: IgnoreMatcher | null;
  noCache: boolean;
  noCacheStages: ReadonlySet<number>;
  jobs: number;
  sourceDateEpoch: number | undefined;
  signal?: AbortSignal;
  /** --memory / --cpus / --pids-limit, applied to each RUN. */
  limits?: RunLimits;
  /** --secret id=…: never written to the store, a layer or the history. */
  secrets?: ReadonlyMap<string, SecretSource>;
  /** --ssh id=socket */
  ssh?: ReadonlyMap<string, string>;
  emit(event: BuildEvent): void;
}

export interface StepResult {
  key: CacheKey;
  /** The step's whole filesystem, bottom layer first. */
  layers: LayerRef[];
  /** The layer this step added, if any. */
  added: LayerRef | null;
}

interface CacheRecord {
  version: 1;
  layers: LayerRef[];
  added: LayerRef | null;
  /** Keeps the blobs alive under `prune` (see src/store/gc.ts). */
  blobs: string[];
}

export interface BuildOutcome {
  image: BuiltImage;
  results: ReadonlyMap<StepId, StepResult>;
  stats: { steps: number; cached: number; hashedFiles: number };
}

export async function executeGraph(graph: BuildGraph, deps: ExecutorDeps, opts: ExecuteOptions): Promise<BuildOutcome> {
  const run = new BuildRun(graph, deps, opts);
  return run.execute();
}

class BuildRun {
  private readonly memo = new Map<StepId, Promise<StepResult>>();
  private readonly results = new Map<StepId, StepResult>();
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly snapshots: Snapshots;
  private readonly hasher: ContextHasher | null;
  private readonly contextFs: ContextFs | null;
  private readonly fixedTime: Date;
  private cached = 0;

  constructor(
    private readonly graph: BuildGraph,
    private readonly deps: ExecutorDeps,
    private readonly opts: ExecuteOptions,
  ) {
    this.limit = pLimit(Math.max(1, opts.jobs));
    this.snapshots = new Snapshots(deps.store, deps.fetchBlob);
    this.contextFs = opts.contextDir ? new ContextFs(opts.contextDir, opts.ignore) : null;
    this.hasher = opts.contextDir ? new ContextHasher(deps.store, opts.contextDir) : null;
    this.fixedTime = new Date((opts.sourceDateEpoch ?? 0) * 1000);
  }

  private network: Promise<BuildNetwork> | null = null;

  async execute(): Promise<BuildOutcome> {
    try {
      await this.runStep(this.graph.output);
    } finally {
      if (this.network) await (await this.network.catch(() => null))?.close();
    }
    await this.hasher?.save();
    return {
      image: this.assembleImage(this.graph.target),
      results: this.results,
      stats: { steps: this.results.size, cached: this.cached, hashedFiles: this.hasher?.hashed ?? 0 },
    };
  }

  private step(id: StepId): Step {
    const s = this.graph.steps[id];
    if (!s) throw new InternalError(`step ${id} is not in the graph`);
    return s;
  }

  private runStep(id: StepId): Promise<StepResult> {
    let p = this.memo.get(id);
    if (!p) {
      p = (async () => {
        const step = this.step(id);
        const inputs = await Promise.all(dependencies(step).map((d) => this.runStep(d)));
        // The limiter wraps only the work, never the wait for inputs, so a
        // step holding a slot can never wait on one that needs a slot.
        const result = await this.limit(() => this.perform(step, inputs));
        this.results.set(id, result);
        return result;
      })();
      this.memo.set(id, p);
    }
    return p;
  }

  private async perform(step: Step, inputs: StepResult[]): Promise<StepResult> {
    this.opts.signal?.throwIfAborted();
    const start = Date.now();
    this.opts.emit({ type: 'step-start', step: step.id, name: step.name, time: start });
    try {
      const { result, cached, usage } = await this.compute(step, inputs);
      if (cached) {
        this.cached++;
        this.opts.emit({ type: 'step-cached', step: step.id, name: step.name, time: Date.now() });
      }
      this.opts.emit({ type: 'step-done', step: step.id, time: Date.now(), durationMs: Date.now() - start, ...(usage ?? {}) });
      return result;
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.opts.emit({ type: 'step-error', step: step.id, message, time: Date.now() });
      if (e instanceof StepFailedError) throw e;
      const code = e instanceof StepProblem ? e.code : 'TSB_STEP_FAILED';
      const exitCode = (e as { exitCode?: unknown }).exitCode;
      throw new StepFailedError(
        code,
        `${step.name.replace(/^\[[^\]]*\] /, '')}: ${message}`,
        { stepId: step.id, range: step.range, ...(typeof exitCode === 'number' ? { exitCode } : {}) },
        { cause: e },
      );
    }
  }

  private useCache(step: Step): boolean {
    return !this.opts.noCache && !this.opts.noCacheStages.has(step.stage);
  }

  private async lookup(step: Step, key: CacheKey): Promise<StepResult | null> {
    if (!this.useCache(step)) return null;
    const rec = await this.deps.store.getRecord<CacheRecord>('cache', key).catch(() => null);
    if (rec && rec.version === 1 && (!rec.added || (await this.deps.store.hasBlob(rec.added.digest)))) {
      return { key, layers: rec.layers, added: rec.added };
    }
    const imported = (await this.deps.cacheSource?.get(key)) ?? null;
    if (!imported) return null;
    // Kept locally too; its blobs arrive when something needs them.
    const result: StepResult = { key, layers: imported.layers, added: imported.added };
    await this.remember(result);
    return result;
  }

  private async remember(result: StepResult): Promise<void> {
    const rec: CacheRecord = { version: 1, layers: result.layers, added: result.added, blobs: result.layers.map((l) => l.digest) };
    // A lost cache record only costs a rebuild: atomic, but no fsync.
    await this.deps.store.putRecord('cache', result.key, rec, { durable: false });
  }

  private image(ref: string): ResolvedImage {
    const img = this.deps.images[ref];
    if (!img) throw new InternalError(`image ${ref} was not resolved before the build`);
    return img;
  }

  private async view(layers: readonly LayerRef[]): Promise<LayeredFs> {
    const snaps = await Promise.all(layers.map((l) => this.snapshots.ensure(l)));
    return new LayeredFs(snaps);
  }

  private async compute(
    step: Step,
    inputs: StepResult[],
  ): Promise<{ result: StepResult; cached: boolean; usage?: { memoryPeak: number | null; cpuUsec: number | null } }> {
    switch (step.kind) {
      case 'source': {
        if (step.source.type === 'scratch') return { result: { key: cacheKey(step, [], []), layers: [], added: null }, cached: false };
        const img = this.image(step.source.ref);
        return { result: { key: cacheKey(step, [], [img.manifestDigest]), layers: img.layers, added: null }, cached: false };
      }
      case 'merge': {
        const key = cacheKey(step, inputs.map((i) => i.key), []);
        return { result: { key, layers: inputs.flatMap((i) => i.layers), added: null }, cached: false };
      }
      case 'copy':
        return this.copy(step, inputs);
      case 'exec':
        return this.exec(step, inputs);
      default:
        return assertNever(step);
    }
  }

  private async copy(step: CopyStep, inputs: StepResult[]): Promise<{ result: StepResult; cached: boolean }> {
    const parentResult = step.input === null ? null : (inputs[0] as StepResult);
    const fromResult = step.from.type === 'step' ? (inputs[step.input === null ? 0 : 1] as StepResult) : null;
    const parent = await this.view(parentResult?.layers ?? []);
    let source = null;
    let sourceIsContext = false;
    if (step.op !== 'mkdir' && step.sources.some((s) => s.type === 'path')) {
      if (step.from.type === 'context') {
        if (!this.contextFs) throw new StepProblem('TSB_STEP_BAD_SOURCE', 'this build has no context to copy from');
        source = this.contextFs;
        sourceIsContext = true;
      } else if (step.from.type === 'step') {
        source = await this.view((fromResult as StepResult).layers);
      } else {
        source = await this.view(this.image(step.from.ref).layers);
      }
    }
    const tmpDir = join(this.deps.store.root, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const downloads: string[] = [];
    try {
      const plan = await planCopyStep({
        step,
        source,
        sourceIsContext,
        parent,
        hasher: sourceIsContext ? this.hasher : null,
        fixedTime: this.fixedTime,
        fetchUrl: async (url) => {
          const got = await fetchUrl(url, tmpDir, step.checksum, this.opts.signal);
          downloads.push(got.hostPath);
          return got;
        },
      });
      for (const w of plan.warnings) this.opts.emit({ type: 'step-log', step: step.id, stream: 'stderr', data: `WARN: ${w}\n`, time: Date.now() });
      const inputKeys = [parentResult?.key, fromResult?.key].filter((k): k is CacheKey => k !== undefined);
      const contentDigests = [
        ...(step.from.type === 'image' ? [this.image(step.from.ref).manifestDigest] : []),
        ...digestLines(plan),
      ];
      const key = cacheKey(step, inputKeys, contentDigests);
      const hit = await this.lookup(step, key);
      if (hit) return { result: hit, cached: true };

      const base = parentResult?.layers ?? [];
      if (plan.empty) {
        const result = { key, layers: base, added: null };
        await this.remember(result);
        return { result, cached: false };
      }
      const layerOpts = {
        ...(this.opts.sourceDateEpoch !== undefined ? { sourceDateEpoch: this.opts.sourceDateEpoch } : {}),
        ...(this.opts.signal ? { signal: this.opts.signal } : {}),
      };
      let added: LayerRef;
      if (!plan.entries.some((e) => e.kind === 'archive')) {
        // The tar reads the sources where they are; the snapshot of this
        // layer is unpacked later only if a step needs its filesystem.
        const entries = await planToEntries(plan, parent, this.fixedTime);
        const written = await writeLayer((async function* () { yield* entries; })(), this.deps.store, layerOpts);
        added = { digest: written.digest, diffID: written.diffID, size: written.size, mediaType: written.mediaType };
      } else {
        const staging = await this.snapshots.stagingDir();
        try {
          await writePlan({ plan, parent, staging, fixedTime: this.fixedTime });
          const written = await writeLayer(walkDirectory(staging, {}), this.deps.store, layerOpts);
          added = { digest: written.digest, diffID: written.diffID, size: written.size, mediaType: written.mediaType };
          await this.snapshots.commit(staging, written.diffID, []);
        } catch (e) {
          await rm(staging, { recursive: true, force: true });
          throw e;
        }
      }
      const result = { key, layers: [...base, added], added };
      await this.remember(result);
      return { result, cached: false };
    } finally {
      await Promise.all(downloads.map((d) => rm(d, { force: true })));
    }
  }

  private async exec(
    step: ExecStep,
    inputs: StepResult[],
  ): Promise<{ result: StepResult; cached: boolean; usage?: { memoryPeak: number | null; cpuUsec: number | null } }> {
    const sandbox = this.deps.sandbox;
    if (!sandbox) throw new StepProblem('TSB_STEP_UNSUPPORTED', 'RUN needs the sandbox helper (native/tsbuild-sandbox), which is not available');
    const parent = inputs[0] as StepResult;
    const fromSteps = dependencies(step).slice(1);
    const fromKeys = fromSteps.map((id) => (this.results.get(id) as StepResult).key);
    const imageDigests = step.mounts.flatMap((m) => ('from' in m && m.from?.type === 'image' ? [this.image(m.from.ref).manifestDigest] : []));
    const key = cacheKey(step, [parent.key, ...fromKeys], imageDigests);
    const hit = await this.lookup(step, key);
    if (hit) return { result: hit, cached: true };
    const out = await runExecStep({
      step,
      parentLayers: parent.layers,
      store: this.deps.store,
      snapshots: this.snapshots,
      sandbox,
      limits: this.opts.limits ?? {},
      contextDir: this.opts.contextDir,
      secrets: this.opts.secrets ?? new Map(),
      ssh: this.opts.ssh ?? new Map(),
      sourceDateEpoch: this.opts.sourceDateEpoch,
      ...(this.opts.signal ? { signal: this.opts.signal } : {}),
      materialise: (from, source) => this.materialise(from, source),
      buildNetwork: () => (this.network ??= openBuildNetwork()).then((n) => n.path),
      log: (stream, data) => this.opts.emit({ type: 'step-log', step: step.id, stream, data, time: Date.now() }),
    });
    const result: StepResult = { key, layers: out.added ? [...parent.layers, out.added] : parent.layers, added: out.added };
    await this.remember(result);
    return { result, cached: false, usage: { memoryPeak: out.memoryPeak, cpuUsec: out.cpuUsec } };
  }

  /** A private host copy of `source` from a stage, image or the context (for bind mounts). */
  private async materialise(from: FileSource, source: string): Promise<{ dir: string; release(): Promise<void> }> {
    const dir = await this.snapshots.stagingDir();
    const release = (): Promise<void> => rm(dir, { recursive: true, force: true });
    try {
      let fs;
      if (from.type === 'context') {
        if (!this.contextFs) throw new StepProblem('TSB_STEP_BAD_SOURCE', 'this build has no context');
        fs = this.contextFs;
      } else if (from.type === 'step') {
        fs = await this.view((this.results.get(from.step) as StepResult).layers);
      } else {
        fs = await this.view(this.image(from.ref).layers);
      }
      const step: CopyStep = {
        kind: 'copy', id: '' as StepId, stage: 0, range: null, name: 'bind mount', input: null, op: 'copy',
        from: { type: 'context' }, sources: [{ type: 'path', path: source }], dest: '/', chown: null, chmod: null,
        link: false, parents: false, exclude: [], checksum: null, keepGitDir: false, unpack: false,
      };
      const empty = new LayeredFs([]);
      const plan = await planCopyStep({
        step, source: fs, sourceIsContext: from.type === 'context', parent: empty, hasher: null, fixedTime: this.fixedTime,
        fetchUrl: () => Promise.reject(new Error('unreachable')),
      });
      await writePlan({ plan, parent: empty, staging: dir, fixedTime: this.fixedTime });
      const only = plan.entries.length === 1 ? plan.entries[0] : undefined;
      // A single file is bound as that file, not as the directory holding it.
      return { dir: only && only.kind !== 'dir' ? join(dir, only.target) : dir, release };
    } catch (e) {
      await release();
      throw e;
    }
  }

  // --- the final image ----------------------------------------------------

  private stageHistory(index: number): { history: OciHistory[]; author: string | undefined } {
    const stage = this.graph.stages.find((s) => s.index === index);
    if (!stage) throw new InternalError(`stage ${index} is not planned`);
    let base: { history: OciHistory[]; author: string | undefined };
    if (stage.base.type === 'stage') {
      base = this.stageHistory(stage.base.index);
    } else {
      const src = this.step(stage.base.step);
      base = src.kind === 'source' && src.source.type === 'image'
        ? { history: this.image(src.source.ref).history, author: this.image(src.source.ref).author }
        : { history: [], author: undefined };
    }
    const layerSteps = stage.steps.map((id) => this.step(id)).filter((s) => s.kind === 'copy' || s.kind === 'exec');
    const withLayer = stage.history.filter((h) => !h.emptyLayer);
    if (layerSteps.length !== withLayer.length) {
      throw new InternalError(`stage ${index}: ${layerSteps.length} layer steps but ${withLayer.length} history entries`);
    }
    const created = this.opts.sourceDateEpoch !== undefined ? this.fixedTime.toISOString() : undefined;
    let n = 0;
    const own: OciHistory[] = stage.history.map((h) => {
      let empty = h.emptyLayer;
      if (!empty) {
        const s = layerSteps[n++] as Step;
        empty = (this.results.get(s.id)?.added ?? null) === null;
      }
      return {
        ...(created ? { created } : {}),
        created_by: h.createdBy,
        comment: 'buildkit.dockerfile.v0',
        ...(empty ? { empty_layer: true } : {}),
      };
    });
    return { history: [...base.history, ...own], author: stage.author ?? base.author };
  }

  private assembleImage(index: number): BuiltImage {
    const stage = this.graph.stages.find((s) => s.index === index);
    if (!stage) throw new InternalError(`target stage ${index} is not planned`);
    const result = this.results.get(stage.result);
    if (!result) throw new InternalError(`target stage ${index} has no result`);
    const { history, author } = this.stageHistory(index);
    const [os = 'linux', architecture = 'amd64', variant] = stage.platform.split('/');
    const platform: ImagePlatform = variant ? { os, architecture, variant } : { os, architecture };
    return {
      layers: result.layers,
      config: stage.config,
      history,
      platform,
      ...(author ? { author } : {}),
      ...(this.opts.sourceDateEpoch !== undefined ? { created: this.fixedTime.toISOString() } : {}),
    };
  }
}

export function dependencies(step: Step): StepId[] {
  switch (step.kind) {
    case 'source':
      return [];
    case 'exec': {
      const deps = [step.input];
      for (const m of step.mounts) if ('from' in m && m.from && m.from.type === 'step') deps.push(m.from.step);
      return deps;
    }
    case 'copy': {
      const deps: StepId[] = [];
      if (step.input !== null) deps.push(step.input);
      if (step.from.type === 'step') deps.push(step.from.step);
      return deps;
    }
    case 'merge':
      return step.inputs;
    default:
      return assertNever(step);
  }
}
