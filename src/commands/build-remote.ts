// What `tsbuild build` does with registries and caches, kept out of the
// build's main line (run-build.ts):
//
//   FROM / COPY --from / --mount from=  a name not in the local store is
//        resolved from its registry: manifest and config are pulled and the
//        name recorded locally, the layers stay remote (LazyBlobs) until a
//        step needs the filesystem or the image is exported
//   --cache-from  records offered to the executor after its own
//   export       missing layers are fetched before the image is written,
//        except when every output is a push to a registry that can mount
//        them (it already serves them in another repository)
//   --push / push=true  every name pushed to its registry, mounting from
//        the repositories the layers came from
//   --cache-to   records of the final image's steps (min) or all (max)
import {
  parseReference,
  tryParseReference,
  type ImageReference,
  type RegistryOptions,
  type TransferProgress,
} from '../../registry/index.js';
import type { BuildGraph, StepId } from '../../parser/index.js';
import type { BuildEvent, ExecutorDeps, StepResult } from '../../executor/index.js';
import type { ImagePlatform, LayerRef, ResolvedImage } from '../../executor/types.js';
import { list, type FlagValues } from '../cli/command-line.js';
import { CliError, isCodedError } from '../errors.js';
import { resolveLocalImage } from '../image/resolve-local-image.js';
import { toResolvedImage } from '../image/read-image.js';
import type { OutputSpec } from '../image/outputs.js';
import type { WrittenImage } from '../image/write-image.js';
import { humanSize } from '../render/human-units.js';
import type { ContentStore, Digest } from '../store/index.js';
import { exportCache, collectRecords } from '../build-cache/cache-export.js';
import { ImportedCache, importCache } from '../build-cache/cache-import.js';
import { cacheLabel, parseCacheFrom, parseCacheTo, type CacheExportSpec, type CacheImportSpec } from '../build-cache/cache-spec.js';
import { LazyBlobs } from '../remote/lazy-blobs.js';
import { pullImageMetadata } from '../remote/pull-remote.js';
import { pushLocalImage } from '../remote/push-local.js';
import { resolveRegistryOptions } from '../remote/registry-options.js';
import { RegistrySession } from '../remote/registry-session.js';

export interface BuildRemoteOptions {
  registry: RegistryOptions;
  /** --push */
  push: boolean;
  cacheTo: CacheExportSpec[];
  cacheFrom: CacheImportSpec[];
}

export function parseBuildRemote(values: FlagValues, env: NodeJS.ProcessEnv, cwd: string = process.cwd()): BuildRemoteOptions {
  return {
    registry: resolveRegistryOptions(values, env),
    push: values['push'] === true,
    cacheTo: list(values, 'cache-to').map((s) => parseCacheTo(s, cwd)),
    cacheFrom: list(values, 'cache-from').map((s) => parseCacheFrom(s, cwd)),
  };
}

/** --push: push=true on the image outputs, or an image output that pushes when there is none. */
export function applyPush(outputs: readonly OutputSpec[], push: boolean): OutputSpec[] {
  if (!push) return [...outputs];
  if (outputs.some((o) => o.type === 'image')) return outputs.map((o) => (o.type === 'image' ? { ...o, push: true } : o));
  return [...outputs, { type: 'image', names: [], push: true }];
}

/** A push needs somewhere to go: refuse it before any work rather than after the build. */
export function checkPushNames(outputs: readonly OutputSpec[], tags: readonly string[]): void {
  if (tags.length > 0) return;
  if (outputs.some((o) => o.type === 'image' && o.push && o.names.length === 0)) {
    throw new CliError('TSB_CLI_USAGE', 'pushing needs a name: give -t NAME (or name= in --output)');
  }
}

export interface BuildRemoteHooks {
  /** A progress line (renderer.note). */
  note(text: string): void;
  /** A build event (pull-progress). */
  event(e: BuildEvent): void;
  signal?: AbortSignal;
}

