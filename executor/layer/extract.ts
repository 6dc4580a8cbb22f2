// Archive bytes → files under destDir. Every archive is treated as hostile;
// see safe-path.ts for the path rules and applier.ts for what each entry
// does. Entries are applied strictly one after another, so no two writes can
// overlap or race each other.
import { mkdir, realpath } from 'node:fs/promises';
import { addAbortSignal, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, type Extract } from 'tar-stream';
import { LayerApplier, type WhiteoutMode, type XattrRecord } from './applier.js';
import { decompressorFor, detectCompression, sniff, type ArchiveCompression } from './decompress.js';
import { LayerError } from './errors.js';

export interface ApplyOptions {
  /**
   * - 'apply': `.wh.x` removes x and `.wh..wh..opq` empties its directory,
   *   both only of what lower layers left (a flat rootfs).
   * - 'overlay': `.wh.x` becomes an overlayfs whiteout (char 0/0, made by
   *   spawning `mknod`); opaque directories are returned in `opaqueDirs`,
   *   because Node cannot set the `trusted.overlay.opaque=y` xattr: the
   *   caller sets it (native helper or `setfattr`) before mounting.
   * - 'keep': whiteout files are extracted as ordinary empty files.
   */
  whiteouts: WhiteoutMode;
  /** Only 'auto': gzip, bzip2, xz, zstd or plain tar, by magic number. */
  compression?: 'auto';
  /** Create character and block devices instead of refusing them. */
  allowDevices?: boolean;
  signal?: AbortSignal;
}

export interface ApplyResult {
  /** Tar entries processed, whiteouts included. */
  entries: number;
  compression: ArchiveCompression;
  /** 'overlay' mode: directories (relative to destDir) to mark opaque. */
  opaqueDirs: string[];
  /** Entries that carried SCHILY.xattr records, which Node cannot apply. */
  xattrs: XattrRecord[];
}

interface TarEntry extends AsyncIterable<Buffer> {
  header: Parameters<LayerApplier['handle']>[0];
}

function drained(ex: Extract): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      ex.off('drain', done);
      ex.off('close', done);
      resolve();
    };
    ex.on('drain', done);
    ex.on('close', done);
  });
}

/** Feed `source` into tar-stream's parser and hand each entry to `applier`. */
async function extractEntries(source: AsyncIterable<Buffer>, applier: LayerApplier): Promise<void> {
  const ex = extract();
  const pump = (async (): Promise<void> => {
    try {
      for await (const chunk of source) {
        if (ex.destroying) return;
        if (!ex.write(chunk) && !ex.destroying) await drained(ex);
      }
      ex.end(undefined);
    } catch (err) {
      ex.destroy(err as Error);
    }
  })();
  try {
    for await (const entry of ex as unknown as AsyncIterable<TarEntry>) {
      await applier.handle(entry.header, entry);
      // Bodies the applier did not read (whiteouts, links) must still be consumed.
      for await (const _ of entry) void _;
    }
  } catch (err) {
    ex.destroy();
    throw err;
  }
  await pump;
}

/** Errors from tar-stream and zlib mean a bad archive; fs errors stay as they are. */
function classify(err: unknown): unknown {
  if (err instanceof LayerError) return err;
  if (typeof err !== 'object' || err === null) return err;
  const e = err as { name?: unknown; syscall?: unknown; message?: unknown };
  if (e.name === 'AbortError' || e.syscall !== undefined) return err;
  return new LayerError('TSB_LAYER_BAD_ARCHIVE', `not a valid layer archive: ${String(e.message)}`, { cause: err });
}

/**
 * Extract a (possibly compressed) tar stream into `destDir`, which is
 * created if missing. Rejects with a LayerError, having written nothing
 * outside destDir, on any unsafe entry; entries before it stay extracted.
 */
export async function applyLayer(tarStream: Readable, destDir: string, opts: ApplyOptions): Promise<ApplyResult> {
  await mkdir(destDir, { recursive: true });
  const root = await realpath(destDir);
  const applier = new LayerApplier(root, { whiteouts: opts.whiteouts, allowDevices: opts.allowDevices === true });
  // The sniff below reads before the pipeline (and its signal) exists.
  if (opts.signal !== undefined) addAbortSignal(opts.signal, tarStream);
  const { head, stream } = await sniff(tarStream);
  const compression = detectCompression(head);
  const dec = decompressorFor(compression);
  const consume = async (source: AsyncIterable<Buffer>): Promise<void> => extractEntries(source, applier);
  const pipeOpts = opts.signal === undefined ? {} : { signal: opts.signal };
  try {
    if (dec.transform === null) await pipeline(stream, consume, pipeOpts);
    else await pipeline(stream, dec.transform, consume, pipeOpts);
    await dec.done;
  } catch (err) {
    if (err instanceof LayerError || (err as { name?: unknown } | null)?.name === 'AbortError') throw err;
    // A decompressor that is missing or failed explains the rest best.
    const toolErr = await dec.done.then(
      () => null,
      (e: unknown) => e,
    );
    throw toolErr ?? classify(err);
  }
  await applier.finish();
  return { entries: applier.entries, compression, opaqueDirs: applier.opaqueDirs, xattrs: applier.xattrs };
}
