// HEALTHCHECK, as docker runs it: a probe every interval (every start
// interval while the start period lasts), each bounded by the timeout.
// Exit 0 makes the container healthy and resets the failing streak; a
// failure adds to the streak, except during the start period before the
// first success; `retries` consecutive failures make it unhealthy. The
// last five results are kept, outputs cut at 4 KiB.
import type { Healthcheck } from './container-config.js';

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

export interface HealthLogEntry {
  start: string;
  end: string;
  exitCode: number;
  output: string;
}

export interface HealthState {
  status: HealthStatus;
  failingStreak: number;
  log: HealthLogEntry[];
}

export interface ProbeResult {
  exitCode: number;
  output: string;
}

const KEEP = 5;
const MAX_OUTPUT = 4096;

/** One probe: runs the command, resolves its result; `signal` fires on timeout. */
export type Probe = (signal: AbortSignal) => Promise<ProbeResult>;

export class HealthMonitor {
  #state: HealthState = { status: 'starting', failingStreak: 0, log: [] };
  #timer: NodeJS.Timeout | undefined;
  #running: AbortController | null = null;
  #stopped = false;
  #started = 0;
  #succeeded = false;

  constructor(
    private readonly check: Healthcheck,
    private readonly probe: Probe,
    private readonly onUpdate: (state: HealthState) => void,
  ) {}

  get state(): HealthState {
    return this.#state;
  }

  start(): void {
    this.#started = Date.now();
    this.onUpdate(this.#state);
    this.#schedule();
  }

  #inStartPeriod(): boolean {
    return !this.#succeeded && Date.now() - this.#started < this.check.startPeriodMs;
  }

  #schedule(): void {
    if (this.#stopped) return;
    const delay = this.#inStartPeriod() ? this.check.startIntervalMs : this.check.intervalMs;
    this.#timer = setTimeout(() => void this.#run(), delay);
  }

  async #run(): Promise<void> {
    if (this.#stopped) return;
    const start = new Date();
    const ctl = new AbortController();
    this.#running = ctl;
    const timeout = setTimeout(() => ctl.abort(), this.check.timeoutMs);
    let result: ProbeResult;
    try {
      result = await this.probe(ctl.signal);
    } catch (err) {
      result = { exitCode: -1, output: (err as Error).message };
    }
    clearTimeout(timeout);
    this.#running = null;
    if (this.#stopped) return;
    if (ctl.signal.aborted) result = { exitCode: -1, output: `Health check exceeded timeout (${this.check.timeoutMs / 1000}s)` };
    const countsAsFailure = !this.#inStartPeriod();
    const entry: HealthLogEntry = {
      start: start.toISOString(),
      end: new Date().toISOString(),
      exitCode: result.exitCode,
      output: result.output.slice(0, MAX_OUTPUT),
    };
    const log = [...this.#state.log, entry].slice(-KEEP);
    if (result.exitCode === 0) {
      this.#succeeded = true;
      this.#state = { status: 'healthy', failingStreak: 0, log };
    } else if (countsAsFailure) {
      const streak = this.#state.failingStreak + 1;
      this.#state = { status: streak >= this.check.retries ? 'unhealthy' : this.#state.status, failingStreak: streak, log };
    } else {
      this.#state = { ...this.#state, log };
    }
    this.onUpdate(this.#state);
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#running?.abort();
  }
}
