// Removing a sandbox's cgroup leaves when the helper could not (it was
// SIGKILLed on abort, or died): kill what is left, then rmdir, retrying
// while the dying processes leave.
import { readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

function code(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null ? ((err as { code?: string }).code ?? undefined) : undefined;
}

async function killMembers(dir: string): Promise<void> {
  // cgroup v2 (5.14+) kills the whole subtree in one write.
  try {
    await writeFile(join(dir, 'cgroup.kill'), '1');
    return;
  } catch {
    // v1, or an older kernel: signal the members one by one.
  }
  let procs = '';
  try {
    procs = await readFile(join(dir, 'cgroup.procs'), 'utf8');
  } catch {
    return;
  }
  for (const line of procs.split('\n')) {
    const pid = Number(line);
    if (Number.isSafeInteger(pid) && pid > 0) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/** Removes each leaf directory; throws the last error if one stays after `timeoutMs`. */
export async function removeCgroups(paths: readonly string[], timeoutMs = 10_000): Promise<void> {
  for (const dir of paths) {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await rmdir(dir);
        break;
      } catch (err) {
        if (code(err) === 'ENOENT') break;
        if (code(err) !== 'EBUSY' || Date.now() > deadline) throw err;
      }
      await killMembers(dir);
      await sleep(attempt < 10 ? 2 : 20);
    }
  }
}
