// Filesystem helpers shared by the layer security and integration tests:
// self-removing temp dirs and a comparable snapshot of a directory tree.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { onTestFinished } from 'vitest';

/** A fresh directory, removed when the current test finishes. */
export async function tempDir(prefix = 'tsb-layer-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  onTestFinished(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

export interface NodeInfo {
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'char' | 'block' | 'socket';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Whole seconds (tar precision); omitted for symlinks when `mtimes` is off. */
  mtime?: number;
  sha256?: string;
  link?: string;
  rdev?: number;
  /** For files with nlink > 1: the first path (in sorted order) sharing the inode. */
  inodeGroup?: string;
}

export interface SnapshotOptions {
  mtimes?: boolean;
  /** Leave out these relative paths (and anything below them). */
  skip?: (rel: string) => boolean;
}

/** Every object below `root`, keyed by relative path, sorted. */
export async function snapshotTree(root: string, opts: SnapshotOptions = {}): Promise<Record<string, NodeInfo>> {
  const out: Record<string, NodeInfo> = {};
  const inodes = new Map<string, string>();
  async function visit(dir: string, rel: string): Promise<void> {
    for (const name of (await readdir(dir)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      if (opts.skip?.(r) === true) continue;
      const p = path.join(dir, name);
      const st = await lstat(p);
      const type: NodeInfo['type'] = st.isDirectory()
        ? 'dir'
        : st.isSymbolicLink()
          ? 'symlink'
          : st.isFIFO()
            ? 'fifo'
            : st.isCharacterDevice()
              ? 'char'
              : st.isBlockDevice()
                ? 'block'
                : st.isSocket()
                  ? 'socket'
                  : 'file';
      const info: NodeInfo = { type, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: type === 'file' ? st.size : 0 };
      if (opts.mtimes === true && type !== 'symlink') info.mtime = Math.floor(st.mtimeMs / 1000);
      if (type === 'file') {
        info.sha256 = await sha256File(p);
        if (st.nlink > 1) {
          const key = `${st.dev}:${st.ino}`;
          if (!inodes.has(key)) inodes.set(key, r);
          info.inodeGroup = inodes.get(key) as string;
        }
      }
      if (type === 'symlink') {
        info.link = await readlink(p);
        delete (info as { mode?: number }).mode; // symlink modes are meaningless on Linux
      }
      if (type === 'char' || type === 'block') info.rdev = st.rdev;
      out[r] = info;
      if (type === 'dir') await visit(p, r);
    }
  }
  await visit(root, '');
  return out;
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Names of everything below `dir` (recursive, relative), for "nothing else was written" checks. */
export async function listAll(dir: string): Promise<string[]> {
  return Object.keys(await snapshotTree(dir));
}
