// A process named by pid *and* start time (field 22 of /proc/<pid>/stat,
// clock ticks since boot), so a pid reused after the process died is never
// mistaken for it.
import { readFileSync, readdirSync } from 'node:fs';

export interface ProcessRef {
  pid: number;
  startTime: number;
}

/** Start time of `pid`, or null when there is no such process. */
export function processStartTime(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm may hold spaces and parentheses: the fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  if (fields[0] === 'Z' || fields[0] === 'X') return null; // a zombie is dead
  const start = Number(fields[19]);
  return Number.isSafeInteger(start) ? start : null;
}

export function processRef(pid: number): ProcessRef | null {
  const startTime = processStartTime(pid);
  return startTime === null ? null : { pid, startTime };
}

export function isAlive(ref: ProcessRef | null | undefined): boolean {
  return ref !== null && ref !== undefined && processStartTime(ref.pid) === ref.startTime;
}

/** Sends `sig` if the process is still the one named; false when it is gone. */
export function signalProcess(ref: ProcessRef | null | undefined, sig: NodeJS.Signals | number): boolean {
  if (!isAlive(ref)) return false;
  try {
    process.kill((ref as ProcessRef).pid, sig);
    return true;
  } catch {
    return false;
  }
}

/**
 * The container's main process: the child of the sandbox init (pid 1
 * inside) that is pid 2 in the namespace. Reparented orphans are children
 * of init too, hence the NSpid check.
 */
export function mainProcessOf(init: ProcessRef): ProcessRef | null {
  if (!isAlive(init)) return null;
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${init.pid}/task/${init.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    // CONFIG_PROC_CHILDREN missing: scan /proc for init's children instead.
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const st = readFileSync(`/proc/${name}/stat`, 'utf8');
        if (Number(st.slice(st.lastIndexOf(')') + 2).split(' ')[1]) === init.pid) children.push(Number(name));
      } catch {
        // gone
      }
    }
  }
  for (const pid of children) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const nspid = /^NSpid:\s+(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
      if (nspid !== undefined && nspid[nspid.length - 1] === '2') return processRef(pid);
    } catch {
      // exited meanwhile
    }
  }
  return null;
}
