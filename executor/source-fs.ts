// A read-only view of a file tree that COPY reads from: the build context
// or the merged filesystem of a stage/image. Paths are relative,
// '/'-separated, '' for the root.
import type { Stats } from 'node:fs';

export type FileType = 'file' | 'directory' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';

export interface FileInfo {
  type: FileType;
  /** Permission bits incl. setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  dev: number;
  ino: number;
  rdev: number;
  ctimeMs: number;
  /** Where the bytes are on the host. */
  hostPath: string;
}

export interface SourceFs {
  lstat(rel: string): Promise<FileInfo | null>;
  /** Sorted child names. */
  readdir(rel: string): Promise<string[]>;
  readlink(rel: string): Promise<string>;
  /** A portable name for a file's content (see LayeredFs); absent where content is hashed instead. */
  contentId?(rel: string): Promise<string | null>;
}

export function fileType(st: Stats): FileType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isCharacterDevice()) return 'char';
  if (st.isBlockDevice()) return 'block';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

export function toInfo(st: Stats, hostPath: string): FileInfo {
  return {
    type: fileType(st),
    mode: st.mode & 0o7777,
    uid: st.uid,
    gid: st.gid,
    size: st.size,
    mtime: st.mtime,
    dev: st.dev,
    ino: st.ino,
    rdev: st.rdev,
    ctimeMs: st.ctimeMs,
    hostPath,
  };
}

export function joinRel(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : `${a}/${b}`;
}

export function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Resolve `rel` inside the view, following symlinks but never leaving the
 * root (absolute targets restart at the root; `..` stops at it), like
 * openat2(RESOLVE_IN_ROOT). The last component is followed only when
 * `followLast` is set.
 */
export async function resolveInRoot(fs: SourceFs, rel: string, followLast: boolean): Promise<string> {
  const out: string[] = [];
  const queue = rel.split('/').filter((c) => c !== '' && c !== '.');
  let hops = 0;
  while (queue.length > 0) {
    const c = queue.shift() as string;
    if (c === '.') continue;
    if (c === '..') {
      out.pop();
      continue;
    }
    const cand = [...out, c].join('/');
    const info = await fs.lstat(cand);
    if (info?.type === 'symlink' && (queue.length > 0 || followLast)) {
      if (++hops > 40) throw Object.assign(new Error(`too many levels of symbolic links resolving /${rel}`), { code: 'ELOOP' });
      const target = await fs.readlink(cand);
      if (target.startsWith('/')) out.length = 0;
      queue.unshift(...target.split('/').filter((p) => p !== '' && p !== '.'));
      continue;
    }
    out.push(c);
  }
  return out.join('/');
}
