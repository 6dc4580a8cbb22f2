// The containers of a root: creating a record (directory, config, state,
// and a unique name), listing them, finding one by ID, name or ID prefix
// (docker's order), and removing the record.
import { existsSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readJsonFile, writeJsonAtomic } from './atomic-json.js';
import type { ContainerConfig } from './container-config.js';
import { initialState, readState, type ContainerState } from './container-state.js';
import { isContainerId } from './container-id.js';
import { ContainerError } from './errors.js';
import { withLock } from './file-lock.js';
import { containerPaths, containersDir, namesDir } from './layout.js';

export interface ContainerRecord {
  config: ContainerConfig;
  /** As recorded (see liveState for what it means now). */
  state: ContainerState;
}

const nameFile = (root: string, name: string): string => join(namesDir(root), name);

function nameLock(root: string): string {
  return join(namesDir(root), '.lock');
}

/**
 * Creates <root>/containers/<id>/ with its config, a "created" state and
 * the overlay directories, then reserves the name. A name held by a
 * container that still exists is TSB_RUN_NAME_IN_USE (and nothing stays).
 */
// (Small synchronous file operations: cheaper here than thread-pool round trips.)
export async function createContainerRecord(root: string, config: ContainerConfig): Promise<void> {
  const paths = containerPaths(root, config.id);
  mkdirSync(containersDir(root), { recursive: true });
  mkdirSync(paths.dir, { mode: 0o700 });
  try {
    mkdirSync(paths.upper, { mode: 0o755 });
    mkdirSync(paths.work, { mode: 0o700 });
    await writeJsonAtomic(paths.config, config);
    await writeJsonAtomic(paths.state, initialState());
    mkdirSync(namesDir(root), { recursive: true });
    await withLock(nameLock(root), async () => {
      const file = nameFile(root, config.name);
      try {
        writeFileSync(file, `${config.id}\n`, { flag: 'wx', mode: 0o644 });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = readText(file);
      if (owner !== '' && existsSync(containerPaths(root, owner).config)) {
        throw new ContainerError(
          'TSB_RUN_NAME_IN_USE',
          `the container name "/${config.name}" is already in use by container ${owner.slice(0, 12)}: remove (or rename) that container to reuse the name`,
        );
      }
      // Its container is gone (removed by hand, or its rm died half-way).
      writeFileSync(file, `${config.id}\n`);
    });
  } catch (err) {
    rmSync(paths.dir, { recursive: true, force: true });
    throw err;
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return '';
  }
}

export function readConfig(root: string, id: string): ContainerConfig | null {
  try {
    return readJsonFile<ContainerConfig>(containerPaths(root, id).config);
  } catch (err) {
    throw new ContainerError('TSB_CONTAINER_CORRUPT', `cannot read the config of container ${id.slice(0, 12)}: ${(err as Error).message}`, { cause: err });
  }
}

export function readRecord(root: string, id: string): ContainerRecord | null {
  const config = readConfig(root, id);
  if (config === null) return null;
  const state = readState(containerPaths(root, id).state) ?? initialState();
  return { config, state };
}

async function containerIds(root: string): Promise<string[]> {
  try {
    return (await readdir(containersDir(root))).filter(isContainerId);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Every container with a readable record, newest first. */
export async function listContainers(root: string): Promise<ContainerRecord[]> {
  const out: ContainerRecord[] = [];
  for (const id of await containerIds(root)) {
    try {
      const rec = readRecord(root, id);
      if (rec !== null) out.push(rec);
    } catch {
      // being created or removed right now, or damaged: not listed
    }
  }
  return out.sort((a, b) => b.config.created.localeCompare(a.config.created));
}

/** By full ID, then name, then unique ID prefix. */
export async function findContainer(root: string, text: string): Promise<ContainerRecord> {
  const bare = text.startsWith('/') ? text.slice(1) : text;
  if (isContainerId(bare)) {
    const rec = readRecord(root, bare);
    if (rec !== null) return rec;
  }
  if (/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(bare)) {
    const owner = readText(nameFile(root, bare));
    if (isContainerId(owner)) {
      const rec = readRecord(root, owner);
      if (rec !== null && rec.config.name === bare) return rec;
    }
  }
  if (/^[0-9a-f]{1,63}$/.test(bare)) {
    const hits = (await containerIds(root)).filter((id) => id.startsWith(bare));
    if (hits.length > 1) throw new ContainerError('TSB_CONTAINER_AMBIGUOUS', `multiple containers match the ID prefix "${bare}"`);
    if (hits.length === 1) {
      const rec = readRecord(root, hits[0] as string);
      if (rec !== null) return rec;
    }
  }
  throw new ContainerError('TSB_CONTAINER_NOT_FOUND', `No such container: ${text}`);
}

/** The name reservation (if still ours) and the directory, gone. */
export async function removeContainerRecord(root: string, config: ContainerConfig): Promise<void> {
  mkdirSync(namesDir(root), { recursive: true });
  await withLock(nameLock(root), async () => {
    const file = nameFile(root, config.name);
    if (readText(file) === config.id) {
      try {
        unlinkSync(file);
      } catch {
        // already gone
      }
    }
  });
  // A supervisor still finishing may add a file meanwhile: retried.
  rmSync(containerPaths(root, config.id).dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 10 });
}
