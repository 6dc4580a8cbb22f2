// The build proper: resolve the images the plan names (the local store,
// else their registry: see build-remote.ts), re-plan with their configs,
// execute, and write the image, its tags, pushes and cache exports.
import { join } from 'node:path';
import { cpus } from 'node:os';
import {
  createIgnoreMatcher,
  parseDockerfile,
  planBuild,
  readDockerignore,
  type BaseImage,
  type BuildGraph,
  type Dockerfile,
  type PlanOptions,
} from '../../parser/index.js';
import { executeGraph, type ResolvedImage, type RunLimits, type SecretSource } from '../../executor/index.js';
import { createSandboxRunner, findSandboxBinary } from '../../executor/sandbox/index.js';
import { parseReference } from '../../registry/index.js';
import { openStore, type ContentStore } from '../store/index.js';
import { writeImage, type WrittenImage } from '../image/write-image.js';
import { resolveOciLayoutImage } from '../image/oci-layout.js';
import { parseOutputSpecs, writeOutputs } from '../image/outputs.js';
import { writeImageIdFile, writeMetadataFile } from '../image/metadata-file.js';
import { CliError } from '../errors.js';
import { createRenderer, type ProgressMode } from '../render/progress.js';
import type { Io } from '../io.js';
import type { BuildOptions } from './build.js';
import { applyPush, BuildRemote, checkPushNames, type BuildRemoteOptions } from './build-remote.js';

/** Every image reference the plan uses: FROM bases and --from / from= images. */
export function imageRefs(graph: BuildGraph): string[] {
  const refs = new Set<string>();
  for (const step of Object.values(graph.steps)) {
    if (step.kind === 'source' && step.source.type === 'image') refs.add(step.source.ref);
    if (step.kind === 'copy' && step.from.type === 'image') refs.add(step.from.ref);
    if (step.kind === 'exec') {
      for (const m of step.mounts) if ('from' in m && m.from?.type === 'image') refs.add(m.from.ref);
    }
  }
  return [...refs].sort();
}

async function resolveImages(store: ContentStore, refs: string[], platform: string, contextDir: string, remote: BuildRemote): Promise<Map<string, ResolvedImage>> {
  const [os = 'linux', architecture = 'amd64', variant] = platform.split('/');
  const plat = variant ? { os, architecture, variant } : { os, architecture };
  const out = new Map<string, ResolvedImage>();
  for (const ref of refs) {
    // oci-layout:// paths are relative to the context, like BuildKit's named contexts
    const img = ref.startsWith('oci-layout://')
      ? await resolveOciLayoutImage(store, ref, { baseDir: contextDir, platform: plat })
      : await remote.resolveImage(ref, plat);
    out.set(ref, img);
  }
  return out;
}

export interface BuildResult {
  image: WrittenImage;
  tags: string[];
  graph: BuildGraph;
}

export interface RunBuildOptions extends BuildOptions {
  root: string;
  progress: ProgressMode;
  tags: string[];
  noCache: boolean;
  noCacheFilter: string[];
  jobs: number | undefined;
  quiet: boolean;
  outputs: string[];
  iidfile: string | undefined;
  metadataFile: string | undefined;
  limits: RunLimits;
  secrets: Map<string, SecretSource>;
  ssh: Map<string, string>;
  remote: BuildRemoteOptions;
}

