// JSON files replaced atomically: a temp file in the same directory, then
// rename. A kill -9 at any instant leaves the old or the new content, never
// a prefix (no fsync: container state is rewritten often and a power loss
// costs at most the latest transition).
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

// Synchronous on purpose: a few hundred bytes, where a thread-pool round
// trip per call costs more than the syscalls (run's latency is measured).
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = join(dirname(file), `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, file);
  } catch (err) {
    try {
      unlinkSync(tmp);
    } catch {
      // never made
    }
    throw err;
  }
}

/** The parsed file, or null when it does not exist. */
export function readJsonFile<T>(file: string): T | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
  return JSON.parse(text) as T;
}
