// The one write protocol every file in the store goes through:
// temp file in <root>/tmp → write → fsync → rename into place → fsync the
// destination directory. A reader (or a process restarted after kill -9)
// therefore sees either the old file or the complete new one, never a
// prefix; leftovers can only be in tmp/, where gc collects them.
import { randomBytes } from 'node:crypto';
import { open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { isErrnoCode } from './errors.js';

/** A fresh, unguessable temp file path. The pid helps when debugging a
 * leftover; the random part keeps concurrent writers apart. */
export function tempPath(tmpDir: string, kind: string): string {
  return path.join(tmpDir, `${kind}-${process.pid}-${randomBytes(12).toString('hex')}`);
}

/** fsync a directory so that a rename or unlink in it is durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Remove a file, ignoring "already gone". */
export async function unlinkQuiet(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (err) {
    if (!isErrnoCode(err, 'ENOENT')) throw err;
  }
}

/** Atomically replace `dest` with `data` (see the protocol above). */
export async function writeFileAtomic(
  tmpDir: string,
  dest: string,
  data: Buffer | string,
  opts: { kind?: string; mode?: number; durable?: boolean } = {},
): Promise<void> {
  // durable=false keeps the write atomic (temp + rename: a kill -9 leaves the
  // old or the new content) but skips the fsyncs, which only matter after a
  // power loss; for data that may be lost but never torn, like cache records.
  const durable = opts.durable ?? true;
  const tmp = tempPath(tmpDir, opts.kind ?? 'file');
  let renamed = false;
  try {
    const fh = await open(tmp, 'wx', opts.mode ?? 0o644);
    try {
      await fh.writeFile(data);
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, dest);
    renamed = true;
    if (durable) await fsyncDir(path.dirname(dest));
  } finally {
    if (!renamed) await unlinkQuiet(tmp).catch(() => undefined);
  }
}
