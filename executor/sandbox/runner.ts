// The sandbox as the executor's RUN step consumes it: run + opaque xattrs,
// with output delivered as chunks.
import { listOpaque, setOpaque } from './opaque.js';
import { runSandbox, type SandboxResult } from './run-sandbox.js';
import type { SandboxSpec } from './spec.js';

export interface SandboxRunIo {
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
  signal?: AbortSignal;
}

export interface NativeSandboxRunner {
  run(spec: SandboxSpec, io: SandboxRunIo): Promise<SandboxResult>;
  setOpaque(paths: string[]): Promise<void>;
  listOpaque(dir: string): Promise<string[]>;
}

/** `binary` defaults to findSandboxBinary(), looked up on each call. */
export function createSandboxRunner(opts: { binary?: string } = {}): NativeSandboxRunner {
  const bin = opts.binary !== undefined ? { binary: opts.binary } : {};
  return {
    run: (spec, io) =>
      runSandbox(spec, { stdout: io.onStdout, stderr: io.onStderr, ...(io.signal ? { signal: io.signal } : {}), ...bin }),
    setOpaque: (paths) => setOpaque(paths, opts.binary),
    listOpaque: (dir) => listOpaque(dir, opts.binary),
  };
}
