// The caller's terminal for `run`/`exec` with -i and -t: stdin handed to the
// container (raw mode when it is a terminal and -t is given, so ^C and the
// like reach the container's pty as bytes), the pty's initial size, and
// window size changes.
import type { Readable } from 'node:stream';
import type { Io } from '../io.js';

export interface AttachedTerminal {
  stdin: Readable | undefined;
  size: { rows: number; cols: number } | null;
  onResize(fn: (rows: number, cols: number) => void): void;
  /** Back to how the terminal was; stdin released. */
  restore(): void;
}

type TtyIn = Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
type TtyOut = { isTTY?: boolean; rows?: number; columns?: number; on?(ev: 'resize', fn: () => void): unknown; off?(ev: 'resize', fn: () => void): unknown };

export function attachTerminal(io: Io, opts: { interactive: boolean; tty: boolean }): AttachedTerminal {
  const out = io.stdout as unknown as TtyOut;
  const size = opts.tty && out.isTTY === true && out.rows !== undefined && out.columns !== undefined ? { rows: out.rows, cols: out.columns } : null;
  const stdin = opts.interactive ? (io.openStdin() as TtyIn) : undefined;
  let raw = false;
  if (stdin !== undefined && opts.tty && stdin.isTTY === true && typeof stdin.setRawMode === 'function') {
    stdin.setRawMode(true);
    raw = true;
  }
  let resize: (() => void) | null = null;
  return {
    stdin,
    size,
    onResize(fn) {
      if (!opts.tty || out.isTTY !== true || out.on === undefined) return;
      resize = () => {
        if (out.rows !== undefined && out.columns !== undefined) fn(out.rows, out.columns);
      };
      out.on('resize', resize);
    },
    restore() {
      if (resize !== null) out.off?.('resize', resize);
      if (raw) stdin?.setRawMode?.(false);
      if (stdin !== undefined) {
        stdin.pause();
        // A pipe or file stays open otherwise and keeps the process alive.
        if ((stdin as TtyIn).isTTY !== true) stdin.destroy();
        else (stdin as unknown as { unref?: () => void }).unref?.();
      }
    },
  };
}
