// runSandbox: one command in a fresh tsbuild-sandbox. The spec goes to the
// helper on fd 3, its status comes back on fd 4 (status-channel.ts); the
// outcome is decided from that channel, never from the exit code alone,
// since the command may exit with any number (125 included).
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { removeCgroups } from './cgroup-cleanup.js';
import { SandboxError } from './errors.js';
import { findSandboxBinary } from './find-binary.js';
import type { SandboxExecSpec, SandboxSpec } from './spec.js';
import { StatusReader, type StatusMessage } from './status-channel.js';

export type OutputSink = Writable | ((chunk: Buffer) => void);

export interface SandboxStart {
  /** Host pid of the sandbox's init (pid 1 inside). */
  pid: number;
  /** The sandbox's cgroup leaf directories (one per v1 hierarchy, or one v2). */
  cgroups: readonly string[];
}

/** The running helper, for the caller to signal it or resize its pty. */
export interface SandboxHandle {
  /** Host pid of the tsbuild-sandbox process. */
  readonly helperPid: number;
  /** Send a signal to the helper (SIGTERM/INT/HUP/QUIT/USR1/USR2 reach the
   * command; SIGPWR kills the sandbox and cleans up). False if it is gone. */
  signal(sig: NodeJS.Signals): boolean;
  /** New pty window size (with `spec.tty`; ignored otherwise). */
  resize(rows: number, cols: number): void;
}

export interface SandboxIo {
  /** The command's stdout: a stream (not ended afterwards) or a chunk callback; default: discarded. */
  stdout?: OutputSink;
  stderr?: OutputSink;
  /** Piped to the command's stdin; `spec.stdin` then defaults to "inherit". Never the caller's terminal. */
  stdin?: Readable;
  /** Aborting makes the helper SIGKILL the sandbox's init (taking its pid
   * namespace down), reap it and remove the cgroup; a helper that does not
   * exit within 5 s is SIGKILLed and its cgroup removed from here. The
   * promise rejects with TSB_SANDBOX_ABORTED once no process, mount or
   * cgroup is left. */
  signal?: AbortSignal;
  /** Called once the command has been exec'd. */
  onStart?: (info: SandboxStart) => void;
  /** Called as soon as the helper process exists. */
  onSpawn?: (handle: SandboxHandle) => void;
  /** Helper binary; default findSandboxBinary(). */
  binary?: string;
}

export interface SandboxResult {
  /** Exit status, 128+N when killed by signal N. */
  status: number;
  signal: number | null;
  /** The cgroup recorded an OOM kill (of the command or any of its children). */
  oom: boolean;
  memoryPeak: number | null;
  cpuUsec: number | null;
  /** Host pid the sandbox's init had. */
  pid: number;
}

const SPEC_FD = 3;
const STATUS_FD = 4;
/** Window sizes for a tty sandbox, as "ROWS COLS\n" lines. */
const CONTROL_FD = 5;
/** The helper's "kill the sandbox now and clean up" signal (native/README.md). */
const KILL_SIGNAL = 'SIGPWR';
/** How long the helper gets to tear the sandbox down before it is SIGKILLed. */
const KILL_GRACE_MS = 5000;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function route(stream: Readable | null, sink: OutputSink | undefined): void {
  if (stream === null) return;
  if (sink === undefined) stream.resume();
  else if (typeof sink === 'function') stream.on('data', sink);
  else stream.pipe(sink, { end: false });
}

function abortError(signal: AbortSignal): SandboxError {
  return new SandboxError('TSB_SANDBOX_ABORTED', 'the sandbox was aborted', {}, { cause: signal.reason });
}

export function runSandbox(spec: SandboxSpec, io: SandboxIo = {}): Promise<SandboxResult> {
  return driveHelper(['run'], spec, io);
}

/**
 * Run one more command in the running sandbox whose init has host pid
 * `initPid` (its namespaces and cgroup, the spec's user, capabilities and
 * seccomp filter). The result's `pid` is the command's host pid; `oom`
 * and the figures are not measured for it (false / null).
 */
export function execSandbox(initPid: number, spec: SandboxExecSpec, io: SandboxIo = {}): Promise<SandboxResult> {
  return driveHelper(['exec', '--pid', String(initPid)], spec, io);
}

