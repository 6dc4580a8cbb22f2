// LayerEntry sequence → tar bytes. Pure encoding: this file never touches the
// filesystem; file bodies come from each entry's `open()`.
//
// Reproducibility: entries are written in the order given (walk.ts yields
// them sorted), uname/gname stay empty, uid/gid numeric, mtimes whole seconds
// and, with `sourceDateEpoch`, clamped to it. The PAX header block that
// tar-stream emits is named `PaxHeader` and carries the entry's own clamped
// mtime, so it holds nothing that varies between runs either.
import { Readable } from 'node:stream';
import { pack, type Header } from 'tar-stream';
import type { LayerEntry, LayerEntryType } from './entry.js';
import { LayerError } from './errors.js';
import { addPackEntry, packEntryDrained } from './pack-entry.js';

export interface PackOptions {
  /** Seconds since the epoch; later mtimes are clamped to it. */
  sourceDateEpoch?: number;
}

/** The largest id a ustar header holds (6 octal digits); larger ones go to PAX. */
const USTAR_MAX_ID = 0o777777;
const OUTPUT_HIGH_WATER_MARK = 64 * 1024;

const TAR_TYPE: Record<LayerEntryType, Header['type']> = {
  file: 'file',
  directory: 'directory',
  symlink: 'symlink',
  hardlink: 'link',
  char: 'character-device',
  block: 'block-device',
  fifo: 'fifo',
};

// tar-stream replaces a falsy mode with 0644/0755, which would turn a real
// mode 000 into 0644. Passing the file-type bits as well keeps the value
// truthy; the ustar encoder masks with 07777, so they never reach the output.
const TYPE_BITS: Record<LayerEntryType, number> = {
  file: 0o100000,
  directory: 0o040000,
  symlink: 0o120000,
  hardlink: 0o100000,
  char: 0o020000,
  block: 0o060000,
  fifo: 0o010000,
};

function badEntry(entry: LayerEntry, why: string): LayerError {
  return new LayerError('TSB_LAYER_BAD_ENTRY', `${entry.path}: ${why}`, { entry: entry.path });
}

function validate(entry: LayerEntry): void {
  const p = entry.path;
  if (p === '' || p.startsWith('/') || p.endsWith('/')) throw badEntry(entry, 'path must be relative, without leading or trailing "/"');
  if (p.includes('\0')) throw badEntry(entry, 'path contains a NUL byte');
  // Never emit what applyLayer would refuse: no '.', '..' or empty components.
  if (p.split('/').some((c) => c === '' || c === '.' || c === '..')) throw badEntry(entry, "path has an empty, '.' or '..' component");
  if ((entry.type === 'symlink' || entry.type === 'hardlink') && !entry.linkname) throw badEntry(entry, `${entry.type} without linkname`);
  if (!Number.isSafeInteger(entry.size) || entry.size < 0) throw badEntry(entry, `bad size ${entry.size}`);
  if (entry.type !== 'file' && entry.size !== 0) throw badEntry(entry, `a ${entry.type} has no body`);
  if (entry.type === 'file' && entry.size > 0 && entry.open === undefined) throw badEntry(entry, 'file with a size but no open()');
  for (const id of [entry.uid, entry.gid]) {
    if (!Number.isSafeInteger(id) || id < 0) throw badEntry(entry, `bad uid/gid ${id}`);
  }
}

/** Whole seconds, never negative, never after the epoch when one is given. */
function headerMtime(mtime: Date, epoch: number | undefined): Date {
  let secs = Math.floor(mtime.getTime() / 1000);
  if (!Number.isFinite(secs) || secs < 0) secs = 0;
  if (epoch !== undefined && secs > epoch) secs = epoch;
  return new Date(secs * 1000);
}

