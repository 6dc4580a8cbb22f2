// buildInline: write a context from an inline file tree, run the real
// frontend and executor against a real store in a temp root, and return the
// image, the events and the final filesystem (layers applied in order).
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { onTestFinished } from 'vitest';
import { executeGraph, type BuildEvent, type BuildOutcome, type ResolvedImage, type RunLimits, type SandboxRunner, type SecretSource } from '../../executor/index.js';
import { applyLayer } from '../../executor/layer/index.js';
import { createIgnoreMatcher, parseDockerfile, planBuild, readDockerignore, type PlanOptions } from '../../parser/index.js';
import { openStore, type ContentStore } from '../../src/store/index.js';

export type InlineFile = string | { content: string; mode?: number } | { symlink: string };

export async function tempDir(prefix = 'tsbuild-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function writeTree(dir: string, files: Record<string, InlineFile>): Promise<void> {
  for (const [name, f] of Object.entries(files)) {
    const path = join(dir, name);
    await mkdir(dirname(path), { recursive: true });
    if (name.endsWith('/')) {
      await mkdir(path, { recursive: true });
    } else if (typeof f === 'string') {
      await writeFile(path, f);
    } else if ('symlink' in f) {
      await symlink(f.symlink, path);
    } else {
      await writeFile(path, f.content);
      if (f.mode !== undefined) await chmod(path, f.mode);
    }
  }
}

export interface InlineOptions extends Omit<PlanOptions, 'bases'> {
  sandbox?: SandboxRunner;
  limits?: RunLimits;
  secrets?: Map<string, SecretSource>;
  signal?: AbortSignal;
  root?: string;
  contextDir?: string;
  images?: Record<string, ResolvedImage>;
  noCache?: boolean;
  jobs?: number;
  sourceDateEpoch?: number;
}

export interface InlineBuild extends BuildOutcome {
  events: BuildEvent[];
  store: ContentStore;
  root: string;
  contextDir: string;
  rootfs(): Promise<string>;
}

export async function buildInline(files: Record<string, InlineFile>, opts: InlineOptions = {}): Promise<InlineBuild> {
  const contextDir = opts.contextDir ?? (await tempDir('tsbuild-ctx-'));
  // buildInline with both root and contextDir given never calls tempDir, so
  // it also works from beforeAll hooks.
  if (!opts.contextDir) await writeTree(contextDir, files);
  const root = opts.root ?? (await tempDir('tsbuild-root-'));
  const store = await openStore(root);
  const text = typeof files['Dockerfile'] === 'string' ? files['Dockerfile'] : '';
  const df = parseDockerfile(text);
  const bases = Object.fromEntries(Object.entries(opts.images ?? {}).map(([k, v]) => [k, { ref: v.ref, digest: v.manifestDigest, config: v.config }]));
  const graph = planBuild(df, { ...opts, bases });
  const ignore = readDockerignore(contextDir, join(contextDir, 'Dockerfile'));
  const events: BuildEvent[] = [];
  // The plan names images by their canonical ref; key them both ways, as src/ does.
  const images: Record<string, ResolvedImage> = {};
  for (const [k, v] of Object.entries(opts.images ?? {})) images[k] = images[v.ref] = v;
  const outcome = await executeGraph(graph, { store, images, ...(opts.sandbox ? { sandbox: opts.sandbox } : {}) }, {
    ...(opts.limits ? { limits: opts.limits } : {}),
    ...(opts.secrets ? { secrets: opts.secrets } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
    contextDir,
    ignore: ignore ? createIgnoreMatcher(ignore.patterns) : null,
    noCache: opts.noCache ?? false,
    noCacheStages: new Set(),
    jobs: opts.jobs ?? 4,
    sourceDateEpoch: opts.sourceDateEpoch,
    emit: (e) => events.push(e),
  });
  return {
    ...outcome,
    events,
    store,
    root,
    contextDir,
    async rootfs() {
      const dir = await tempDir('tsbuild-rootfs-');
      // (called from tests only: tempDir registers the cleanup)
      for (const layer of outcome.image.layers) {
        await applyLayer(createReadStream(store.blobPath(layer.digest)), dir, { whiteouts: 'apply', allowDevices: true });
      }
      return dir;
    },
  };
}