function shortDigest(d: string): string {
  return d.replace(/^sha256:/, '').slice(0, 12);
}

export class BuildRemote {
  readonly session: RegistrySession;
  readonly lazy: LazyBlobs;
  readonly imported = new ImportedCache();
  readonly #allowMissing = new Set<string>();
  /** Repositories (`registry/repo`) known to hold some of this build's blobs, in the order learned. */
  readonly #originNames: string[] = [];
  #finalLayers: readonly LayerRef[] = [];

  constructor(
    private readonly store: ContentStore,
    private readonly options: BuildRemoteOptions,
    private readonly hooks: BuildRemoteHooks,
  ) {
    this.session = new RegistrySession(options.registry, store, (e) => this.#progress(e), hooks.signal);
    this.lazy = new LazyBlobs(store, {
      onFetched: (d, origin, ms) => hooks.note(`pulled ${shortDigest(d.digest)} ${humanSize(d.size)} from ${origin.label} ${(ms / 1000).toFixed(1)}s done`),
    });
  }

  #progress(e: TransferProgress): void {
    if (e.status === 'downloading' || e.status === 'downloaded') {
      this.hooks.event({ type: 'pull-progress', digest: e.digest, current: e.current, total: e.total, time: Date.now() });
    }
  }

  #signal(): { signal?: AbortSignal } {
    return this.hooks.signal === undefined ? {} : { signal: this.hooks.signal };
  }

  /** Remember that the repository `refText` names holds `layers` (when it is a registry reference). */
  #registerOrigin(refText: string, layers: readonly LayerRef[]): void {
    const ref = refText.startsWith('sha256:') ? null : tryParseReference(refText);
    if (ref === null) return;
    this.lazy.add(this.session.origin(ref), layers);
    if (!this.#originNames.includes(ref.name())) this.#originNames.push(ref.name());
  }

  /** A FROM / --from image: the local store first (docker's rule), then its registry. */
  async resolveImage(text: string, platform: ImagePlatform): Promise<ResolvedImage> {
    const local = await resolveLocalImage(this.store, text, { platform });
    if (local !== null) {
      // A base an earlier build pulled without its layers still lacks them.
      this.#registerOrigin(local.ref, local.layers);
      return local;
    }
    const ref = parseReference(text);
    const start = Date.now();
    const pulled = await pullImageMetadata(this.store, this.session, ref, { platform, ...this.#signal() });
    this.hooks.note(`load metadata for ${ref.canonical()} ${((Date.now() - start) / 1000).toFixed(1)}s done`);
    const image = toResolvedImage(pulled.name, pulled.details);
    this.#registerOrigin(pulled.name, image.layers);
    return image;
  }

  /** --cache-from: each source that cannot be read is a warning, as in buildx. */
  async importCaches(): Promise<void> {
    for (const spec of this.options.cacheFrom) {
      const label = cacheLabel(spec);
      try {
        const n = await importCache(spec, this.imported, { store: this.store, lazy: this.lazy, session: this.session, ...this.#signal() });
        if (spec.type === 'registry' && !this.#originNames.includes(spec.ref.name())) this.#originNames.push(spec.ref.name());
        this.hooks.note(`importing cache manifest from ${label}: ${n} records done`);
      } catch (err) {
        if (this.hooks.signal?.aborted === true || !isCodedError(err)) throw err;
        this.hooks.note(`WARNING: importing cache from ${label} failed: ${err.message} (${err.code})`);
      }
    }
  }

  /** What the executor gets: lazy layer fetches, and the imported records. */
  executorDeps(): Pick<ExecutorDeps, 'fetchBlob' | 'cacheSource'> {
    return {
      fetchBlob: (layer) => this.lazy.ensure(layer.digest),
      ...(this.options.cacheFrom.length > 0 ? { cacheSource: this.imported } : {}),
    };
  }

  /**
   * Before writeImage: fetch the final image's missing layers where an
   * output needs their bytes. Not needed: type=cacheonly, and a push whose
   * every destination registry already serves the layer in another
   * repository (it is mounted there, never downloaded). The local store
   * output (type=image without push) keeps complete images.
   */
  async prepareExport(layers: readonly LayerRef[], outputs: readonly OutputSpec[], tags: readonly string[]): Promise<void> {
    this.#finalLayers = layers;
    const missing = await this.lazy.missing(layers.map((l) => l.digest));
    if (missing.length === 0) return;
    const local = outputs.length === 0 || outputs.some((o) => o.type !== 'cacheonly' && !(o.type === 'image' && o.push));
    const registries = new Set<string>();
    for (const o of outputs) {
      if (o.type !== 'image') continue;
      for (const n of o.names.length > 0 ? o.names : tags) registries.add(parseReference(n).registry);
    }
    const fetch: string[] = [];
    for (const d of missing) {
      const holders = this.lazy.origins(d);
      const mountable = [...registries].every((r) => holders.some((o) => o.registry === r));
      if (!local && mountable) this.#allowMissing.add(d);
      else fetch.push(d);
    }
    await this.lazy.ensureAll(fetch);
  }

  /** For writeImage: layers left remote on purpose by prepareExport. */
  readonly allowMissing = (digest: Digest): boolean => this.#allowMissing.has(digest);

  /** The repository on `ref.registry` holding most of the image's layers (not `ref`'s own). */
  #mountFrom(ref: ImageReference): string | undefined {
    const votes = new Map<string, number>();
    for (const l of this.#finalLayers) {
      for (const o of this.lazy.origins(l.digest)) {
        if (o.registry !== ref.registry || o.repository === undefined || o.repository === ref.repository) continue;
        votes.set(o.repository, (votes.get(o.repository) ?? 0) + 1);
      }
    }
    let best: string | undefined;
    for (const [repo, n] of votes) if (best === undefined || n > (votes.get(best) ?? 0)) best = repo;
    return best;
  }

  /** type=image,push=true: every name, to its registry. */
  async push(image: WrittenImage, names: readonly string[]): Promise<void> {
    const start = Date.now();
    const results = await pushLocalImage(this.store, this.session, this.lazy, image.manifest, names, {
      mountFrom: (ref) => this.#mountFrom(ref),
      ...this.#signal(),
    });
    for (const r of results) {
      const count = (o: string): number => r.blobs.filter((b) => b.outcome === o).length;
      const name = r.reference.slice(0, r.reference.lastIndexOf('@'));
      this.hooks.note(
        `pushing ${r.tags.map((t) => `${name}:${t}`).join(', ')} ${r.digest}: ${count('uploaded')} uploaded, ${count('mounted')} mounted, ${count('exists')} already there ${((Date.now() - start) / 1000).toFixed(1)}s done`,
      );
    }
  }

  /** --cache-to: a failure fails the build unless ignore-error=true. */
  async exportCaches(graph: BuildGraph, results: ReadonlyMap<StepId, StepResult>): Promise<void> {
    for (const spec of this.options.cacheTo) {
      const label = cacheLabel(spec);
      try {
        const r = await exportCache(spec, collectRecords(graph, results, spec.mode), {
          store: this.store,
          lazy: this.lazy,
          session: this.session,
          mountCandidates: this.#originNames,
          ...this.#signal(),
        });
        this.hooks.note(`exporting cache to ${label} (mode=${spec.mode}): ${r.records} records, ${r.layers} layers, manifest ${r.digest} done`);
      } catch (err) {
        if (!spec.ignoreError || this.hooks.signal?.aborted === true || !isCodedError(err)) throw err;
        this.hooks.note(`WARNING: exporting cache to ${label} failed: ${err.message} (${err.code})`);
      }
    }
  }

  close(): Promise<void> {
    return this.session.close();
  }
}
