// The image a container runs, and its files: resolved through src/image
// and executor/ the first time, then memoised under <root>/run-cache/ so
// the next `run` of the same image reads two small files instead of
// loading the image and build machinery (which alone takes longer to load
// than a whole `run --rm IMAGE true` may take). Every memoised fact is a
// pure function of immutable inputs, so entries never go stale:
//
//   refs.json            "<platform>|<text>" → canonical tag name (reference parsing)
//   <manifest hex>[-<platform>].json
//                        image ID, config and layers (content-addressed blobs),
//                        the layer snapshot directories (checked to exist on
//                        use; snapshots are never rewritten), and users
//                        resolved against those layers
//
// A tag is still read from the store on every run, so a retag or rmi is
// seen at once. Only tags pointing at a single manifest take the fast path.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { ImageConfig } from '../../parser/index.js';
import type { ImagePlatform, LayerRef, RunUser, SourceFs } from '../../executor/index.js';
import type { ContentStore } from '../store/index.js';
import { readJsonFile, writeJsonAtomic } from './atomic-json.js';
import type { ContainerImage } from './container-config.js';
import { ContainerError } from './errors.js';

export interface RunImage extends ContainerImage {
  config: ImageConfig;
  layers: LayerRef[];
}

interface CachedImage {
  id: string;
  ref: string;
  config: ImageConfig;
  layers: LayerRef[];
  lowerDirs: string[] | null;
  users: Record<string, RunUser>;
}

const MANIFEST_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);

export interface RunImageOptions {
  /** --platform, when given. */
  platform: ImagePlatform | null;
  /** Brings the image into the store when it is not local (tsbuild pull). */
  pull(): Promise<void>;
  /** Called before a pull. */
  onMissing(): void;
}

function platformKey(p: ImagePlatform | null): string {
  return p === null ? '' : [p.os, p.architecture, p.variant].filter((x) => x !== undefined).join('-');
}

export class RunImageCache {
  readonly dir: string;
  constructor(root: string) {
    this.dir = join(root, 'run-cache');
  }

  #refsFile(): string {
    return join(this.dir, 'refs.json');
  }

  #imageFile(manifestDigest: string, platform: string): string {
    return join(this.dir, `${manifestDigest.replace(/^sha256:/, '')}${platform === '' ? '' : `-${platform}`}.json`);
  }

  #read<T>(file: string): T | null {
    try {
      return readJsonFile<T>(file);
    } catch {
      return null; // torn or foreign: a miss
    }
  }

  async #write(file: string, value: unknown): Promise<void> {
    try {
      await mkdir(this.dir, { recursive: true });
      await writeJsonAtomic(file, value);
    } catch {
      // a cache that cannot be written is only slower
    }
  }

  canonical(text: string, platform: string): string | null {
    return this.#read<Record<string, string>>(this.#refsFile())?.[`${platform}|${text}`] ?? null;
  }

  async rememberCanonical(text: string, platform: string, name: string): Promise<void> {
    const refs = this.#read<Record<string, string>>(this.#refsFile()) ?? {};
    if (refs[`${platform}|${text}`] === name) return;
    refs[`${platform}|${text}`] = name;
    await this.#write(this.#refsFile(), refs);
  }

  image(manifestDigest: string, platform: string): CachedImage | null {
    return this.#read<CachedImage>(this.#imageFile(manifestDigest, platform));
  }

  async rememberImage(manifestDigest: string, platform: string, entry: CachedImage): Promise<void> {
    await this.#write(this.#imageFile(manifestDigest, platform), entry);
  }
}

