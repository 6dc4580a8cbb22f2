// Directory tree → sorted LayerEntry sequence. The only module here that
// reads a source tree; it knows nothing about tar.
//
// Order: depth first, each directory's children sorted by the byte order of
// their (UTF-8) names, each directory immediately followed by its subtree:
// `a`, `a/x`, `a-b`, `a.c`. This is Go's filepath.Walk order, which docker,
// containerd and buildkit layers use. It is *not* a plain byte sort of the
// full paths ('-' and '.' sort before '/'): that order splits a directory's
// subtree, and GNU tar, which sets a directory's mtime once it leaves the
// directory, then restores wrong mtimes (see layer-roundtrip.test.ts).
// Parents always precede children.
import { createReadStream, lstatSync, readFileSync, type BigIntStats } from 'node:fs';
import { Readable } from 'node:stream';
import { lstat, readdir, readlink } from 'node:fs/promises';
import type { LayerEntry } from './entry.js';
import { WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from './entry.js';
import { LayerError } from './errors.js';

export interface WalkOptions {
  /** Prepended to every entry path ('app' → 'app/x'). The prefix directory
   * itself and its ancestors are not emitted: they sort before everything
   * the walk yields, so a caller that needs them yields them first. */
  prefix?: string;
  /** Treat `root` as an overlayfs upperdir: a character device 0/0 is a
   * whiteout and becomes `.wh.<name>`. */
  upperdir?: boolean;
  /** Directories (relative to `root`, no prefix) that carry the overlayfs
   * `trusted.overlay.opaque=y` xattr; each gets a `.wh..wh..opq` entry.
   * Node cannot read xattrs, so the caller obtains this set (from the
   * native helper, or `getfattr -R -n trusted.overlay.opaque`). Only used
   * with `upperdir`. */
  opaqueDirs?: ReadonlySet<string>;
  /** Return false to leave out a path (relative to `root`, no prefix); a
   * directory left out is not descended into. */
  filter?: (relPath: string, isDir: boolean) => boolean;
}

interface Child {
  /** Name on disk. */
  name: string;
  relDir: string;
  /** Name in the layer (differs for whiteouts). */
  layerName: string;
  rel: string;
  st: BigIntStats;
  whiteout: boolean;
}

function joinRel(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** Linux dev_t split (glibc gnu_dev_major/minor). */
function devMajor(rdev: bigint): number {
  return Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
}
function devMinor(rdev: bigint): number {
  return Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
}

const SMALL_BODY = 1 << 20;

function mtimeOf(st: BigIntStats): Date {
  return new Date(Number(st.mtimeNs / 1_000_000n));
}

/**
 * Walk `root` and yield one LayerEntry per object below it (not `root`
 * itself). Hard links are detected by (dev, ino): the first path in output
 * order carries the body, later ones become 'hardlink' entries pointing at
 * it. Sockets are skipped (tar cannot hold them).
 */
export async function* walkDirectory(root: string, opts: WalkOptions = {}): AsyncGenerator<LayerEntry> {
  const prefix = (opts.prefix ?? '').replace(/^\/+|\/+$/g, '');
  const upper = opts.upperdir === true;
  const opaqueDirs = upper ? opts.opaqueDirs : undefined;
  const links = new Map<string, string>();
  const rootSt = await lstat(root, { bigint: true });
  if (!rootSt.isDirectory()) {
    throw new LayerError('TSB_LAYER_BAD_ENTRY', `walk: ${root} is not a directory`, { entry: root });
  }

  const layerPath = (rel: string): string => (prefix === '' ? rel : `${prefix}/${rel}`);

  async function listChildren(hostDir: string, relDir: string): Promise<Child[]> {
    const names = await readdir(hostDir);
    // Synchronous lstat: thousands of async calls per directory cost far
    // more in thread-pool round trips than the syscalls themselves.
    const stats = names.map((n) => lstatSync(`${hostDir}/${n}`, { bigint: true }));
    const children: Array<Child & { key: Buffer }> = [];
    names.forEach((name, i) => {
      const st = stats[i];
      if (st === undefined || st.isSocket()) return;
      const rel = joinRel(relDir, name);
      if (opts.filter !== undefined && !opts.filter(rel, st.isDirectory())) return;
      const whiteout = upper && st.isCharacterDevice() && st.rdev === 0n;
      const layerName = whiteout ? WHITEOUT_PREFIX + name : name;
      children.push({ name, relDir, layerName, rel, st, whiteout, key: Buffer.from(layerName) });
    });
    children.sort((a, b) => Buffer.compare(a.key, b.key));
    return children;
  }

  async function toEntry(hostPath: string, child: Child): Promise<LayerEntry> {
    const { st } = child;
    const path = layerPath(joinRel(child.relDir, child.layerName));
    const base = { path, mode: Number(st.mode) & 0o7777, uid: Number(st.uid), gid: Number(st.gid), mtime: mtimeOf(st), size: 0 };
    if (child.whiteout) {
      return { ...base, type: 'file', mode: 0, uid: 0, gid: 0 };
    }
    if (!st.isDirectory() && st.nlink > 1n) {
      const key = `${st.dev}:${st.ino}`;
      const first = links.get(key);
      if (first !== undefined) return { ...base, type: 'hardlink', linkname: first };
      links.set(key, path);
    }
    if (st.isDirectory()) return { ...base, type: 'directory' };
    if (st.isFile()) {
      // Small bodies in one synchronous read: a stream per file costs several
      // thread-pool round trips, which dominate for many small files.
      const size = Number(st.size);
      const open = size <= SMALL_BODY ? () => Readable.from([readFileSync(hostPath)]) : () => createReadStream(hostPath);
      return { ...base, type: 'file', size, open };
    }
    if (st.isSymbolicLink()) return { ...base, type: 'symlink', linkname: await readlink(hostPath) };
    if (st.isFIFO()) return { ...base, type: 'fifo' };
    const dev = { devmajor: devMajor(st.rdev), devminor: devMinor(st.rdev) };
    if (st.isCharacterDevice()) return { ...base, type: 'char', ...dev };
    if (st.isBlockDevice()) return { ...base, type: 'block', ...dev };
    throw new LayerError('TSB_LAYER_BAD_ENTRY', `walk: ${hostPath}: unsupported file type`, { entry: path });
  }

  async function* walkDir(hostDir: string, relDir: string): AsyncGenerator<LayerEntry> {
    if (opaqueDirs?.has(relDir) === true && relDir !== '') {
      // First among the children, as containerd writes it, so even an
      // extractor that empties the directory on sight keeps this layer's files.
      const st = await lstat(hostDir, { bigint: true });
      yield { path: layerPath(joinRel(relDir, WHITEOUT_OPAQUE)), type: 'file', mode: 0, uid: 0, gid: 0, mtime: mtimeOf(st), size: 0 };
    }
    for (const child of await listChildren(hostDir, relDir)) {
      const hostPath = `${hostDir}/${child.name}`;
      yield await toEntry(hostPath, child);
      if (child.st.isDirectory()) yield* walkDir(hostPath, child.rel);
    }
  }

  yield* walkDir(root, '');
}