export function toTarHeader(entry: LayerEntry, opts: PackOptions): Header {
  validate(entry);
  const size = entry.type === 'file' ? entry.size : 0;
  const header: Header = {
    // Directories carry a trailing slash in layer tars (docker, buildkit).
    name: entry.type === 'directory' ? `${entry.path}/` : entry.path,
    type: TAR_TYPE[entry.type],
    mode: (entry.mode & 0o7777) | TYPE_BITS[entry.type],
    uid: entry.uid,
    gid: entry.gid,
    size,
    mtime: headerMtime(entry.mtime, opts.sourceDateEpoch),
    linkname: entry.linkname ?? '',
    uname: '',
    gname: '',
    devmajor: entry.devmajor ?? 0,
    devminor: entry.devminor ?? 0,
  };
  const pax: Record<string, string> = {};
  if (entry.uid > USTAR_MAX_ID) pax.uid = String(entry.uid);
  if (entry.gid > USTAR_MAX_ID) pax.gid = String(entry.gid);
  if (entry.xattrs !== undefined) {
    // Sorted so the same attributes always produce the same PAX block.
    for (const key of Object.keys(entry.xattrs).sort()) {
      const value = entry.xattrs[key];
      if (value === undefined) continue;
      if (key.includes('=') || key.includes('\n') || key.includes('\0')) throw badEntry(entry, `bad xattr name ${JSON.stringify(key)}`);
      pax[`SCHILY.xattr.${key}`] = value;
    }
  }
  // Long and non-ASCII names need no help: tar-stream falls back to a PAX
  // `path`/`linkpath` record whenever the ustar fields cannot hold them.
  if (Object.keys(pax).length > 0) header.pax = pax;
  return header;
}

/**
 * Encode `entries` as an uncompressed tar stream. Entries are written in the
 * order given; each file body is streamed to the end before the next entry
 * starts, and nothing is pulled from `entries` or a body while the consumer
 * is not reading (backpressure all the way down to the walker).
 */
export function packTar(entries: AsyncIterable<LayerEntry>, opts: PackOptions = {}): Readable {
  const epoch = opts.sourceDateEpoch;
  if (epoch !== undefined && !(Number.isSafeInteger(epoch) && epoch >= 0)) {
    throw new RangeError(`sourceDateEpoch must be a non-negative integer, got ${epoch}`);
  }
  const tar = pack();
  let started = false;
  let closed = false;
  let wake: (() => void) | null = null;
  let body: Readable | null = null;

  const wakeUp = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };

  const out = new Readable({
    highWaterMark: OUTPUT_HIGH_WATER_MARK,
    read() {
      tar.resume();
      if (!started) {
        started = true;
        feed().catch((err: unknown) => out.destroy(err as Error));
      }
      wakeUp();
    },
    destroy(err, callback) {
      closed = true;
      body?.destroy();
      tar.destroy();
      wakeUp();
      callback(err);
    },
  });

  // tar-stream's pack is a streamx Readable: bridge it into a Node Readable,
  // pausing it whenever `out` is full so its own push() reports backpressure
  // to the entry sinks.
  tar.on('data', (chunk) => {
    if (!out.push(chunk)) tar.pause();
  });
  tar.on('end', () => out.push(null));
  tar.on('error', (err: Error) => out.destroy(err));

  const waitForRoom = async (): Promise<void> => {
    // Header-only entries never block inside tar-stream, so without this a
    // directory of a million symlinks would be buffered whole.
    while (!closed && out.readableLength >= out.readableHighWaterMark) {
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };

  const writeEntry = async (entry: LayerEntry): Promise<void> => {
    const header = toTarHeader(entry, opts);
    const { sink, done } = addPackEntry(tar, header);
    if (entry.type !== 'file') {
      await done;
      return;
    }
    let written = 0;
    if (entry.open !== undefined) {
      body = entry.open();
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          if (closed) throw new Error('tar stream closed');
          written += chunk.length;
          // Checked before writing: tar-stream would emit the excess bytes
          // and only complain at the end, leaving a corrupt archive behind.
          if (written > entry.size) break;
          if (!sink.write(chunk)) await packEntryDrained(sink);
        }
      } finally {
        body.destroy();
        body = null;
      }
    }
    if (written !== entry.size) {
      const err = new LayerError(
        'TSB_LAYER_SIZE_MISMATCH',
        `${entry.path}: body ${written > entry.size ? 'longer' : 'shorter'} than its size ${entry.size}`,
        { entry: entry.path },
      );
      sink.destroy(err);
      throw err;
    }
    sink.end(undefined);
    await done;
  };

  const feed = async (): Promise<void> => {
    for await (const entry of entries) {
      await waitForRoom();
      if (closed) return;
      await writeEntry(entry);
    }
    if (!closed) tar.finalize();
  };

  return out;
}
