// rm: everything a container had, gone, whatever state it was left in
// (a supervisor killed with kill -9 included): leftover sandbox processes
// (checked by pid and start time), the cgroup leaves recorded in its state,
// its network namespace, veth and address lease, its anonymous volumes
// (with -v), its name and its directory (upper and work dirs, log).
import { setTimeout as sleep } from 'node:timers/promises';
import { removeCgroups } from '../../executor/sandbox/index.js';
import { detachContainer } from './bridge-network.js';
import { listContainers, removeContainerRecord, type ContainerRecord } from './containers.js';
import { isAlive, signalProcess } from './process-ref.js';
import { removeVolumeDir } from './volumes.js';

async function waitGone(refs: Array<Parameters<typeof isAlive>[0]>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (refs.some((r) => isAlive(r)) && Date.now() < deadline) await sleep(10);
}

export async function removeContainer(root: string, rec: ContainerRecord, opts: { volumes: boolean }): Promise<void> {
  const { config, state } = rec;
  // The supervisor is done (rm waits for it) or dead; what it started may not be.
  signalProcess(state.helper, 'SIGPWR');
  signalProcess(state.init, 'SIGKILL');
  await waitGone([state.helper, state.init], 5000);
  signalProcess(state.helper, 'SIGKILL');
  await waitGone([state.helper], 1000);
  await Promise.all([
    state.cgroups.length > 0 ? removeCgroups(state.cgroups) : undefined,
    // The kernel takes the veth pair along with the namespace, a few ms later.
    state.network !== null ? detachContainer(root, state.network, config.id) : undefined,
    removeContainerRecord(root, config),
  ]);
  if (opts.volumes) {
    const anonymous = config.mounts.filter((m) => m.type === 'volume' && m.anonymous && m.name !== undefined).map((m) => m.name as string);
    if (anonymous.length > 0) {
      const used = new Set((await listContainers(root)).flatMap((r) => r.config.mounts.map((m) => m.name)));
      for (const name of anonymous) if (!used.has(name)) await removeVolumeDir(root, name);
    }
  }
}
