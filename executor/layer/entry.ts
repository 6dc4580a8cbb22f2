// The unit that flows between the walker, the tar encoder and tests: one
// filesystem object as it appears in a layer. Plain data plus an optional
// body opener, so tar.ts never touches the filesystem itself.
import type { Readable } from 'node:stream';

export type LayerEntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface LayerEntry {
  /** Relative, '/'-separated, no leading '/', directories without a
   * trailing slash (the tar encoder adds it). */
  path: string;
  type: LayerEntryType;
  /** Permission bits including setuid/setgid/sticky (0o7777); no type bits. */
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  /** Body length for 'file'; 0 for everything else. */
  size: number;
  /** Symlink target, or for 'hardlink' the layer path of the first link. */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, written as PAX `SCHILY.xattr.<name>` records. The
   * values are strings and are encoded as UTF-8 (tar-stream's PAX encoder),
   * so binary values such as security.capability do not round-trip. */
  xattrs?: Record<string, string>;
  /** Opens the file body; called once, when the entry is written. */
  open?: () => Readable;
}

/** Prefix of an OCI whiteout file: `.wh.<name>` hides `<name>` of lower layers. */
export const WHITEOUT_PREFIX = '.wh.';
/** Names beginning with this are whiteout metadata, not whiteouts of a file. */
export const WHITEOUT_META_PREFIX = '.wh..wh.';
/** A directory containing this entry hides all lower-layer children. */
export const WHITEOUT_OPAQUE = '.wh..wh..opq';

export interface WhiteoutMeta {
  mtime?: Date;
}

function splitParent(p: string): [string, string] {
  const clean = p.replace(/^\/+|\/+$/g, '');
  const i = clean.lastIndexOf('/');
  return i < 0 ? ['', clean] : [clean.slice(0, i), clean.slice(i + 1)];
}

function join(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

function markerEntry(p: string, meta: WhiteoutMeta): LayerEntry {
  // Mode 0 and root ownership, as containerd and buildkit write them: the
  // marker's metadata carries no meaning and must not vary between builds.
  return { path: p, type: 'file', mode: 0, uid: 0, gid: 0, mtime: meta.mtime ?? new Date(0), size: 0 };
}

/** The `.wh.<name>` entry that deletes `path` from lower layers. */
export function whiteout(path: string, meta: WhiteoutMeta = {}): LayerEntry {
  const [dir, name] = splitParent(path);
  if (name === '' || name === '.' || name === '..') throw new RangeError(`whiteout: bad path ${JSON.stringify(path)}`);
  return markerEntry(join(dir, WHITEOUT_PREFIX + name), meta);
}

/** The `.wh..wh..opq` entry that hides every lower-layer child of `dir`. */
export function opaque(dir: string, meta: WhiteoutMeta = {}): LayerEntry {
  const clean = dir.replace(/^\/+|\/+$/g, '');
  return markerEntry(join(clean, WHITEOUT_OPAQUE), meta);
}