export async function runBuild(opts: RunBuildOptions, df: Dockerfile, planOptions: PlanOptions, io: Io): Promise<BuildResult> {
  const tags = opts.tags.map((t) => parseReference(t).canonical());
  // Outputs are checked before any work, so a bad --output costs nothing.
  const outputs = applyPush(parseOutputSpecs(opts.outputs), opts.remote.push);
  checkPushNames(outputs, tags);
  const store = await openStore(opts.root);
  const renderer = createRenderer(opts.quiet ? 'quiet' : opts.progress, io.errStream, io.err);
  const remote = new BuildRemote(store, opts.remote, {
    note: (t) => renderer.note(t),
    event: (e) => renderer.onEvent(e),
    ...(io.signal ? { signal: io.signal } : {}),
  });
  try {
    const firstPlan = planBuild(df, planOptions);
    const platform = firstPlan.stages.find((s) => s.index === firstPlan.target)?.platform ?? 'linux/amd64';
    const images = await resolveImages(store, imageRefs(firstPlan), platform, opts.contextDir, remote);
    const bases: Record<string, BaseImage> = {};
    const byRef: Record<string, ResolvedImage> = {};
    for (const [text, img] of images) {
      bases[text] = { ref: img.ref, digest: img.manifestDigest, config: img.config, platform: `${img.platform.os}/${img.platform.architecture}` };
      byRef[text] = img;
      byRef[img.ref] = img;
    }
    const graph = images.size > 0 ? planBuild(df, { ...planOptions, bases }) : firstPlan;

    const noCacheStages = new Set<number>();
    for (const name of opts.noCacheFilter) {
      const stage = df.stages.find((s) => s.from.stageName?.toLowerCase() === name.toLowerCase() || String(s.index) === name);
      if (!stage) throw new CliError('TSB_CLI_USAGE', `--no-cache-filter: no stage named "${name}"`);
      noCacheStages.add(stage.index);
    }
    const ignore = readDockerignore(opts.contextDir, opts.dockerfile.path === '-' ? join(opts.contextDir, 'Dockerfile') : opts.dockerfile.path);
    const sde = io.env.SOURCE_DATE_EPOCH ?? opts.buildArgs['SOURCE_DATE_EPOCH'];
    if (sde !== undefined && !/^\d+$/.test(sde)) throw new CliError('TSB_CLI_USAGE', `invalid SOURCE_DATE_EPOCH "${sde}": expected seconds since the epoch`);

    // The sandbox is looked for only when the build has RUN steps, so a
    // COPY-only build works without the native helper.
    const needsSandbox = Object.values(graph.steps).some((s) => s.kind === 'exec');
    const sandbox = needsSandbox ? (findSandboxBinary(), createSandboxRunner()) : undefined;
    await remote.importCaches();
    const outcome = await executeGraph(graph, { store, images: byRef, ...(sandbox ? { sandbox } : {}), ...remote.executorDeps() }, {
      limits: opts.limits,
      secrets: opts.secrets,
      ssh: opts.ssh,
      contextDir: opts.contextDir,
      ignore: ignore ? createIgnoreMatcher(ignore.patterns) : null,
      noCache: opts.noCache,
      noCacheStages,
      jobs: opts.jobs ?? cpus().length,
      sourceDateEpoch: sde === undefined ? undefined : Number(sde),
      ...(io.signal ? { signal: io.signal } : {}),
      emit: (e) => renderer.onEvent(e),
    });
    renderer.note('exporting to image');
    await remote.prepareExport(outcome.image.layers, outputs, tags);
    const image = await writeImage(store, outcome.image, { allowMissing: remote.allowMissing });
    renderer.note(`writing image ${image.config.digest} done`);
    await writeOutputs(store, image, outputs, tags, { stdout: io.stdout, push: (names) => remote.push(image, names) });
    for (const t of tags) renderer.note(`naming to ${t} done`);
    for (const o of outputs) renderer.note(`exporting to ${o.type}${'dest' in o && o.dest ? ` ${o.dest}` : ''} done`);
    await remote.exportCaches(graph, outcome.results);
    if (opts.iidfile) await writeImageIdFile(opts.iidfile, image);
    if (opts.metadataFile) await writeMetadataFile(opts.metadataFile, image, tags);
    return { image, tags, graph };
  } finally {
    renderer.done();
    await remote.close();
  }
}

export function parseJobs(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) < 1) throw new CliError('TSB_CLI_USAGE', `invalid --jobs "${text}": expected a positive integer`);
  return Number(text);
}

export { parseDockerfile };
