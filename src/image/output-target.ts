// Where an exported archive goes: a file (written under a temporary name
// beside it and renamed into place only when complete, so a failed or
// interrupted export never leaves a truncated archive under the real
// name) or stdout (never ended: the process still owns it).
import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { ImageError } from './errors.js';

export interface OutputTarget {
  readonly stream: Writable;
  /** After the stream has been ended by the writer: put the file in place. */
  commit(): Promise<void>;
  /** Drop whatever was written (files only; stdout cannot be taken back). */
  abort(): Promise<void>;
}

/**
 * A Writable that forwards to `out` with backpressure and never ends it.
 * An error of `out` (EPIPE when the reader went away) fails the wrapper;
 * `release()` detaches from `out` afterwards.
 */
export function unclosable(out: Writable): { stream: Writable; release(): void } {
  let failed: Error | null = null;
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (failed !== null) {
        callback(failed);
        return;
      }
      if (out.write(chunk)) {
        callback();
        return;
      }
      const settle = (): void => {
        out.off('drain', settle);
        out.off('error', settle);
        callback(failed);
      };
      out.on('drain', settle);
      out.on('error', settle);
    },
    final(callback) {
      callback(failed);
    },
  });
  // Surfaced through the writer's own error handling, never as an
  // unhandled 'error' event.
  stream.on('error', () => undefined);
  const onError = (err: Error): void => {
    failed ??= err;
  };
  out.on('error', onError);
  return { stream, release: () => void out.off('error', onError) };
}

function outputError(file: string, err: unknown): ImageError {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return new ImageError('TSB_IMAGE_OUTPUT', `cannot write ${file}: ${code ?? (err as Error).message}`, { path: file, cause: err });
}

/** Errors of the destination itself (as opposed to the content being exported). */
function isDestinationError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ENOSPC' || code === 'EIO' || code === 'EDQUOT';
}

/** `dest` is a path, or '-' for `stdout`. */
export async function openOutputTarget(dest: string, stdout: Writable): Promise<OutputTarget> {
  if (dest === '-') {
    const { stream, release } = unclosable(stdout);
    return {
      stream,
      async commit() {
        // Ends only the wrapper: waits until every byte was handed to stdout.
        try {
          if (!stream.writableFinished) {
            stream.end();
            await finished(stream);
          }
        } catch (err) {
          throw outputError('stdout', err);
        } finally {
          release();
        }
      },
      async abort() {
        stream.destroy();
        release();
      },
    };
  }
  const file = path.resolve(dest);
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.tsbuild-${process.pid}-${randomBytes(4).toString('hex')}.tmp`);
  const stream = createWriteStream(tmp, { flags: 'wx', mode: 0o644 });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (err) => reject(outputError(file, err)));
  });
  stream.on('error', () => undefined); // reported through pipeline/finished
  return {
    stream,
    async commit() {
      try {
        if (!stream.writableFinished) {
          stream.end();
          await finished(stream);
        }
        await rename(tmp, file);
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        throw outputError(file, err);
      }
    },
    async abort() {
      stream.destroy();
      await unlink(tmp).catch(() => undefined);
    },
  };
}

/** Run `write` against the target for `dest`; commit on success, abort on failure. */
export async function withOutputTarget(dest: string, stdout: Writable, write: (out: Writable) => Promise<void>): Promise<void> {
  const target = await openOutputTarget(dest, stdout);
  try {
    await write(target.stream);
  } catch (err) {
    await target.abort();
    throw isDestinationError(err) ? outputError(dest === '-' ? 'stdout' : path.resolve(dest), err) : err;
  }
  await target.commit();
}
