// /etc/passwd and /etc/group of a rootfs, read through a SourceFs view
// (symlinks resolved inside the root), as lists of colon-separated fields.
import { readFile } from 'node:fs/promises';
import { resolveInRoot, type SourceFs } from './source-fs.js';

export async function readEtcDb(fs: SourceFs | null, path: 'etc/passwd' | 'etc/group'): Promise<string[][]> {
  if (!fs) return [];
  try {
    const info = await fs.lstat(await resolveInRoot(fs, path, true));
    if (!info || info.type !== 'file') return [];
    return (await readFile(info.hostPath, 'utf8'))
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

export const isNumericId = (s: string): boolean => /^\d+$/.test(s) && Number(s) <= 0xffffffff;
