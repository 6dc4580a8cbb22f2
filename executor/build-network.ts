// One network namespace per build for RUN --network=default: created once,
// given outbound access by one slirp4netns, and joined by every RUN of the
// build, instead of a namespace and a slirp4netns per RUN (~20 ms each).
// Steps never share processes or sockets (each RUN has its own pid
// namespace, and the default capabilities exclude NET_ADMIN), so sharing
// the namespace leaks nothing between steps that a cache hit would not.
// slirp4netns exits when our end of its exit pipe closes, so a killed
// tsbuild leaves no slirp4netns behind; a stale namespace file is removed
// by the next build (names carry the owner pid).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';

const NETNS_DIR = '/run/netns';
const PREFIX = 'tsbuild-build-';

function ip(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('ip', args, (err, _out, stderr) => (err ? reject(new Error(`ip ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve()));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Namespaces left by builds whose process is gone. */
async function removeStale(): Promise<void> {
  if (!existsSync(NETNS_DIR)) return;
  for (const name of readdirSync(NETNS_DIR)) {
    const m = new RegExp(`^${PREFIX}(\\d+)-`).exec(name);
    if (m && !alive(Number(m[1]))) await ip(['netns', 'delete', name]).catch(() => undefined);
  }
}

export interface BuildNetwork {
  /** Path of the namespace file to join. */
  path: string;
  close(): Promise<void>;
}

export async function openBuildNetwork(): Promise<BuildNetwork> {
  await removeStale();
  const name = `${PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`;
  await ip(['netns', 'add', name]);
  const path = `${NETNS_DIR}/${name}`;
  let slirp: ChildProcess | null = null;
  const close = async (): Promise<void> => {
    if (slirp && slirp.exitCode === null && slirp.signalCode === null) {
      const child = slirp;
      const exited = new Promise((r) => child.once('exit', r));
      child.ref(); // keep the event loop alive while waiting for it
      child.kill('SIGTERM');
      await exited;
    }
    await ip(['netns', 'delete', name]).catch(() => undefined);
  };
  try {
    // fd 3: ready pipe (slirp writes "1" when configured); fd 4: exit pipe
    // (slirp exits when it reads EOF, i.e. when we die).
    slirp = spawn('slirp4netns', ['--configure', '--mtu=65520', '--netns-type=path', '--ready-fd=3', '--exit-fd=4', path, 'tap0'], {
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    });
    const child = slirp;
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const ready = child.stdio[3] as NodeJS.ReadableStream;
      ready.once('data', () => resolve());
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`slirp4netns exited (${code}): ${stderr.trim()}`)));
    });
    child.removeAllListeners('exit');
    (child.stdio[3] as NodeJS.ReadableStream & { destroy(): void }).destroy();
    // Neither slirp nor its pipes keep tsbuild alive; when tsbuild exits the
    // exit pipe closes and slirp4netns follows.
    child.unref();
    for (const s of [child.stdio[2], child.stdio[4]]) (s as unknown as { unref?: () => void } | null)?.unref?.();
    return { path, close };
  } catch (e) {
    await close();
    throw e;
  }
}
