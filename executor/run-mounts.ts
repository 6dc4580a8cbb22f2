// RUN --mount: turn the plan's mount specs into host directories/files the
// sandbox binds, before anything runs. Cache mounts live under
// <root>/cache-mounts; secrets are written to tmpfs (/dev/shm), never to
// the store; bind mounts from stages are materialised from their layers.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import type { ExecStep, RunMount } from '../parser/index.js';
import { StepProblem } from './errors.js';
import type { SandboxMount } from './sandbox/index.js';

export interface SecretSource {
  /** Host file to read, or a literal value (from an environment variable). */
  file?: string;
  value?: string;
}

export type PreparedMount = SandboxMount;

export interface PreparedMounts {
  mounts: PreparedMount[];
  env: string[];
  /** Mount targets, so the stubs overlayfs creates for them can be removed from the upper dir. */
  targets: string[];
  release(): Promise<void>;
}

/** In-process locks for sharing=locked cache mounts. */
const cacheLocks = new Map<string, Promise<void>>();

async function lock(key: string): Promise<() => void> {
  const prev = cacheLocks.get(key) ?? Promise.resolve();
  let release!: () => void;
  const next = new Promise<void>((r) => (release = r));
  const chained = prev.then(() => next);
  cacheLocks.set(key, chained);
  await prev;
  return () => {
    release();
    if (cacheLocks.get(key) === chained) cacheLocks.delete(key);
  };
}

const inUse = new Map<string, number>();

export interface MountInputs {
  step: ExecStep;
  root: string;
  contextDir: string | null;
  secrets: ReadonlyMap<string, SecretSource>;
  ssh: ReadonlyMap<string, string>;
  /** A host directory holding `source` of a stage/image (materialised on demand). */
  materialise(from: Extract<RunMount, { type: 'bind' }>['from'], source: string): Promise<{ dir: string; release(): Promise<void> }>;
}

export async function prepareMounts(inp: MountInputs): Promise<PreparedMounts> {
  const mounts: PreparedMount[] = [];
  const env: string[] = [];
  const releases: Array<() => Promise<void> | void> = [];
  const release = async (): Promise<void> => {
    for (const r of releases.reverse()) await r();
  };
  try {
    for (const m of inp.step.mounts) {
      switch (m.type) {
        case 'tmpfs':
          mounts.push({ type: 'tmpfs', target: m.target, ...(m.size !== null ? { size: m.size } : {}) });
          break;
        case 'cache': {
          if (m.from !== null) throw new StepProblem('TSB_STEP_UNSUPPORTED', `--mount=type=cache,from=… is not implemented yet (${m.target})`);
          const id = createHash('sha256').update(m.id).digest('hex');
          let dir = join(inp.root, 'cache-mounts', id);
          if (m.sharing === 'locked') releases.push(await lock(id));
          if (m.sharing === 'private' && (inUse.get(id) ?? 0) > 0) {
            dir = await mkdtemp(join(inp.root, 'tmp', 'cache-private-'));
            const d = dir;
            releases.push(() => rm(d, { recursive: true, force: true }));
          } else {
            inUse.set(id, (inUse.get(id) ?? 0) + 1);
            releases.push(() => void inUse.set(id, (inUse.get(id) ?? 1) - 1));
          }
          if (!existsSync(dir)) {
            await mkdir(dir, { recursive: true });
            await chown(dir, m.uid, m.gid);
            await chmod(dir, m.mode);
          }
          const src = m.source === '.' ? dir : join(dir, m.source);
          await mkdir(src, { recursive: true });
          mounts.push({ type: 'bind', source: src, target: m.target, readonly: m.readonly });
          break;
        }
        case 'bind': {
          if (m.from.type === 'context') {
            if (!inp.contextDir) throw new StepProblem('TSB_STEP_BAD_SOURCE', 'RUN --mount=type=bind needs a build context');
            const host = join(inp.contextDir, posix.normalize('/' + m.source));
            if (!m.readwrite) {
              mounts.push({ type: 'bind', source: host, target: m.target, readonly: true });
              break;
            }
          }
          // Stages, images and read-write binds get a private copy: writes are discarded.
          const got = await inp.materialise(m.from, m.source);
          releases.push(got.release);
          mounts.push({ type: 'bind', source: got.dir, target: m.target, readonly: !m.readwrite });
          break;
        }
        case 'secret': {
          const secret = inp.secrets.get(m.id);
          if (!secret) {
            if (m.required) throw new StepProblem('TSB_STEP_BAD_SOURCE', `secret "${m.id}" is required but was not provided (--secret id=${m.id},src=…)`);
            break;
          }
          const value = secret.value ?? (secret.file !== undefined ? await (await import('node:fs/promises')).readFile(secret.file) : '');
          if (m.env !== null) env.push(`${m.env}=${value.toString()}`);
          if (m.target !== null) {
            // tmpfs-backed, so the secret never touches the disk or the store
            const base = existsSync('/dev/shm') ? '/dev/shm' : join(inp.root, 'tmp');
            const dir = await mkdtemp(join(base, 'tsbuild-secret-'));
            const file = join(dir, randomBytes(8).toString('hex'));
            await writeFile(file, value, { mode: m.mode });
            await chown(file, m.uid, m.gid);
            releases.push(() => rm(dir, { recursive: true, force: true }));
            mounts.push({ type: 'bind', source: file, target: m.target, readonly: true });
          }
          break;
        }
        case 'ssh': {
          const sock = inp.ssh.get(m.id);
          if (!sock) {
            if (m.required) throw new StepProblem('TSB_STEP_BAD_SOURCE', `ssh "${m.id}" is required but was not provided (--ssh ${m.id}=…)`);
            break;
          }
          mounts.push({ type: 'bind', source: sock, target: m.target, readonly: true });
          env.push(`SSH_AUTH_SOCK=${m.target}`);
          break;
        }
      }
    }
  } catch (e) {
    await release();
    throw e;
  }
  return { mounts, env, targets: mounts.map((m) => m.target), release };
}
