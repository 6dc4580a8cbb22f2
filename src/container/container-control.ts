// Signals to a running container and waiting for its end. Signals go to
// the main process (pid 2 inside, the child of the sandbox's init) by host
// pid, so any signal works and none is interpreted on the way.
import { setTimeout as sleep } from 'node:timers/promises';
import { readRecord, type ContainerRecord } from './containers.js';
import { liveState } from './container-state.js';
import { ContainerError } from './errors.js';
import { isAlive, mainProcessOf, signalProcess } from './process-ref.js';

export function isRunning(rec: ContainerRecord): boolean {
  return liveState(rec.state).status === 'running';
}

/** Sends `sig` to the container's main process; false when it is not running. */
export function signalContainer(rec: ContainerRecord, sig: NodeJS.Signals): boolean {
  if (!isRunning(rec) || rec.state.init === null) return false;
  const main = mainProcessOf(rec.state.init);
  if (main !== null && signalProcess(main, sig)) return true;
  // Only init is left (the command is exiting): SIGKILL to init ends it all.
  return sig === 'SIGKILL' && signalProcess(rec.state.init, 'SIGKILL');
}

/**
 * Waits until the container has ended and its supervisor has recorded it
 * (or died): true, or false after `timeoutMs`.
 */
export async function waitForEnd(root: string, id: string, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rec = readRecord(root, id);
    if (rec === null) return true;
    const done = rec.state.status !== 'running' || (!isAlive(rec.state.supervisor) && !isAlive(rec.state.init));
    if (done) return true;
    if (Date.now() >= deadline || signal?.aborted === true) return false;
    await sleep(20);
  }
}

/** docker stop: the stop signal, `timeoutSec` to end, then SIGKILL. */
export async function stopContainer(root: string, rec: ContainerRecord, timeoutSec: number, signal?: AbortSignal): Promise<void> {
  if (!isRunning(rec)) return;
  signalContainer(rec, rec.config.stopSignal);
  if (await waitForEnd(root, rec.config.id, timeoutSec * 1000, signal)) return;
  const now = readRecord(root, rec.config.id);
  if (now === null) return;
  signalContainer(now, 'SIGKILL');
  if (!(await waitForEnd(root, rec.config.id, 10_000, signal))) {
    throw new ContainerError('TSB_CONTAINER_RUNNING', `container ${rec.config.name} did not end after SIGKILL`);
  }
}
