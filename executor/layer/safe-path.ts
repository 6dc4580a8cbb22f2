// Path rules for extracting hostile archives.
//
// 1. Entry names are normalised like docker: a leading '/' is stripped (the
//    archive root is the rootfs root), '.' and empty components vanish. Any
//    '..' component is refused outright, even when it would stay inside.
// 2. Parent components are resolved one by one with lstat, never by the
//    kernel. A symlink found on the way is followed *inside the root*, the
//    way the container will see it (chroot / openat2 RESOLVE_IN_ROOT
//    semantics): an absolute target restarts at the root, and a '..' that
//    would climb above the root is refused. So a planted `evil -> /etc`
//    makes `evil/passwd` land in `<root>/etc/passwd`, and `evil -> ../..`
//    makes it fail; nothing is ever written outside the root.
// 3. The last component is never followed: whatever is there is removed and
//    recreated (O_EXCL|O_NOFOLLOW for files).
// This assumes nothing else modifies the root while a layer is applied: the
// archive itself cannot race us, because its entries are handled strictly
// one after another.
import { lstat, mkdir, readlink } from 'node:fs/promises';
import { LayerError, isErrno, type LayerErrorCode } from './errors.js';

export const MAX_PATH_BYTES = 4096;
export const MAX_PATH_COMPONENTS = 256;
/** Symlinks followed while resolving one path (the kernel's MAXSYMLINKS). */
const MAX_SYMLINK_HOPS = 40;

/**
 * Split an archive path into safe components. Throws `badCode` (UNSAFE_PATH
 * for entry names, UNSAFE_LINK for hardlink targets) on '..', and
 * TSB_LAYER_PATH_TOO_DEEP past the size limits.
 */
export function normalizeArchivePath(raw: string, entry: string, badCode: LayerErrorCode = 'TSB_LAYER_UNSAFE_PATH'): string[] {
  if (raw.includes('\0')) throw new LayerError(badCode, `${JSON.stringify(entry)}: NUL byte in path`, { entry });
  if (Buffer.byteLength(raw) > MAX_PATH_BYTES) {
    throw new LayerError('TSB_LAYER_PATH_TOO_DEEP', `${entry.slice(0, 80)}…: path longer than ${MAX_PATH_BYTES} bytes`, { entry });
  }
  const comps: string[] = [];
  for (const c of raw.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') throw new LayerError(badCode, `${JSON.stringify(entry)}: '..' in path ${JSON.stringify(raw)}`, { entry });
    comps.push(c);
  }
  if (comps.length > MAX_PATH_COMPONENTS) {
    throw new LayerError('TSB_LAYER_PATH_TOO_DEEP', `${entry.slice(0, 80)}…: more than ${MAX_PATH_COMPONENTS} components`, { entry });
  }
  return comps;
}

/**
 * Refuse a symlink target that, read the way the container will read it
 * from the link's directory, climbs above the root (docker's breakout
 * rule). Absolute targets start at the root. The link itself is harmless on
 * the host as long as nobody follows it outside a RootResolver, but other
 * host-side readers of the rootfs might.
 */
export function checkSymlinkTarget(target: string, linkParent: readonly string[], entry: string): void {
  if (target === '' || target.includes('\0')) {
    throw new LayerError('TSB_LAYER_BAD_ARCHIVE', `${JSON.stringify(entry)}: empty or NUL symlink target`, { entry });
  }
  if (Buffer.byteLength(target) > MAX_PATH_BYTES) {
    throw new LayerError('TSB_LAYER_PATH_TOO_DEEP', `${entry}: symlink target longer than ${MAX_PATH_BYTES} bytes`, { entry });
  }
  let depth = target.startsWith('/') ? 0 : linkParent.length;
  let comps = 0;
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (++comps > MAX_PATH_COMPONENTS) {
      throw new LayerError('TSB_LAYER_PATH_TOO_DEEP', `${entry}: symlink target deeper than ${MAX_PATH_COMPONENTS}`, { entry });
    }
    if (c === '..') {
      if (depth === 0) {
        throw new LayerError('TSB_LAYER_UNSAFE_LINK', `${JSON.stringify(entry)}: symlink target ${JSON.stringify(target)} leaves the root`, {
          entry,
        });
      }
      depth--;
    } else {
      depth++;
    }
  }
}