/** The local (or pulled) image `text` names. */
export async function resolveRunImage(store: ContentStore, cache: RunImageCache, text: string, opts: RunImageOptions): Promise<RunImage> {
  const pk = platformKey(opts.platform);
  const name = cache.canonical(text, pk);
  if (name !== null) {
    const tag = await store.getTag(name).catch(() => null);
    if (tag !== null && MANIFEST_TYPES.has(tag.target.mediaType)) {
      const hit = cache.image(tag.target.digest, pk);
      if (hit !== null) return { text, ref: name, id: hit.id, manifestDigest: tag.target.digest, config: hit.config, layers: hit.layers };
    }
  }
  // The slow way, through src/image (and the registry's reference parsing).
  const { findLocalImage, readImage, toResolvedImage } = await import('../image/index.js');
  const readOpts = opts.platform === null ? {} : { platform: opts.platform };
  const notFound = (why: string, cause?: unknown): ContainerError =>
    new ContainerError('TSB_RUN_IMAGE_NOT_FOUND', `unable to find image "${text}": ${why}`, cause === undefined ? undefined : { cause });
  let hit;
  try {
    hit = await findLocalImage(store, text, readOpts);
  } catch (err) {
    throw notFound((err as Error).message, err);
  }
  if (hit === null) {
    opts.onMissing();
    try {
      await opts.pull();
    } catch (err) {
      throw notFound(`not in the local store, and the pull failed: ${(err as Error).message}`, err);
    }
    hit = await findLocalImage(store, text, readOpts);
    if (hit === null) throw notFound('not in the local store after the pull');
  }
  const details = await readImage(store, hit.target, readOpts);
  const ref = hit.matchedName ?? hit.names[0] ?? details.configDescriptor.digest;
  const resolved = toResolvedImage(ref, details);
  const image: RunImage = {
    text,
    ref,
    id: details.configDescriptor.digest,
    manifestDigest: details.manifestDigest,
    config: resolved.config,
    layers: resolved.layers,
  };
  if (hit.matchedName !== null && MANIFEST_TYPES.has(hit.target.mediaType)) {
    const prev = cache.image(image.manifestDigest, pk);
    await cache.rememberImage(image.manifestDigest, pk, {
      id: image.id,
      ref,
      config: image.config,
      layers: image.layers,
      lowerDirs: prev?.lowerDirs ?? null,
      users: prev?.users ?? {},
    });
    await cache.rememberCanonical(text, pk, hit.matchedName);
  }
  return image;
}

/** What a container needs from the image's layers. */
export interface ImageFiles {
  /** Snapshot directories, top first. */
  lowerDirs: string[];
  user(spec: string): Promise<RunUser>;
  /** The merged layers as a file tree (to seed volumes). */
  fs(): Promise<SourceFs>;
}

/**
 * The image's layers unpacked (once per root, shared with builds) and
 * their opaque markers set, memoised as above.
 */
export async function imageFiles(store: ContentStore, cache: RunImageCache, image: RunImage, platform: ImagePlatform | null): Promise<ImageFiles> {
  const pk = platformKey(platform);
  const entry = cache.image(image.manifestDigest, pk);
  let lowerDirs = entry?.lowerDirs ?? null;
  if (lowerDirs !== null && !lowerDirs.every((d) => existsSync(d))) lowerDirs = null;

  let unpacked: Promise<{ dirs: string[]; fs: SourceFs }> | null = null;
  const unpack = (): Promise<{ dirs: string[]; fs: SourceFs }> =>
    (unpacked ??= (async () => {
      const { Snapshots, LayeredFs } = await import('../../executor/index.js');
      const { setOpaque } = await import('../../executor/sandbox/index.js');
      const snapshots = new Snapshots(store);
      const snaps = await Promise.all(image.layers.map((l) => snapshots.ensure(l)));
      await snapshots.markOpaque(snaps, (paths) => setOpaque(paths));
      return { dirs: snaps.map((s) => s.dir).reverse(), fs: new LayeredFs(snaps) };
    })());

  const users: Record<string, RunUser> = { ...(entry?.users ?? {}) };
  const remember = (dirs: string[]): Promise<void> =>
    cache.rememberImage(image.manifestDigest, pk, { id: image.id, ref: image.ref, config: image.config, layers: image.layers, lowerDirs: dirs, users });
  if (lowerDirs === null) {
    lowerDirs = (await unpack()).dirs;
    await remember(lowerDirs);
  }
  const dirs = lowerDirs;
  return {
    lowerDirs: dirs,
    fs: async () => (await unpack()).fs,
    user: async (spec) => {
      const known = users[spec];
      if (known !== undefined) return known;
      const { resolveRunUser } = await import('../../executor/index.js');
      let user: RunUser;
      try {
        user = await resolveRunUser(spec, (await unpack()).fs);
      } catch (err) {
        if ((err as { code?: string }).code === 'TSB_STEP_UNKNOWN_USER') {
          throw new ContainerError('TSB_RUN_UNKNOWN_USER', (err as Error).message, { cause: err });
        }
        throw err;
      }
      users[spec] = user;
      await remember(dirs);
      return user;
    },
  };
}
