// The command's view of the outside world, so commands are testable
// in-process and only cli.ts touches process.stdout/exit.
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';

export interface Io {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  readStdin(): string;
  isTTY: boolean;
  /** The stream progress goes to, for renderers that redraw (tty). */
  errStream: NodeJS.WriteStream | null;
  /** Aborted on SIGINT/SIGTERM: long operations stop and clean up. */
  signal?: AbortSignal;
  /** Remember an input's text so the error printer can quote it (kind: "dockerfile"). */
  recordSource(kind: string, text: string): void;
  /** Binary stdout for archives (`save`, `--output dest=-`). Commands never end it. */
  stdout: Writable & { isTTY?: boolean };
  /** Binary stdin (`load` without -i); opened only when asked for. */
  openStdin(): Readable;
  /**
   * While a foreground container runs, SIGINT, SIGTERM, SIGHUP, SIGQUIT,
   * SIGUSR1 and SIGUSR2 go to `forward` instead of aborting the command
   * (docker's sig-proxy). Returns the function that stops forwarding.
   */
  trapSignals?(forward: (sig: NodeJS.Signals) => void): () => void;
}

export function processIo(signal?: AbortSignal): Io {
  return {
    errStream: process.stderr,
    ...(signal ? { signal } : {}),
    out: (t) => void process.stdout.write(t),
    err: (t) => void process.stderr.write(t),
    env: process.env,
    readStdin: () => readFileSync(0, 'utf8'),
    isTTY: Boolean(process.stderr.isTTY),
    recordSource: () => undefined,
    stdout: process.stdout,
    openStdin: () => process.stdin,
  };
}