function driveHelper(command: string[], spec: SandboxSpec | SandboxExecSpec, io: SandboxIo): Promise<SandboxResult> {
  let binary: string;
  try {
    binary = io.binary ?? findSandboxBinary();
  } catch (err) {
    return Promise.reject(err);
  }
  const { signal } = io;
  if (signal?.aborted === true) return Promise.reject(abortError(signal));
  const wire = io.stdin !== undefined && spec.stdin === undefined ? { ...spec, stdin: 'inherit' as const } : spec;
  const tty = spec.tty !== undefined;

  return new Promise<SandboxResult>((resolve, reject) => {
    const args = [...command, '--spec-fd', String(SPEC_FD), '--status-fd', String(STATUS_FD)];
    if (tty) args.push('--control-fd', String(CONTROL_FD));
    const child = spawn(binary, args, {
      stdio: [io.stdin !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe', 'pipe', 'pipe', ...(tty ? (['pipe'] as const) : [])],
      // The helper needs PATH only to find slirp4netns; the command's
      // environment is spec.env, nothing else.
      env: { PATH: process.env.PATH ?? DEFAULT_PATH },
      // Own session: a terminal's ^C reaches tsbuild, which decides.
      detached: true,
    });

    const reader = new StatusReader();
    let cgroups: string[] = [];
    let pid: number | null = null;
    let failed: Extract<StatusMessage, { kind: 'failed' }> | null = null;
    let exited: Extract<StatusMessage, { kind: 'exited' }> | null = null;
    let protocol: unknown = null;
    let spawnError: Error | null = null;
    let aborted = false;
    let settled = false;
    let escalation: NodeJS.Timeout | undefined;

    const onAbort = (): void => {
      if (exited !== null) return; // the command had already ended: its result stands
      aborted = true;
      child.kill(KILL_SIGNAL);
      escalation = setTimeout(() => child.kill('SIGKILL'), KILL_GRACE_MS);
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const handle = (m: StatusMessage): void => {
      switch (m.kind) {
        case 'cgroup':
          cgroups = m.paths;
          break;
        case 'started':
          pid = m.pid;
          io.onStart?.({ pid: m.pid, cgroups });
          break;
        case 'failed':
          failed = m;
          break;
        case 'exited':
          exited = m;
          break;
      }
    };

    const status = child.stdio[STATUS_FD] as Readable;
    status.on('data', (chunk: Buffer) => {
      if (protocol !== null) return;
      try {
        for (const m of reader.push(chunk)) handle(m);
      } catch (err) {
        protocol = err;
        child.kill('SIGKILL');
      }
    });
    status.on('error', (err) => {
      protocol ??= err;
    });

    const control = tty ? ((child.stdio as unknown as Array<Writable | null>)[CONTROL_FD] ?? null) : null;
    control?.on('error', () => {});
    if (child.pid !== undefined) {
      const helperPid = child.pid;
      io.onSpawn?.({
        helperPid,
        signal: (sig) => {
          if (settled) return false;
          try {
            return child.kill(sig);
          } catch {
            return false;
          }
        },
        resize: (rows, cols) => {
          if (control !== null && !settled && rows > 0 && cols > 0) control.write(`${Math.floor(rows)} ${Math.floor(cols)}\n`);
        },
      });
    }

    const specStream = child.stdio[SPEC_FD] as Writable;
    // The helper may exit before reading it all (EPIPE); its status says why.
    specStream.on('error', () => {});
    specStream.end(JSON.stringify(wire));

    if (io.stdin !== undefined && child.stdin !== null) {
      child.stdin.on('error', () => {});
      io.stdin.pipe(child.stdin);
    }
    route(child.stdout, io.stdout);
    route(child.stderr, io.stderr);

    const finish = async (code: number | null, sig: NodeJS.Signals | null): Promise<void> => {
      if (settled) return;
      settled = true;
      clearTimeout(escalation);
      control?.destroy();
      signal?.removeEventListener('abort', onAbort);
      if (io.stdin !== undefined && child.stdin !== null) io.stdin.unpipe(child.stdin);
      if (protocol === null) {
        try {
          reader.end();
        } catch (err) {
          protocol = err;
        }
      }
      const fin = exited as Extract<StatusMessage, { kind: 'exited' }> | null;
      const fail = failed as Extract<StatusMessage, { kind: 'failed' }> | null;
      try {
        if (spawnError !== null) {
          const missing = (spawnError as NodeJS.ErrnoException).code === 'ENOENT' || (spawnError as NodeJS.ErrnoException).code === 'EACCES';
          throw new SandboxError(
            missing ? 'TSB_SANDBOX_MISSING' : 'TSB_SANDBOX_HELPER',
            `cannot start the sandbox helper ${binary}: ${spawnError.message}${missing ? ' (run `npm install` or `make -C native`)' : ''}`,
            {},
            { cause: spawnError },
          );
        }
        if (aborted && signal !== undefined) {
          // Normally the helper removed them; not if it had to be SIGKILLed.
          await removeCgroups(cgroups);
          throw abortError(signal);
        }
        if (fin !== null && pid !== null && protocol === null) {
          resolve({ status: fin.status, signal: fin.signal, oom: fin.oom, memoryPeak: fin.memoryPeak, cpuUsec: fin.cpuUsec, pid });
          return;
        }
        if (fail !== null) {
          // The helper removed everything before reporting.
          throw new SandboxError('TSB_SANDBOX_SETUP', `sandbox setup failed at ${fail.stage}: ${fail.message}`, {
            stage: fail.stage,
            syscall: fail.syscall,
            errno: fail.errno,
          });
        }
        // Killed by someone: its init died with it (PDEATHSIG), but the
        // cgroup leaves are ours to remove.
        await removeCgroups(cgroups);
        if (protocol !== null) throw protocol;
        const how = code !== null ? `exited with status ${code}` : `was killed by ${sig ?? 'a signal'}`;
        throw new SandboxError('TSB_SANDBOX_HELPER', `the sandbox helper ${how} without reporting how the command ended`);
      } catch (err) {
        reject(err);
      }
    };

    child.on('error', (err) => {
      spawnError ??= err;
      // Nothing ran: no 'close' is guaranteed to follow a failed spawn.
      if (child.pid === undefined) void finish(null, null);
    });
    child.on('close', (code, sig) => void finish(code, sig));
  });
}
