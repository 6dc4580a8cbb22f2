// The supervisor: sets up the container's network and published ports,
// runs the sandbox, keeps the log, runs the HEALTHCHECK, records every
// transition in state.json, and when the main process ends releases what
// it set up (proxies, veth, namespace, address; the helper removes the
// cgroups and the mounts die with the mount namespace). With -d it runs in
// its own detached process (supervisor-main.ts); without, in the CLI.
import type { Readable } from 'node:stream';
import { execSandbox, isSandboxError, runSandbox, type SandboxError, type SandboxHandle } from '../../executor/sandbox/index.js';
import { attachContainer, detachContainer, type NetworkAttachment } from './bridge-network.js';
import type { ContainerConfig } from './container-config.js';
import { readState, initialState, StateFile, type ContainerState } from './container-state.js';
import { ContainerError } from './errors.js';
import { HealthMonitor, type Probe } from './healthcheck.js';
import { containerPaths } from './layout.js';
import { LogWriter } from './log-file.js';
import { bridgeSettings } from './network-settings.js';
import { publishPorts, type Publication } from './port-proxy.js';
import { processRef, type ProcessRef } from './process-ref.js';
import { containerSandboxSpec } from './sandbox-spec.js';

export interface SupervisorIo {
  /** Environment for the network settings (TSBUILD_BRIDGE, TSBUILD_BRIDGE_SUBNET, config file). */
  env: NodeJS.ProcessEnv;
  /** Also given the container's output (the foreground terminal). */
  stdout?: (chunk: Buffer) => void;
  stderr?: (chunk: Buffer) => void;
  /** The container's stdin (-i). */
  stdin?: Readable;
  /** Initial pty size (-t). */
  ttySize?: { rows: number; cols: number } | null;
  /** The container runs: its state has been recorded. */
  onStarted?: (state: ContainerState) => void;
  onHandle?: (handle: SandboxHandle) => void;
  /** Problems after the start that do not change the outcome (cleanup failures). */
  warn?: (message: string) => void;
  /** The caller removes the container right after (run --rm): its network is released then, with the rest. */
  leaveNetwork?: boolean;
}

export interface SupervisorOutcome {
  exitCode: number;
  signal: number | null;
  oomKilled: boolean;
}

const MAX_PROBE_OUTPUT = 8192;

/** A sandbox setup failure as a run error: a missing entry point is named as such. */
export function startError(err: unknown, config: ContainerConfig): unknown {
  if (!isSandboxError(err)) return err;
  const e = err as SandboxError;
  if (e.code === 'TSB_SANDBOX_SETUP' && e.stage === 'exec') {
    const cmd = [...config.entrypoint, ...config.cmd][0] ?? '';
    const why = e.errno === 2 ? 'executable file not found' : e.errno === 13 ? 'permission denied' : (e.errnoName ?? 'cannot execute');
    return new ContainerError('TSB_RUN_EXEC', `cannot start container: exec "${cmd}": ${why} (${e.message.replace(/^sandbox setup failed at exec: /, '')})`, { cause: err });
  }
  if (e.code === 'TSB_SANDBOX_SETUP') {
    return new ContainerError('TSB_RUN_SANDBOX', `cannot start container: ${e.message}`, { cause: err });
  }
  return err;
}

function healthProbe(config: ContainerConfig, init: () => ProcessRef | null): Probe {
  return async (signal) => {
    const pid = init();
    if (pid === null) return { exitCode: -1, output: 'the container is not running' };
    const chunks: Buffer[] = [];
    let size = 0;
    const sink = (c: Buffer): void => {
      if (size >= MAX_PROBE_OUTPUT) return;
      chunks.push(c);
      size += c.length;
    };
    const args = config.healthcheck?.args ?? [];
    try {
      const r = await execSandbox(
        pid.pid,
        { args, env: config.env, cwd: config.workdir, uid: config.uid, gid: config.gid, groups: config.groups },
        { stdout: sink, stderr: sink, signal },
      );
      return { exitCode: r.status, output: Buffer.concat(chunks).toString('utf8') };
    } catch (err) {
      if (signal.aborted) throw err;
      return { exitCode: -1, output: (err as Error).message };
    }
  };
}

/**
 * Runs container `config` to its end. Setup failures throw (TSB_RUN_*)
 * after undoing what was set up; the record itself is the caller's.
 */
export async function superviseContainer(root: string, config: ContainerConfig, io: SupervisorIo): Promise<SupervisorOutcome> {
  const paths = containerPaths(root, config.id);
  const state = new StateFile(paths.state, readState(paths.state) ?? initialState());
  await state.update({ supervisor: processRef(process.pid), error: '' });
  const log = new LogWriter(paths.log);
  let net: NetworkAttachment | null = null;
  let published: Publication | null = null;
  let health: HealthMonitor | null = null;
  let started = false;
  const warn = io.warn ?? (() => undefined);
  try {
    if (config.network === 'default') {
      net = await attachContainer(root, bridgeSettings(io.env), config.id);
      await state.update({ network: net });
      if (config.ports.length > 0) {
        published = await publishPorts(config.ports, net.ip);
        await state.update({ ports: published.ports });
      }
    }
    const spec = containerSandboxSpec(config, paths, net, io.ttySize ?? null);
    let helper: ProcessRef | null = null;
    let startedNotice: Promise<void> = Promise.resolve();
    const result = await runSandbox(spec, {
      stdout: (c) => {
        log.write('stdout', c);
        io.stdout?.(c);
      },
      stderr: (c) => {
        log.write('stderr', c);
        io.stderr?.(c);
      },
      ...(io.stdin !== undefined ? { stdin: io.stdin } : {}),
      onSpawn: (h) => {
        helper = processRef(h.helperPid);
        io.onHandle?.(h);
      },
      onStart: (s) => {
        started = true;
        const init = processRef(s.pid);
        startedNotice = state
          .update({ status: 'running', helper, init, cgroups: [...s.cgroups], startedAt: new Date().toISOString() })
          .then(() => {
            if (config.healthcheck !== null) {
              health = new HealthMonitor(config.healthcheck, healthProbe(config, () => init), (h) => void state.update({ health: h }));
              health.start();
            }
            io.onStarted?.(state.current);
          });
      },
    });
    await startedNotice;
    (health as HealthMonitor | null)?.stop();
    await published?.close();
    published = null;
    if (net !== null && io.leaveNetwork !== true) {
      await detachContainer(root, net, config.id).catch((err: Error) => warn(err.message));
    }
    net = null;
    await log.close();
    await state.update({
      status: 'exited',
      exitCode: result.status,
      signal: result.signal,
      oomKilled: result.oom,
      finishedAt: new Date().toISOString(),
      ...(health !== null ? { health: (health as HealthMonitor).state } : {}),
    });
    return { exitCode: result.status, signal: result.signal, oomKilled: result.oom };
  } catch (err) {
    const mapped = started ? err : startError(err, config);
    await state.update({
      ...(started ? { status: 'exited' as const, finishedAt: new Date().toISOString() } : {}),
      error: (mapped as Error).message ?? String(mapped),
    });
    throw mapped;
  } finally {
    (health as HealthMonitor | null)?.stop();
    await published?.close();
    if (net !== null) await detachContainer(root, net, config.id).catch((e: Error) => warn(e.message));
    await log.close();
  }
}
