// The helper's status fd: line-delimited JSON (native/README.md).
//   {"cgroup":[paths]}                      before the cgroup is created
//   {"ok":true,"pid":N}                     the command was exec'd (N: sandbox init, host pid)
//   {"ok":false,"stage",…,"message"}        setup failed (helper exit 125)
//   {"exited":true,"status",…}              the command ended
import { SandboxError } from './errors.js';

export type StatusMessage =
  | { kind: 'cgroup'; paths: string[] }
  | { kind: 'started'; pid: number }
  | { kind: 'failed'; stage: string; syscall: string | null; errno: number | null; message: string }
  | { kind: 'exited'; status: number; signal: number | null; oom: boolean; memoryPeak: number | null; cpuUsec: number | null };

function protocolError(line: string, why: string): SandboxError {
  return new SandboxError('TSB_SANDBOX_HELPER', `sandbox helper status: ${why}: ${line.slice(0, 200)}`);
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const intOrNull = (v: unknown): v is number | null => v === null || isInt(v);
const strOrNull = (v: unknown): v is string | null => v === null || typeof v === 'string';

/** One status line → message; TSB_SANDBOX_HELPER for anything malformed. */
export function parseStatusLine(line: string): StatusMessage {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw protocolError(line, 'not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw protocolError(line, 'not an object');
  const o = v as Record<string, unknown>;
  if (Array.isArray(o.cgroup) && o.cgroup.every((p) => typeof p === 'string')) {
    return { kind: 'cgroup', paths: o.cgroup as string[] };
  }
  if (o.ok === true && isInt(o.pid)) return { kind: 'started', pid: o.pid };
  if (o.ok === false && typeof o.stage === 'string' && typeof o.message === 'string' && strOrNull(o.syscall) && intOrNull(o.errno)) {
    return { kind: 'failed', stage: o.stage, syscall: o.syscall, errno: o.errno, message: o.message };
  }
  if (
    o.exited === true &&
    isInt(o.status) &&
    intOrNull(o.signal) &&
    typeof o.oom === 'boolean' &&
    intOrNull(o.memory_peak) &&
    intOrNull(o.cpu_usec)
  ) {
    return { kind: 'exited', status: o.status, signal: o.signal, oom: o.oom, memoryPeak: o.memory_peak, cpuUsec: o.cpu_usec };
  }
  throw protocolError(line, 'unknown message');
}

/** Splits a byte stream into status messages, whatever the chunking. */
export class StatusReader {
  #pending = '';
  readonly #decoder = new TextDecoder();

  push(chunk: Uint8Array): StatusMessage[] {
    this.#pending += this.#decoder.decode(chunk, { stream: true });
    const out: StatusMessage[] = [];
    for (let nl = this.#pending.indexOf('\n'); nl >= 0; nl = this.#pending.indexOf('\n')) {
      const line = this.#pending.slice(0, nl);
      this.#pending = this.#pending.slice(nl + 1);
      if (line.trim() !== '') out.push(parseStatusLine(line));
    }
    return out;
  }

  /** At EOF: a partial last line is a protocol error. */
  end(): void {
    this.#pending += this.#decoder.decode();
    if (this.#pending.trim() !== '') throw protocolError(this.#pending, 'truncated line');
  }
}
