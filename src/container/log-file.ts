// The container log: JSON lines {"stream","time","data"}, one per output
// line like docker's json-file driver (a line without its newline yet is
// written after 200 ms of silence, or at the end). `logs --tail N` counts
// these entries.
import { createWriteStream, type WriteStream } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { setTimeout as sleep } from 'node:timers/promises';

export type LogStream = 'stdout' | 'stderr';

export interface LogEntry {
  stream: LogStream;
  /** ISO time with nanosecond-style precision is not kept: milliseconds. */
  time: string;
  data: string;
}

/** Partial lines longer than this are written as they are. */
const MAX_PENDING = 16 * 1024;
const PARTIAL_FLUSH_MS = 200;

export class LogWriter {
  readonly #out: WriteStream;
  readonly #pending = new Map<LogStream, string>();
  readonly #decoders = new Map<LogStream, StringDecoder>();
  #timer: NodeJS.Timeout | undefined;
  #closed: Promise<void> | null = null;

  constructor(file: string) {
    this.#out = createWriteStream(file, { flags: 'a', mode: 0o600 });
    this.#out.on('error', () => undefined); // the container was removed under us
  }

  #emit(stream: LogStream, data: string): void {
    if (data === '') return;
    this.#out.write(JSON.stringify({ stream, time: new Date().toISOString(), data }) + '\n');
  }

  write(stream: LogStream, chunk: Buffer): void {
    if (this.#closed !== null) return;
    let decoder = this.#decoders.get(stream);
    if (decoder === undefined) {
      decoder = new StringDecoder('utf8');
      this.#decoders.set(stream, decoder);
    }
    let text = (this.#pending.get(stream) ?? '') + decoder.write(chunk);
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n')) {
      this.#emit(stream, text.slice(0, nl + 1));
      text = text.slice(nl + 1);
    }
    if (text.length > MAX_PENDING) {
      this.#emit(stream, text);
      text = '';
    }
    this.#pending.set(stream, text);
    if (text !== '') {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => this.#flushPartial(), PARTIAL_FLUSH_MS);
      this.#timer.unref();
    }
  }

  #flushPartial(): void {
    for (const [stream, text] of this.#pending) {
      const rest = text + (this.#decoders.get(stream)?.end() ?? '');
      this.#decoders.delete(stream);
      this.#emit(stream, rest);
    }
    this.#pending.clear();
  }

  close(): Promise<void> {
    if (this.#closed === null) {
      clearTimeout(this.#timer);
      this.#flushPartial();
      this.#closed = new Promise<void>((resolve) => this.#out.end(() => resolve()));
    }
    return this.#closed;
  }
}

function parseLines(text: string): LogEntry[] {
  const out: LogEntry[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    try {
      const e = JSON.parse(line) as LogEntry;
      if ((e.stream === 'stdout' || e.stream === 'stderr') && typeof e.data === 'string') out.push(e);
    } catch {
      // a torn last line (the writer was killed mid-write): skip it
    }
  }
  return out;
}

/** Every entry of the log (none when there is no log yet). */
export async function readLog(file: string): Promise<{ entries: LogEntry[]; size: number }> {
  try {
    const text = await readFile(file, 'utf8');
    const complete = text.lastIndexOf('\n') + 1;
    return { entries: parseLines(text.slice(0, complete)), size: Buffer.byteLength(text.slice(0, complete)) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], size: 0 };
    throw err;
  }
}

/**
 * Calls `onEntry` for entries written after byte `offset`, polling, until
 * `running()` turns false and nothing more is there, or `signal` aborts.
 */
export async function followLog(
  file: string,
  offset: number,
  onEntry: (e: LogEntry) => void,
  running: () => boolean,
  signal?: AbortSignal,
): Promise<void> {
  let pos = offset;
  let carry = '';
  for (;;) {
    const alive = running();
    const size = await stat(file).then((s) => s.size, () => pos);
    if (size > pos) {
      const fh = await open(file, 'r');
      try {
        const buf = Buffer.alloc(size - pos);
        const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
        pos += bytesRead;
        const text = carry + buf.subarray(0, bytesRead).toString('utf8');
        const complete = text.lastIndexOf('\n') + 1;
        carry = text.slice(complete);
        for (const e of parseLines(text.slice(0, complete))) onEntry(e);
      } finally {
        await fh.close();
      }
      continue;
    }
    if (!alive || signal?.aborted === true) return;
    await sleep(100, undefined, signal ? { signal } : undefined).catch(() => undefined);
  }
}
