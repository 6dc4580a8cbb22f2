// Writes tar entries, one at a time, into a root directory that the archive
// must never escape. The path rules live in safe-path.ts; this file decides
// what each entry type and each whiteout does.
import { execFile } from 'node:child_process';
import { constants as fsc } from 'node:fs';
import { chmod, lchown, link, lstat, lutimes, mkdir, open, readdir, rm, symlink, unlink, utimes, type FileHandle } from 'node:fs/promises';
import type { Header } from 'tar-stream';
import { WHITEOUT_META_PREFIX, WHITEOUT_OPAQUE, WHITEOUT_PREFIX } from './entry.js';
import { LayerError, isErrno, isLayerError } from './errors.js';
import { RootResolver, checkSymlinkTarget, normalizeArchivePath, type ResolvedDir } from './safe-path.js';

export type WhiteoutMode = 'apply' | 'keep' | 'overlay';

export interface ApplierOptions {
  whiteouts: WhiteoutMode;
  allowDevices: boolean;
}

export interface XattrRecord {
  /** Path below the root (after symlink resolution). */
  path: string;
  xattrs: Record<string, string>;
}

type Kind = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
}

const XATTR_PAX_PREFIX = 'SCHILY.xattr.';
const CREATE_FLAGS = fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL | fsc.O_NOFOLLOW;

function kindOf(header: Header, entry: string): Kind {
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      return 'file';
    case 'directory':
      return 'directory';
    case 'symlink':
      return 'symlink';
    case 'link':
      return 'hardlink';
    case 'character-device':
      return 'char';
    case 'block-device':
      return 'block';
    case 'fifo':
      return 'fifo';
    default:
      throw new LayerError('TSB_LAYER_BAD_ARCHIVE', `${JSON.stringify(entry)}: unsupported tar entry type ${String(header.type)}`, {
        entry,
      });
  }
}

function paxNumber(pax: Record<string, string> | null, key: string): number | undefined {
  const v = pax?.[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  return Number.isFinite(n) ? n : undefined;
}

function metaOf(header: Header, pax: Record<string, string> | null): Meta {
  const uid = paxNumber(pax, 'uid');
  const gid = paxNumber(pax, 'gid');
  const mtime = paxNumber(pax, 'mtime');
  return {
    mode: header.mode & 0o7777,
    uid: uid !== undefined && Number.isSafeInteger(uid) && uid >= 0 ? uid : header.uid,
    gid: gid !== undefined && Number.isSafeInteger(gid) && gid >= 0 ? gid : header.gid,
    mtime: mtime !== undefined ? new Date(mtime * 1000) : header.mtime,
  };
}

function xattrsOf(pax: Record<string, string> | null): Record<string, string> | null {
  if (pax === null) return null;
  let out: Record<string, string> | null = null;
  for (const [k, v] of Object.entries(pax)) {
    if (!k.startsWith(XATTR_PAX_PREFIX)) continue;
    out ??= {};
    out[k.slice(XATTR_PAX_PREFIX.length)] = v;
  }
  return out;
}

/** Run mknod/mkfifo: Node has no binding for either. */
function runTool(cmd: string, args: string[], entry: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, (err, _stdout, stderr) => {
      if (err === null) return resolve();
      const why = isErrno(err, 'ENOENT') ? `${cmd} is not installed` : `${cmd} failed: ${String(stderr).trim() || err.message}`;
      reject(new LayerError('TSB_LAYER_TOOL_FAILED', `${entry}: ${why}`, { entry, cause: err }));
    });
  });
}

async function writeAll(fh: FileHandle, chunk: Buffer): Promise<void> {
  let off = 0;
  while (off < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, off, chunk.length - off, null);
    off += bytesWritten;
  }
}

export class LayerApplier {
  entries = 0;
  /** Overlay mode: directories (relative) that need trusted.overlay.opaque=y. */
  readonly opaqueDirs: string[] = [];
  readonly xattrs: XattrRecord[] = [];
  readonly #opts: ApplierOptions;
  readonly #resolver: RootResolver;
  /** Paths (resolved, relative) this layer created: whiteouts and opaque
   * markers only hide what lower layers left, whatever the entry order. */
  readonly #created = new Set<string>();
  /** Directory mtimes are set last: creating children changes them. */
  readonly #dirTimes: Array<[string, Date]> = [];
  // Ownership needs CAP_CHOWN; unprivileged extraction keeps the caller's ids.
  readonly #chown = process.getuid?.() === 0;

  constructor(root: string, opts: ApplierOptions) {
    this.#opts = opts;
    this.#resolver = new RootResolver(root, (rel) => this.#created.add(rel));
  }

