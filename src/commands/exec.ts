// `tsbuild exec [-i] [-t] [-e K=V] [-u USER] [-w DIR] CONTAINER CMD...`: one
// more process in a running container: its namespaces and cgroup, the
// container's environment (plus -e), working directory and user unless
// overridden, the same capabilities and seccomp filter. Exits with the
// command's status.
import { resolveRunUser } from '../../executor/index.js';
import { execSandbox, isSandboxError, type SandboxHandle } from '../../executor/sandbox/index.js';
import { bool, list, str, type ParsedCommand } from '../cli/command-line.js';
import { ContainerError, findContainer, isRunning, ProcRootFs } from '../container/index.js';
import type { Io } from '../io.js';
import { containerRoot } from './container-command-support.js';
import { attachTerminal } from './container-terminal.js';

function withEnv(base: readonly string[], extra: string[], caller: NodeJS.ProcessEnv): string[] {
  const env = [...base];
  for (const text of extra) {
    const entry = text.includes('=') ? text : caller[text] !== undefined ? `${text}=${caller[text]}` : null;
    if (entry === null) continue;
    const key = entry.slice(0, entry.indexOf('='));
    const at = env.findIndex((e) => e.startsWith(`${key}=`));
    if (at >= 0) env[at] = entry;
    else env.push(entry);
  }
  return env;
}

export async function execCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const root = containerRoot(cmd, io);
  const [text, ...args] = cmd.positionals as [string, ...string[]];
  const rec = await findContainer(root, text);
  const init = rec.state.init;
  if (!isRunning(rec) || init === null) {
    throw new ContainerError('TSB_CONTAINER_NOT_RUNNING', `container ${rec.config.id.slice(0, 12)} is not running`);
  }
  const tty = bool(cmd.values, 'tty');
  const interactive = bool(cmd.values, 'interactive');
  let env = withEnv(rec.config.env, list(cmd.values, 'env'), io.env);
  if (tty && !env.some((e) => e.startsWith('TERM='))) env = [...env, 'TERM=xterm'];
  let uid = rec.config.uid;
  let gid = rec.config.gid;
  let groups = rec.config.groups;
  const userText = str(cmd.values, 'user');
  if (userText !== undefined) {
    try {
      ({ uid, gid, groups } = await resolveRunUser(userText, new ProcRootFs(init.pid)));
    } catch (err) {
      if ((err as { code?: string }).code === 'TSB_STEP_UNKNOWN_USER') throw new ContainerError('TSB_RUN_UNKNOWN_USER', (err as Error).message, { cause: err });
      throw err;
    }
  }
  const term = attachTerminal(io, { interactive, tty });
  let handle: SandboxHandle | null = null;
  const untrap = io.trapSignals?.((sig) => void handle?.signal(sig)) ?? (() => undefined);
  term.onResize((rows, cols) => handle?.resize(rows, cols));
  try {
    const r = await execSandbox(
      init.pid,
      {
        args,
        env,
        cwd: str(cmd.values, 'workdir') ?? rec.config.workdir,
        uid,
        gid,
        groups,
        stdin: interactive ? 'inherit' : 'null',
        ...(tty ? { tty: term.size ?? {} } : {}),
      },
      {
        stdout: (c) => void io.stdout.write(c),
        stderr: (c) => (io.errStream !== null ? void io.errStream.write(c) : io.err(c.toString())),
        ...(term.stdin !== undefined ? { stdin: term.stdin } : {}),
        onSpawn: (h) => {
          handle = h;
        },
      },
    );
    return r.status;
  } catch (err) {
    if (isSandboxError(err, 'TSB_SANDBOX_SETUP')) {
      if (err.stage === 'join' || err.stage === 'cgroup') {
        throw new ContainerError('TSB_CONTAINER_NOT_RUNNING', `container ${rec.config.id.slice(0, 12)} is not running (${err.message})`, { cause: err });
      }
      throw new ContainerError(err.stage === 'exec' ? 'TSB_RUN_EXEC' : 'TSB_RUN_SANDBOX', `cannot exec in container: ${err.message}`, { cause: err });
    }
    throw err;
  } finally {
    untrap();
    term.restore();
  }
}
