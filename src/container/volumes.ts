// Volumes: <root>/volumes/<name>/_data plus meta.json. A volume is created
// on first use (mkdir is the atomic claim) and seeded from the image's
// content at its mount point, as docker does for an empty new volume; it
// outlives its containers until `volume rm` (anonymous ones also go with
// `rm -v` and `--rm`).
import { existsSync } from 'node:fs';
import { chmod, copyFile, lchown, lutimes, mkdir, readdir, rm, symlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SourceFs } from '../../executor/index.js';
import { readJsonFile, writeJsonAtomic } from './atomic-json.js';
import { ContainerError } from './errors.js';
import { volumesDir } from './layout.js';

export interface VolumeMeta {
  name: string;
  created: string;
  anonymous: boolean;
}

export function volumePaths(root: string, name: string): { dir: string; data: string; meta: string } {
  const dir = join(volumesDir(root), name);
  return { dir, data: join(dir, '_data'), meta: join(dir, 'meta.json') };
}

async function copyEntry(fs: SourceFs, rel: string, dest: string, isRoot: boolean): Promise<void> {
  const info = await fs.lstat(rel);
  if (info === null) return;
  switch (info.type) {
    case 'directory': {
      if (!isRoot) await mkdir(dest);
      for (const name of await fs.readdir(rel)) await copyEntry(fs, `${rel}/${name}`, join(dest, name), false);
      await lchown(dest, info.uid, info.gid);
      await chmod(dest, info.mode);
      await utimes(dest, info.mtime, info.mtime);
      return;
    }
    case 'file':
      await copyFile(info.hostPath, dest);
      await lchown(dest, info.uid, info.gid);
      await chmod(dest, info.mode);
      await utimes(dest, info.mtime, info.mtime);
      return;
    case 'symlink':
      await symlink(await fs.readlink(rel), dest);
      await lchown(dest, info.uid, info.gid);
      await lutimes(dest, info.mtime, info.mtime);
      return;
    case 'char':
    case 'block':
    case 'fifo':
    case 'socket':
      return; // device nodes and the like are not copied into volumes
  }
}

/** Copies the image's directory at `target` (symlinks resolved inside the image) into `data`. */
async function seed(image: SourceFs, target: string, data: string): Promise<void> {
  const { resolveInRoot } = await import('../../executor/index.js');
  const rel = await resolveInRoot(image, target.replace(/^\/+/, ''), true);
  const info = await image.lstat(rel);
  if (info === null || info.type !== 'directory') return;
  await copyEntry(image, rel, data, true);
}

/**
 * The volume `name`, created (and seeded from the image's files at
 * `target` unless `image` is null) when it does not exist yet. Returns its
 * data directory.
 */
export async function ensureVolume(
  root: string,
  name: string,
  opts: { anonymous: boolean; image: (() => Promise<SourceFs>) | null; target: string },
): Promise<string> {
  const p = volumePaths(root, name);
  await mkdir(volumesDir(root), { recursive: true });
  try {
    await mkdir(p.dir, { mode: 0o755 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // Another run may be seeding it right now: its meta.json comes last.
    for (let i = 0; i < 200 && !existsSync(p.meta); i++) await sleep(50);
    return p.data;
  }
  try {
    await mkdir(p.data, { mode: 0o755 });
    if (opts.image !== null) await seed(await opts.image(), opts.target, p.data);
    const meta: VolumeMeta = { name, created: new Date().toISOString(), anonymous: opts.anonymous };
    await writeJsonAtomic(p.meta, meta);
  } catch (err) {
    await rm(p.dir, { recursive: true, force: true });
    throw new ContainerError('TSB_RUN_INVALID_VOLUME', `cannot create volume ${name}: ${(err as Error).message}`, { cause: err });
  }
  return p.data;
}

export async function listVolumes(root: string): Promise<VolumeMeta[]> {
  let names: string[];
  try {
    names = await readdir(volumesDir(root));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: VolumeMeta[] = [];
  for (const name of names.sort()) {
    try {
      const meta = readJsonFile<VolumeMeta>(volumePaths(root, name).meta);
      if (meta !== null) out.push(meta);
    } catch {
      // half-made or damaged: not listed
    }
  }
  return out;
}

export function volumeExists(root: string, name: string): boolean {
  return existsSync(volumePaths(root, name).dir);
}

export async function removeVolumeDir(root: string, name: string): Promise<void> {
  await rm(volumePaths(root, name).dir, { recursive: true, force: true });
}

