// `tsbuild run [OPTIONS] IMAGE [COMMAND] [ARG...]`: create a container from
// a local image (pulled first when it is not local), then either hand it to
// a detached supervisor and print its ID (-d), or supervise it here:
// output to the terminal, signals forwarded, and the container's exit
// status as ours (--rm removes it afterwards). Anything that keeps the
// container from starting is a TSB_RUN_* error (exit 125) and leaves
// nothing behind.
import type { SandboxHandle } from '../../executor/sandbox/index.js';
import type { ImagePlatform } from '../../executor/types.js';
import { bool, list, str, type ParsedCommand } from '../cli/command-line.js';
// Straight from the modules rather than src/container's index: `run` loads
// only what it uses (its start-up time is measured against podman's).
import type { NetworkMode } from '../container/container-config.js';
import { readRecord } from '../container/containers.js';
import { createContainer, type RunOptions } from '../container/create-container.js';
import { mainProcessOf, type ProcessRef } from '../container/process-ref.js';
import { removeContainer } from '../container/remove-container.js';
import { imageFiles, resolveRunImage, RunImageCache } from '../container/run-image.js';
import { superviseContainer } from '../container/supervisor.js';
import { CliError } from '../errors.js';
import type { Io } from '../io.js';
import { openStore, type ContentStore } from '../store/index.js';
import { parseLimits } from './build-limits.js';
import { containerRoot } from './container-command-support.js';
import { attachTerminal } from './container-terminal.js';

/** --platform, when given (the registry module loads only then). */
async function platformOf(cmd: ParsedCommand): Promise<ImagePlatform | null> {
  const text = str(cmd.values, 'platform');
  if (text === undefined) return null;
  const { parsePlatform } = await import('../../registry/index.js');
  let p;
  try {
    p = parsePlatform(text);
  } catch (err) {
    throw new CliError('TSB_CLI_USAGE', `invalid --platform: ${(err as Error).message}`);
  }
  return p.variant === undefined ? { os: p.os, architecture: p.architecture } : { os: p.os, architecture: p.architecture, variant: p.variant };
}

/** The image pulled into the store like `tsbuild pull` does (only reached when it is not local). */
async function pullForRun(store: ContentStore, text: string, wanted: ImagePlatform | null, cmd: ParsedCommand, io: Io): Promise<void> {
  const [{ parseReference, hostPlatform }, { pullImageComplete }, { resolveRegistryOptions }, { RegistrySession }, { TransferRenderer }] = await Promise.all([
    import('../../registry/index.js'),
    import('../remote/pull-remote.js'),
    import('../remote/registry-options.js'),
    import('../remote/registry-session.js'),
    import('../render/transfer-progress.js'),
  ]);
  const ref = parseReference(text);
  const host = hostPlatform();
  const platform: ImagePlatform = wanted ?? { os: host.os, architecture: host.architecture };
  const progress = new TransferRenderer(io.err, io.isTTY && !io.env.CI, 'pull');
  const session = new RegistrySession(resolveRegistryOptions(cmd.values, io.env), store, (e) => progress.update(e));
  try {
    const pulled = await pullImageComplete(store, session, ref, {
      platform,
      onLayers: (layers) => {
        // Said once the registry has answered, as docker does.
        progress.print(`${ref.digest ?? ref.tag ?? 'latest'}: Pulling from ${ref.repository}`);
        progress.layers(layers);
      },
      onProgress: (e) => progress.update(e),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
    progress.print(`Digest: ${pulled.repoDigest}`);
    progress.print(`Status: Downloaded newer image for ${ref.familiar()}`);
  } finally {
    progress.done();
    await session.close();
  }
}

function runOptions(cmd: ParsedCommand, io: Io): RunOptions {
  const v = cmd.values;
  const opt = <K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> =>
    value === undefined ? {} : ({ [key]: value } as Record<K, string>);
  return {
    args: cmd.positionals.slice(1),
    ...opt('name', str(v, 'name')),
    autoRemove: bool(v, 'rm'),
    publish: list(v, 'publish'),
    volumes: list(v, 'volume'),
    env: list(v, 'env'),
    envFiles: list(v, 'env-file'),
    ...opt('workdir', str(v, 'workdir')),
    ...opt('user', str(v, 'user')),
    ...opt('entrypoint', str(v, 'entrypoint')),
    ...opt('hostname', str(v, 'hostname')),
    limits: parseLimits({ memory: str(v, 'memory'), cpus: str(v, 'cpus'), pids: str(v, 'pids-limit') }),
    network: (str(v, 'network') ?? 'default') as NetworkMode,
    readonly: bool(v, 'read-only'),
    init: bool(v, 'init'),
    interactive: bool(v, 'interactive'),
    tty: bool(v, 'tty'),
    cgroupParent: io.env.TSBUILD_CGROUP_PARENT || 'tsbuild',
    callerEnv: io.env,
    warn: (m) => io.err(`WARNING: ${m}\n`),
  };
}

/** Removes a container that never started (or --rm after its end); never throws over the original error. */
async function discard(root: string, id: string): Promise<void> {
  const rec = readRecord(root, id);
  if (rec !== null) await removeContainer(root, rec, { volumes: true });
}

export async function runCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const root = containerRoot(cmd, io);
  const opts = runOptions(cmd, io);
  const detach = bool(cmd.values, 'detach');
  const store = await openStore(root);
  const text = cmd.positionals[0] as string;
  const platform = await platformOf(cmd);
  const cache = new RunImageCache(root);
  const image = await resolveRunImage(store, cache, text, {
    platform,
    onMissing: () => io.err(`Unable to find image '${text}' locally\n`),
    pull: () => pullForRun(store, text, platform, cmd, io),
  });
  const config = await createContainer(root, image, await imageFiles(store, cache, image, platform), opts);

  if (detach) {
    try {
      const { launchSupervisor } = await import('../container/launch.js');
      await launchSupervisor(root, config.id, io.env);
    } catch (err) {
      await discard(root, config.id).catch(() => undefined);
      throw err;
    }
    io.out(`${config.id}\n`);
    return 0;
  }

  const term = attachTerminal(io, { interactive: config.openStdin, tty: config.tty });
  let handle: SandboxHandle | null = null;
  let init: ProcessRef | null = null;
  // docker's sig-proxy: the main process gets what we get.
  const untrap =
    io.trapSignals?.((sig) => {
      const main = init !== null ? mainProcessOf(init) : null;
      if (main !== null) {
        try {
          process.kill(main.pid, sig);
        } catch {
          // already gone
        }
      } else {
        handle?.signal(sig);
      }
    }) ?? (() => undefined);
  term.onResize((rows, cols) => handle?.resize(rows, cols));
  let exitCode: number;
  let started = false;
  try {
    const outcome = await superviseContainer(root, config, {
      env: io.env,
      stdout: (c) => void io.stdout.write(c),
      stderr: (c) => (io.errStream !== null ? void io.errStream.write(c) : io.err(c.toString())),
      ...(term.stdin !== undefined ? { stdin: term.stdin } : {}),
      ttySize: term.size,
      onHandle: (h) => {
        handle = h;
      },
      onStarted: (s) => {
        started = true;
        init = s.init;
      },
      warn: (m) => io.err(`WARNING: ${m}\n`),
      leaveNetwork: config.autoRemove,
    });
    exitCode = outcome.exitCode;
  } catch (err) {
    if (!started) await discard(root, config.id).catch(() => undefined);
    throw err;
  } finally {
    untrap();
    term.restore();
  }
  if (config.autoRemove) await discard(root, config.id);
  return exitCode;
}
