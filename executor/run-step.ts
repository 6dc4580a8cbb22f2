// RUN: the command runs in the sandbox on an overlay of the parent's layer
// snapshots; the overlay's upper directory becomes the new layer (whiteouts
// and opaque directories included), so the cost scales with what the
// command changed, never with the size of the image.
import { lstat, mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { etcFiles, type NativeSandboxRunner } from './sandbox/index.js';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { ExecStep } from '../parser/index.js';
import type { ContentStore } from '../src/store/index.js';
import { StepProblem } from './errors.js';
import { walkDirectory, writeLayer } from './layer/index.js';
import { LayeredFs } from './layered-fs.js';
import { prepareMounts, type MountInputs, type SecretSource } from './run-mounts.js';
import { resolveRunUser } from './run-user.js';
import type { Snapshot, Snapshots } from './snapshots.js';
import type { LayerRef } from './types.js';

/** What RUN needs from the native helper (see executor/sandbox); injected so tests can substitute it. */
export type SandboxRunner = NativeSandboxRunner;

export interface RunLimits {
  memory?: number;
  cpus?: number;
  pids?: number;
}

export interface RunInputs {
  step: ExecStep;
  parentLayers: readonly LayerRef[];
  store: ContentStore;
  snapshots: Snapshots;
  sandbox: SandboxRunner;
  limits: RunLimits;
  contextDir: string | null;
  secrets: ReadonlyMap<string, SecretSource>;
  ssh: ReadonlyMap<string, string>;
  sourceDateEpoch: number | undefined;
  signal?: AbortSignal;
  materialise: MountInputs['materialise'];
  /** The build's shared network namespace for --network=default (see build-network.ts). */
  buildNetwork?: () => Promise<string>;
  log(stream: 'stdout' | 'stderr', data: string): void;
}

export interface RunOutcome {
  added: LayerRef | null;
  memoryPeak: number | null;
  cpuUsec: number | null;
}

const TAIL_LINES = 10;

function mib(n: number): string {
  return `${Math.round(n / (1024 * 1024))} MiB`;
}

/** Snapshots must carry their opaque xattrs before overlayfs can use them as lowers. */
async function prepareLowers(inp: RunInputs): Promise<Snapshot[]> {
  const snaps = await Promise.all(inp.parentLayers.map((l) => inp.snapshots.ensure(l)));
  await inp.snapshots.markOpaque(snaps, (paths) => inp.sandbox.setOpaque(paths));
  return snaps;
}

/**
 * Remove what exists in the upper dir only because something was mounted
 * there: the mount point files/dirs the sandbox created, and directories
 * copied up just to hold them (empty, not opaque). A mounted path can never
 * have been written by the command itself, since the mount covered it.
 */
async function removeMountStubs(upper: string, targets: string[], parent: LayeredFs, opaque: ReadonlySet<string>): Promise<void> {
  for (const target of targets) {
    let rel = target.replace(/^\/+/, '');
    let first = true;
    while (rel !== '') {
      const path = join(upper, rel);
      const st = await lstat(path).catch(() => null);
      if (!st) break;
      const inParent = (await parent.lstat(rel)) !== null;
      if (first && !inParent) {
        await rm(path, { recursive: true, force: true });
      } else if (st.isDirectory() && !opaque.has(rel) && (await readdir(path)).length === 0 && (!first || !inParent)) {
        await rmdir(path);
      } else break;
      first = false;
      rel = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    }
  }
}

/** True when every entry of `upper` is a stub path or an ancestor of one. */
async function onlyStubs(upper: string, stubs: string[]): Promise<boolean> {
  const allowed = new Set<string>();
  for (const t of stubs) {
    const parts = t.replace(/^\/+/, '').split('/');
    for (let i = 1; i <= parts.length; i++) allowed.add(parts.slice(0, i).join('/'));
  }
  const walk = async (rel: string): Promise<boolean> => {
    for (const name of await readdir(join(upper, rel))) {
      const child = rel === '' ? name : `${rel}/${name}`;
      if (!allowed.has(child)) return false;
      const st = await lstat(join(upper, child));
      if (st.isDirectory() && !(await walk(child))) return false;
    }
    return true;
  };
  return walk('');
}

export async function runExecStep(inp: RunInputs): Promise<RunOutcome> {
  const { step } = inp;
  const lowers = await prepareLowers(inp);
  const parent = new LayeredFs(lowers);
  const user = await resolveRunUser(step.user, parent);
  const prepared = await prepareMounts({
    step,
    root: inp.store.root,
    contextDir: inp.contextDir,
    secrets: inp.secrets,
    ssh: inp.ssh,
    materialise: inp.materialise,
  });
  const upper = await inp.snapshots.stagingDir();
  const work = `${upper}.work`;
  const empty = `${upper}.empty`;
  await mkdir(work);
  let keepUpper = false;
  const tail: string[] = [];
  const remember = (data: string): void => {
    tail.push(...data.split('\n').filter((l) => l !== ''));
    if (tail.length > TAIL_LINES) tail.splice(0, tail.length - TAIL_LINES);
  };
  try {
    let lower = lowers.map((s) => s.dir).reverse();
    if (lower.length === 0) {
      await mkdir(empty);
      lower = [empty];
    }
    const env = [...step.env, ...step.proxyEnv, ...prepared.env];
    if (!env.some((e) => e.startsWith('HOME='))) env.push(`HOME=${user.home}`);
    const result = await inp.sandbox.run(
      {
        rootfs: { lower, upper, work },
        mounts: prepared.mounts,
        args: step.args,
        env,
        cwd: step.cwd,
        uid: user.uid,
        gid: user.gid,
        groups: user.groups,
        hostname: 'tsbuild',
        network: step.network === 'default' && inp.buildNetwork ? { netns: await inp.buildNetwork() } : step.network,
        limits: inp.limits,
        etc: etcFiles('tsbuild', step.network, step.network === 'host' ? await readFile('/etc/resolv.conf', 'utf8').catch(() => '') : ''),
        capabilities: step.security === 'insecure' ? 'all' : 'default',
        seccomp: step.security !== 'insecure',
      },
      {
        onStdout: (c) => {
          const s = c.toString();
          remember(s);
          inp.log('stdout', s);
        },
        onStderr: (c) => {
          const s = c.toString();
          remember(s);
          inp.log('stderr', s);
        },
        ...(inp.signal ? { signal: inp.signal } : {}),
      },
    );
    const command = JSON.stringify(step.args.join(' '));
    if (result.oom) {
      const limit = inp.limits.memory !== undefined ? `, limit ${mib(inp.limits.memory)}` : '';
      throw new StepProblem('TSB_STEP_FAILED', `process ${command} was killed: out of memory${limit}\n${tail.join('\n')}`);
    }
    if (result.status !== 0) {
      const how = result.signal !== null ? `killed by signal ${result.signal}` : `exit code: ${result.status}`;
      throw Object.assign(
        new StepProblem('TSB_STEP_FAILED', `process ${command} did not complete successfully: ${how}${tail.length ? '\n' + tail.join('\n') : ''}`),
        { exitCode: result.status },
      );
    }
    const stubs = [...prepared.targets, '/etc/hosts', '/etc/hostname', '/etc/resolv.conf'];
    // When the upper dir holds nothing but mount stubs (and the directories
    // copied up to hold them), no directory in it can be opaque: skip the
    // helper round trip. Common for RUNs that change nothing.
    let opaque = (await onlyStubs(upper, stubs)) ? [] : await inp.sandbox.listOpaque(upper);
    await removeMountStubs(upper, stubs, parent, new Set(opaque));
    if ((await readdir(upper)).length === 0) {
      return { added: null, memoryPeak: result.memoryPeak, cpuUsec: result.cpuUsec };
    }
    opaque = opaque.filter((d) => existsSync(join(upper, d)));
    const written = await writeLayer(walkDirectory(upper, { upperdir: true, opaqueDirs: new Set(opaque) }), inp.store, {
      ...(inp.sourceDateEpoch !== undefined ? { sourceDateEpoch: inp.sourceDateEpoch } : {}),
      ...(inp.signal ? { signal: inp.signal } : {}),
    });
    // overlayfs set the opaque xattrs in the upper dir itself
    await inp.snapshots.commit(upper, written.diffID, opaque, { opaqueMarked: true });
    keepUpper = true;
    return {
      added: { digest: written.digest, diffID: written.diffID, size: written.size, mediaType: written.mediaType },
      memoryPeak: result.memoryPeak,
      cpuUsec: result.cpuUsec,
    };
  } finally {
    await prepared.release();
    await rm(work, { recursive: true, force: true });
    await rm(empty, { recursive: true, force: true });
    if (!keepUpper) await rm(upper, { recursive: true, force: true });
  }
}