export interface ResolvedDir {
  /** Absolute host path: root + rel, containing no symlink. */
  host: string;
  /** Components below the root after following symlinks. */
  rel: string[];
}

/**
 * Resolves archive paths to host paths below one root without ever letting
 * the kernel follow a symlink. Directories known to be real (created or
 * lstat-checked during this extraction) are cached; `forget` must be called
 * whenever something is removed.
 */
export class RootResolver {
  readonly root: string;
  readonly #dirs = new Set<string>();
  /** Called with the rel key of each directory created implicitly. */
  readonly #onCreate: (rel: string) => void;

  constructor(root: string, onCreate: (rel: string) => void = () => undefined) {
    this.root = root;
    this.#onCreate = onCreate;
  }

  host(rel: readonly string[]): string {
    return rel.length === 0 ? this.root : `${this.root}/${rel.join('/')}`;
  }

  noteDir(rel: string): void {
    this.#dirs.add(rel);
  }

  /** Drop cache entries for `rel` and everything below it. */
  forget(rel: string): void {
    if (rel === '') {
      this.#dirs.clear();
      return;
    }
    this.#dirs.delete(rel);
    const under = `${rel}/`;
    for (const d of this.#dirs) if (d.startsWith(under)) this.#dirs.delete(d);
  }

  /**
   * Resolve `comps` (already normalised) as a directory. Missing components
   * are created (mode 0755, like docker) when `create`, else the result is
   * null. Throws UNSAFE_PATH if a symlink leads above the root and
   * PATH_CONFLICT if a component is not a directory.
   */
  async resolveDir(comps: readonly string[], entry: string, create: boolean): Promise<ResolvedDir | null> {
    const stack: string[] = [];
    const pending = [...comps];
    let hops = 0;
    while (pending.length > 0) {
      const c = pending.shift() as string;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        if (stack.length === 0) {
          throw new LayerError('TSB_LAYER_UNSAFE_PATH', `${JSON.stringify(entry)}: a symlink in its parent path leads outside the root`, {
            entry,
          });
        }
        // Safe as a lexical pop: everything on the stack is a real directory.
        stack.pop();
        continue;
      }
      stack.push(c);
      if (stack.length > MAX_PATH_COMPONENTS) {
        throw new LayerError('TSB_LAYER_PATH_TOO_DEEP', `${entry}: resolves deeper than ${MAX_PATH_COMPONENTS} components`, { entry });
      }
      const key = stack.join('/');
      if (this.#dirs.has(key)) continue;
      const host = this.host(stack);
      let st;
      try {
        st = await lstat(host);
      } catch (err) {
        if (!isErrno(err, 'ENOENT')) throw err;
        if (!create) return null;
        await mkdir(host, { mode: 0o755 });
        this.#dirs.add(key);
        this.#onCreate(key);
        continue;
      }
      if (st.isDirectory()) {
        this.#dirs.add(key);
        continue;
      }
      if (st.isSymbolicLink()) {
        if (++hops > MAX_SYMLINK_HOPS) {
          throw new LayerError('TSB_LAYER_UNSAFE_PATH', `${entry}: too many levels of symbolic links`, { entry });
        }
        const target = await readlink(host);
        stack.pop();
        if (target.startsWith('/')) stack.length = 0;
        pending.unshift(...target.split('/'));
        continue;
      }
      throw new LayerError('TSB_LAYER_PATH_CONFLICT', `${entry}: parent ${key} exists and is not a directory`, { entry });
    }
    return { host: this.host(stack), rel: stack };
  }
}
