// A tar archive of named files, written entry by entry into a Writable
// (archives of image layouts: OCI layout tars, docker archives). Bodies are
// streamed with backpressure, never buffered whole. Headers are fixed
// (mtime 0, root, 0644/0755) so the same content gives the same archive.
import type { Readable, Writable } from 'node:stream';
import { pack, type Pack } from 'tar-stream';
import { addPackEntry, packEntryDrained } from '../../executor/layer/index.js';

const EPOCH = new Date(0);

export class TarWriter {
  readonly #tar: Pack = pack();
  readonly #out: Writable;
  readonly #pump: Promise<void>;
  readonly #dirs = new Set<string>();
  #failed: Error | null = null;

  constructor(out: Writable) {
    this.#out = out;
    this.#pump = this.#run();
    this.#pump.catch(() => undefined);
  }

  async #run(): Promise<void> {
    const out = this.#out;
    try {
      for await (const chunk of this.#tar as AsyncIterable<Buffer>) {
        if (out.destroyed) throw out.errored ?? new Error('output closed');
        if (!out.write(chunk)) {
          await new Promise<void>((resolve, reject) => {
            const done = (err?: Error | null): void => {
              out.off('drain', onDrain);
              out.off('error', done);
              out.off('close', onClose);
              if (err) reject(err);
              else resolve();
            };
            const onDrain = (): void => done();
            const onClose = (): void => done(out.errored ?? new Error('output closed'));
            out.on('drain', onDrain);
            out.on('error', done);
            out.on('close', onClose);
          });
        }
      }
    } catch (err) {
      this.#failed = err as Error;
      this.#tar.destroy();
      throw err;
    }
  }

  #check(): void {
    if (this.#failed) throw this.#failed;
  }

  /** Add `name/` and any missing parents. */
  async directory(name: string): Promise<void> {
    const parts = name.split('/').filter((p) => p !== '');
    for (let i = 1; i <= parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (this.#dirs.has(dir)) continue;
      this.#dirs.add(dir);
      this.#check();
      const { done } = addPackEntry(this.#tar, { name: `${dir}/`, type: 'directory', mode: 0o755, mtime: EPOCH, uid: 0, gid: 0 });
      await done;
    }
  }

  async #parents(name: string): Promise<void> {
    const slash = name.lastIndexOf('/');
    if (slash > 0) await this.directory(name.slice(0, slash));
  }

  async file(name: string, data: Buffer | string): Promise<void> {
    await this.#parents(name);
    this.#check();
    const body = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    const { done } = addPackEntry(this.#tar, { name, type: 'file', size: body.length, mode: 0o644, mtime: EPOCH, uid: 0, gid: 0 }, body);
    await done;
  }

  /** Add a file whose body (exactly `size` bytes) comes from `body`. */
  async stream(name: string, size: number, body: Readable): Promise<void> {
    await this.#parents(name);
    this.#check();
    const { sink, done } = addPackEntry(this.#tar, { name, type: 'file', size, mode: 0o644, mtime: EPOCH, uid: 0, gid: 0 });
    let written = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        this.#check();
        written += chunk.length;
        if (written > size) break;
        if (!sink.write(chunk)) await packEntryDrained(sink);
      }
    } catch (err) {
      sink.destroy(err as Error);
      throw err;
    } finally {
      body.destroy();
    }
    if (written !== size) {
      const err = new Error(`${name}: body is ${written > size ? 'longer' : 'shorter'} than ${size} bytes`);
      sink.destroy(err);
      throw err;
    }
    sink.end(undefined);
    await done;
  }

  /** Write the end-of-archive blocks and wait until everything reached `out`. */
  async finish(): Promise<void> {
    this.#check();
    this.#tar.finalize();
    await this.#pump;
  }

  /** Stop after a failure; `out` is left to its owner. */
  destroy(): void {
    this.#tar.destroy();
  }
}
