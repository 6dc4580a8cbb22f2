// A lock between tsbuild processes on one root: a directory created with
// mkdir (atomic) holding its owner's pid and start time. A lock whose owner
// died (kill -9 while holding it) is broken by one process at a time, under
// a second directory, after checking the owner again. Critical sections
// are a few file operations; waiters poll.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive, processRef } from './process-ref.js';

/** A lock directory without an owner file for this long was left half-made. */
const ORPHAN_MS = 10_000;

function errCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

async function ownerOf(lock: string): Promise<{ text: string; dead: boolean } | null> {
  let text: string;
  try {
    text = await readFile(join(lock, 'owner'), 'utf8');
  } catch (err) {
    if (errCode(err) !== 'ENOENT') throw err;
    const st = await stat(lock).catch(() => null);
    if (st === null) return null;
    return { text: '', dead: Date.now() - st.mtimeMs > ORPHAN_MS };
  }
  const [pid, start] = text.trim().split(' ').map(Number);
  return { text, dead: !isAlive({ pid: pid ?? 0, startTime: start ?? -1 }) };
}

async function breakStale(lock: string, seen: string): Promise<void> {
  const breaker = `${lock}.break`;
  try {
    await mkdir(breaker);
  } catch (err) {
    if (errCode(err) !== 'EEXIST') throw err;
    const st = await stat(breaker).catch(() => null);
    if (st !== null && Date.now() - st.mtimeMs > ORPHAN_MS) await rmdir(breaker).catch(() => undefined);
    return;
  }
  try {
    const now = await ownerOf(lock);
    if (now !== null && now.dead && now.text === seen) await rm(lock, { recursive: true, force: true });
  } finally {
    await rmdir(breaker).catch(() => undefined);
  }
}

/** Runs `fn` holding the lock directory `lock` (its parent must exist). */
export async function withLock<T>(lock: string, fn: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
  const me = processRef(process.pid);
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      // Synchronous: the uncontended case is two syscalls, not two thread-pool trips.
      mkdirSync(lock);
      writeFileSync(join(lock, 'owner'), `${me?.pid ?? process.pid} ${me?.startTime ?? 0}\n`);
      break;
    } catch (err) {
      if (errCode(err) !== 'EEXIST') throw err;
    }
    const owner = await ownerOf(lock);
    if (owner?.dead === true) await breakStale(lock, owner.text);
    if (Date.now() > deadline) throw new Error(`timed out waiting for the lock ${lock}`);
    await sleep(Math.min(2 + attempt, 20));
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}
