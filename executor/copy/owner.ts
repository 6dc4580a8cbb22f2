// --chown and --chmod: user/group names resolved from the destination
// stage's own /etc/passwd and /etc/group, symbolic modes applied like
// chmod(1).
import type { SourceFs } from '../source-fs.js';
import { isNumericId, readEtcDb } from '../etc-db.js';
import { StepProblem } from '../errors.js';

export interface Owner {
  uid: number;
  gid: number;
}

const isId = isNumericId;
const readDbFile = readEtcDb;

/** `user[:group]` → ids. A user without a group uses the user's primary group (or the same id). */
export async function resolveOwner(spec: string, fs: SourceFs | null): Promise<Owner> {
  const [user = '', group] = spec.split(':', 2) as [string, string | undefined];
  if (user === '') throw new StepProblem('TSB_STEP_UNKNOWN_USER', `invalid user "${spec}"`);
  let uid: number;
  let gid: number | undefined;
  if (isId(user)) {
    uid = Number(user);
  } else {
    const entry = (await readDbFile(fs, 'etc/passwd')).find((f) => f[0] === user);
    if (!entry || !isId(entry[2] ?? '')) {
      throw new StepProblem('TSB_STEP_UNKNOWN_USER', `unable to find user ${user}: no matching entries in passwd file`);
    }
    uid = Number(entry[2]);
    if (isId(entry[3] ?? '')) gid = Number(entry[3]);
  }
  if (group !== undefined && group !== '') {
    if (isId(group)) gid = Number(group);
    else {
      const entry = (await readDbFile(fs, 'etc/group')).find((f) => f[0] === group);
      if (!entry || !isId(entry[2] ?? '')) {
        throw new StepProblem('TSB_STEP_UNKNOWN_USER', `unable to find group ${group}: no matching entries in group file`);
      }
      gid = Number(entry[2]);
    }
  }
  return { uid, gid: gid ?? uid };
}

/** Apply an octal or symbolic chmod spec to a mode. */
export function applyChmod(spec: string, mode: number, isDir: boolean): number {
  if (/^[0-7]{3,4}$/.test(spec)) return parseInt(spec, 8);
  let result = mode & 0o7777;
  for (const clause of spec.split(',')) {
    const m = /^([ugoa]*)(.*)$/.exec(clause) as RegExpExecArray;
    const who = m[1] || 'a';
    const ops = (m[2] ?? '').match(/[-+=][rwxXst]*/g) ?? [];
    for (const op of ops) {
      const perms = op.slice(1);
      let bits = 0;
      const anyX = isDir || (mode & 0o111) !== 0;
      for (const w of who === 'a' ? 'ugo' : who) {
        const shift = w === 'u' ? 6 : w === 'g' ? 3 : 0;
        if (perms.includes('r')) bits |= 4 << shift;
        if (perms.includes('w')) bits |= 2 << shift;
        if (perms.includes('x') || (perms.includes('X') && anyX)) bits |= 1 << shift;
        if (perms.includes('s') && w === 'u') bits |= 0o4000;
        if (perms.includes('s') && w === 'g') bits |= 0o2000;
        if (perms.includes('t') && w === 'o') bits |= 0o1000;
      }
      let mask = 0;
      for (const w of who === 'a' ? 'ugo' : who) mask |= w === 'u' ? 0o4700 : w === 'g' ? 0o2070 : 0o1007;
      if (op[0] === '+') result |= bits;
      else if (op[0] === '-') result &= ~bits;
      else result = (result & ~mask) | bits;
    }
  }
  return result;
}
