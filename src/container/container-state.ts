// A container's state.json: what its supervisor last recorded, written
// atomically on every transition. Whether it still runs is decided when it
// is read: a "running" container whose supervisor and sandbox init are both
// gone (kill -9) is reported as exited.
import type { NetworkAttachment } from './bridge-network.js';
import type { HealthState } from './healthcheck.js';
import type { PortSpec } from './port-spec.js';
import { isAlive, type ProcessRef } from './process-ref.js';
import { readJsonFile, writeJsonAtomic } from './atomic-json.js';
import { ContainerError } from './errors.js';

export type ContainerStatus = 'created' | 'running' | 'exited';

export interface ContainerState {
  status: ContainerStatus;
  /** The process that started the sandbox and records its end (the CLI in the foreground). */
  supervisor: ProcessRef | null;
  /** tsbuild-sandbox. */
  helper: ProcessRef | null;
  /** The sandbox's init (pid 1 inside). */
  init: ProcessRef | null;
  /** cgroup leaf directories (the helper removes them; rm does after a kill -9). */
  cgroups: string[];
  exitCode: number | null;
  /** The signal that ended the main process, if one did. */
  signal: number | null;
  oomKilled: boolean;
  /** Why the container failed to start, or why it ended outside its own control. */
  error: string;
  startedAt: string | null;
  finishedAt: string | null;
  health: HealthState | null;
  network: NetworkAttachment | null;
  /** Published ports as bound. */
  ports: PortSpec[];
}

export function initialState(): ContainerState {
  return {
    status: 'created',
    supervisor: null,
    helper: null,
    init: null,
    cgroups: [],
    exitCode: null,
    signal: null,
    oomKilled: false,
    error: '',
    startedAt: null,
    finishedAt: null,
    health: null,
    network: null,
    ports: [],
  };
}

/** Exit code reported for a container whose supervisor died without recording one (it was SIGKILLed with it). */
export const LOST_EXIT_CODE = 137;

/** The state as it is now: a recorded "running" whose processes are gone becomes "exited". */
export function liveState(state: ContainerState): ContainerState {
  if (state.status !== 'running') return state;
  if (isAlive(state.supervisor) || isAlive(state.init)) return state;
  return {
    ...state,
    status: 'exited',
    exitCode: state.exitCode ?? LOST_EXIT_CODE,
    error: state.error || 'the supervisor was killed; the container was killed with it',
    health: state.health === null ? null : { ...state.health, status: 'unhealthy' },
  };
}

export function readState(file: string): ContainerState | null {
  try {
    return readJsonFile<ContainerState>(file);
  } catch (err) {
    throw new ContainerError('TSB_CONTAINER_CORRUPT', `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Serialises the supervisor's updates so renames land in order. */
export class StateFile {
  #state: ContainerState;
  #chain: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    initial: ContainerState,
  ) {
    this.#state = initial;
  }

  get current(): ContainerState {
    return this.#state;
  }

  update(patch: Partial<ContainerState>): Promise<void> {
    this.#state = { ...this.#state, ...patch };
    const snapshot = this.#state;
    // A container removed while running (rm -f) has no directory left to write to.
    this.#chain = this.#chain.then(() => writeJsonAtomic(this.path, snapshot).catch(() => undefined));
    return this.#chain;
  }
}
