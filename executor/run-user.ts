// USER for RUN: `name|uid[:group|gid]` resolved against the rootfs the
// command runs on, plus supplementary groups from /etc/group, like docker.
import { StepProblem } from './errors.js';
import type { SourceFs } from './source-fs.js';
import { isNumericId, readEtcDb } from './etc-db.js';

export interface RunUser {
  uid: number;
  gid: number;
  groups: number[];
  home: string;
  name: string | null;
}

const isId = isNumericId;
const readDb = readEtcDb;

export async function resolveRunUser(spec: string, fs: SourceFs): Promise<RunUser> {
  const [user = '', group] = (spec || 'root').split(':', 2) as [string, string | undefined];
  const passwd = await readDb(fs, 'etc/passwd');
  const groups = await readDb(fs, 'etc/group');
  let entry = passwd.find((f) => (isId(user) ? f[2] === user : f[0] === user));
  if (!entry && !isId(user)) {
    if (user === 'root') entry = ['root', 'x', '0', '0', 'root', '/root'];
    else throw new StepProblem('TSB_STEP_UNKNOWN_USER', `unable to find user ${user}: no matching entries in passwd file`);
  }
  const uid = isId(user) ? Number(user) : Number(entry?.[2]);
  let gid = entry && isId(entry[3] ?? '') ? Number(entry[3]) : isId(user) ? 0 : 0;
  if (group !== undefined && group !== '') {
    if (isId(group)) gid = Number(group);
    else {
      const g = groups.find((f) => f[0] === group);
      if (!g || !isId(g[2] ?? '')) throw new StepProblem('TSB_STEP_UNKNOWN_USER', `unable to find group ${group}: no matching entries in group file`);
      gid = Number(g[2]);
    }
  }
  const name = entry?.[0] ?? null;
  const supplementary = name === null || (group !== undefined && group !== '')
    ? []
    : groups.filter((g) => (g[3] ?? '').split(',').includes(name) && isId(g[2] ?? '')).map((g) => Number(g[2]));
  return { uid, gid, groups: [...new Set(supplementary.filter((g) => g !== gid))], home: entry?.[5] || '/', name };
}