  async handle(header: Header, body: AsyncIterable<Buffer>): Promise<void> {
    this.entries++;
    const name = header.name;
    const kind = kindOf(header, name);
    const comps = normalizeArchivePath(name, name);
    const pax = (header.pax ?? null) as Record<string, string> | null;
    const meta = metaOf(header, pax);

    if (comps.length === 0) {
      // './' entries describe the root itself.
      if (kind !== 'directory') throw new LayerError('TSB_LAYER_BAD_ARCHIVE', `${JSON.stringify(name)}: non-directory at the root`, { entry: name });
      await this.#applyDirMeta(this.#resolver.root, '', meta);
      return;
    }
    const base = comps[comps.length - 1] as string;
    const parent = comps.slice(0, -1);
    // aufs bookkeeping (/.wh..wh.plnk/…, /.wh..wh.aufs) is skipped with
    // everything below it, as docker does; only the opaque marker counts.
    const top = comps[0] as string;
    if (this.#opts.whiteouts !== 'keep' && top.startsWith(WHITEOUT_META_PREFIX) && comps.join('/') !== WHITEOUT_OPAQUE) return;
    if (this.#opts.whiteouts !== 'keep' && base.startsWith(WHITEOUT_PREFIX)) {
      await this.#whiteout(parent, base, name);
      return;
    }
    if ((kind === 'char' || kind === 'block') && !this.#opts.allowDevices) {
      throw new LayerError('TSB_LAYER_DEVICE_NODE', `${JSON.stringify(name)}: device nodes are not allowed in layers`, { entry: name });
    }

    const dir = (await this.#resolver.resolveDir(parent, name, true)) as ResolvedDir;
    const rel = [...dir.rel, base].join('/');
    const host = `${dir.host}/${base}`;
    switch (kind) {
      case 'directory':
        if ((await this.#clear(host, rel, true)) === 'fresh') await mkdir(host, { mode: 0o700 });
        this.#resolver.noteDir(rel);
        await this.#applyDirMeta(host, rel, meta);
        break;
      case 'file':
        await this.#clear(host, rel, false);
        await this.#writeFile(host, body, meta);
        break;
      case 'symlink': {
        const target = header.linkname ?? '';
        checkSymlinkTarget(target, dir.rel, name);
        await this.#clear(host, rel, false);
        await symlink(target, host);
        if (this.#chown) await lchown(host, meta.uid, meta.gid);
        await lutimes(host, meta.mtime, meta.mtime);
        break;
      }
      case 'hardlink':
        await this.#clear(host, rel, false);
        await link(await this.#hardlinkTarget(header.linkname ?? '', host, name), host);
        break;
      case 'fifo':
        await this.#clear(host, rel, false);
        await runTool('mkfifo', ['-m', '600', '--', host], name);
        await this.#applyMeta(host, meta);
        break;
      case 'char':
      case 'block':
        await this.#clear(host, rel, false);
        await runTool('mknod', ['-m', '600', '--', host, kind === 'char' ? 'c' : 'b', String(header.devmajor), String(header.devminor)], name);
        await this.#applyMeta(host, meta);
        break;
    }
    this.#created.add(rel);
    const xattrs = xattrsOf(pax);
    // Node cannot set xattrs; they are handed back for the native helper.
    if (xattrs !== null) this.xattrs.push({ path: rel, xattrs });
  }

  /** Set directory mtimes recorded during extraction. */
  async finish(): Promise<void> {
    for (const [rel, mtime] of this.#dirTimes) {
      const comps = rel === '' ? [] : rel.split('/');
      let dir: ResolvedDir | null;
      try {
        dir = await this.#resolver.resolveDir(comps, rel, false);
      } catch (err) {
        if (isLayerError(err)) continue;
        throw err;
      }
      // Gone, or replaced by a symlink since: not ours to touch any more.
      if (dir === null || dir.rel.join('/') !== rel) continue;
      await lutimes(dir.host, mtime, mtime);
    }
  }

  /**
   * Make room for a new entry at `host`. An existing directory stays when a
   * directory replaces it (the layers merge); anything else is removed, so
   * nothing is ever written through an existing symlink or into an inode
   * shared by a hard link.
   */
  async #clear(host: string, rel: string, newIsDir: boolean): Promise<'fresh' | 'kept'> {
    let st;
    try {
      st = await lstat(host);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return 'fresh';
      throw err;
    }
    if (st.isDirectory()) {
      if (newIsDir) return 'kept';
      await rm(host, { recursive: true, force: true });
      this.#resolver.forget(rel);
    } else {
      await unlink(host);
    }
    return 'fresh';
  }

  async #writeFile(host: string, body: AsyncIterable<Buffer>, meta: Meta): Promise<void> {
    const fh = await open(host, CREATE_FLAGS, 0o600);
    try {
      for await (const chunk of body) await writeAll(fh, chunk);
      if (this.#chown) await fh.chown(meta.uid, meta.gid);
      // After chown, which clears setuid/setgid.
      await fh.chmod(meta.mode);
      await fh.utimes(meta.mtime, meta.mtime);
    } finally {
      await fh.close();
    }
  }

  /** For objects just created at a symlink-free path (not symlinks). */
  async #applyMeta(host: string, meta: Meta): Promise<void> {
    if (this.#chown) await lchown(host, meta.uid, meta.gid);
    await chmod(host, meta.mode);
    await utimes(host, meta.mtime, meta.mtime);
  }

  async #applyDirMeta(host: string, rel: string, meta: Meta): Promise<void> {
    if (this.#chown) await lchown(host, meta.uid, meta.gid);
    await chmod(host, meta.mode);
    this.#dirTimes.push([rel, meta.mtime]);
  }

  /** A hardlink may only point at an existing regular file inside the root. */
  async #hardlinkTarget(linkname: string, host: string, entry: string): Promise<string> {
    const comps = normalizeArchivePath(linkname, entry, 'TSB_LAYER_UNSAFE_LINK');
    const base = comps.pop();
    const unsafe = (why: string, cause?: unknown): LayerError =>
      new LayerError('TSB_LAYER_UNSAFE_LINK', `${JSON.stringify(entry)}: hardlink target ${JSON.stringify(linkname)} ${why}`, {
        entry,
        ...(cause === undefined ? {} : { cause }),
      });
    if (base === undefined) throw unsafe('is the root');
    let dir: ResolvedDir | null;
    try {
      dir = await this.#resolver.resolveDir(comps, entry, false);
    } catch (err) {
      if (isLayerError(err, 'TSB_LAYER_UNSAFE_PATH')) throw unsafe('leads outside the root', err);
      throw err;
    }
    if (dir === null) throw unsafe('does not exist');
    const target = `${dir.host}/${base}`;
    if (target === host) throw unsafe('is the link itself');
    let st;
    try {
      st = await lstat(target);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw unsafe('does not exist');
      throw err;
    }
    if (!st.isFile()) throw unsafe('is not a regular file');
    return target;
  }

  async #whiteout(parent: string[], base: string, entry: string): Promise<void> {
    if (base === WHITEOUT_OPAQUE) {
      await this.#opaque(parent, entry);
      return;
    }
    // Other `.wh..wh.` names are aufs bookkeeping (.wh..wh.plnk): ignored, as docker does.
    if (base.startsWith(WHITEOUT_META_PREFIX)) return;
    const target = base.slice(WHITEOUT_PREFIX.length);
    if (target === '' || target === '.' || target === '..') {
      throw new LayerError('TSB_LAYER_UNSAFE_PATH', `${JSON.stringify(entry)}: whiteout of ${JSON.stringify(target)}`, { entry });
    }
    const overlay = this.#opts.whiteouts === 'overlay';
    const dir = await this.#resolver.resolveDir(parent, entry, overlay);
    if (dir === null) return; // nothing below to hide
    const rel = [...dir.rel, target].join('/');
    // OCI: a whiteout hides lower layers only, never its own layer's entries.
    if (this.#created.has(rel)) return;
    const host = `${dir.host}/${target}`;
    if (overlay) {
      await this.#clear(host, rel, false);
      // Mode 000 char 0/0 is exactly what the kernel's overlayfs creates.
      await runTool('mknod', ['-m', '000', '--', host, 'c', '0', '0'], entry);
      this.#created.add(rel);
    } else {
      await rm(host, { recursive: true, force: true });
      this.#resolver.forget(rel);
    }
  }

  async #opaque(parent: string[], entry: string): Promise<void> {
    if (this.#opts.whiteouts === 'overlay') {
      const dir = (await this.#resolver.resolveDir(parent, entry, true)) as ResolvedDir;
      this.opaqueDirs.push(dir.rel.join('/'));
      return;
    }
    const dir = await this.#resolver.resolveDir(parent, entry, false);
    if (dir !== null) await this.#clearLower(dir.host, dir.rel.join('/'));
  }

  /** Remove everything under `host` that this layer did not create. */
  async #clearLower(host: string, rel: string): Promise<void> {
    for (const name of await readdir(host)) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      const childHost = `${host}/${name}`;
      if (this.#created.has(childRel)) {
        if ((await lstat(childHost)).isDirectory()) await this.#clearLower(childHost, childRel);
      } else {
        await rm(childHost, { recursive: true, force: true });
        this.#resolver.forget(childRel);
      }
    }
  }
}
