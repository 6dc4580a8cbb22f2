// Adding one entry to a tar-stream pack without ever leaving a rejection or
// a stream error unobserved, and waiting on an entry's backpressure. Shared
// by the layer encoder (tar.ts) and the image-archive writer in src/image.
import type { Pack } from 'tar-stream';

export type PackEntrySink = ReturnType<Pack['entry']>;

export function addPackEntry(tar: Pack, header: Parameters<Pack['entry']>[0], body?: Buffer): { sink: PackEntrySink; done: Promise<void> } {
  let sink!: PackEntrySink;
  const done = new Promise<void>((resolve, reject) => {
    const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
    sink = body === undefined ? tar.entry(header, cb) : tar.entry(header, body, cb);
  });
  // Observed by the caller later; never an unhandled rejection meanwhile.
  done.catch(() => undefined);
  // A sink's failure also reaches `done` and the pack stream; without a
  // listener streamx would rethrow it as an uncaught exception.
  sink.on('error', () => undefined);
  return { sink, done };
}

/** Wait until a streamx writable drains or goes away. */
export function packEntryDrained(sink: PackEntrySink): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      sink.off('drain', done);
      sink.off('close', done);
      resolve();
    };
    sink.on('drain', done);
    sink.on('close', done);
  });
}
