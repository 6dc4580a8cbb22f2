// Unpacked layers ("snapshots"), one directory per diffID under
// <root>/snapshots, shared by every build and container on the root. A
// snapshot is created in a staging directory and renamed into place, so a
// kill -9 leaves either nothing or a complete snapshot. Whiteouts are kept
// in overlayfs form (char 0/0) so the directories can be overlay lower dirs;
// opaque directories are listed in a sidecar `<diffID>.json` because Node
// cannot read the trusted.overlay.opaque xattr.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContentStore, Digest } from '../src/store/index.js';
import { applyLayer } from './layer/index.js';
import type { LayerRef } from './types.js';

export interface SnapshotMeta {
  diffID: Digest;
  opaqueDirs: string[];
  /** The opaqueDirs carry the trusted.overlay.opaque xattr on disk already. */
  opaqueMarked?: boolean;
}

export interface Snapshot {
  dir: string;
  meta: SnapshotMeta;
}

export class Snapshots {
  readonly base: string;
  private readonly pending = new Map<string, Promise<Snapshot>>();

  /** `fetchBlob` brings a layer blob the store lacks (a lazily pulled base, an imported cache layer). */
  constructor(
    private readonly store: ContentStore,
    private readonly fetchBlob?: (layer: LayerRef) => Promise<void>,
  ) {
    this.base = join(store.root, 'snapshots');
  }

  dirOf(diffID: Digest): string {
    return join(this.base, diffID.slice('sha256:'.length));
  }

  private metaPath(diffID: Digest): string {
    return this.dirOf(diffID) + '.json';
  }

  async get(diffID: Digest): Promise<Snapshot | null> {
    try {
      await stat(this.dirOf(diffID));
      const meta = JSON.parse(await readFile(this.metaPath(diffID), 'utf8')) as SnapshotMeta;
      return { dir: this.dirOf(diffID), meta };
    } catch {
      return null;
    }
  }

  /** A fresh staging directory under <root>/snapshots/tmp-… */
  async stagingDir(): Promise<string> {
    await mkdir(this.base, { recursive: true });
    const dir = join(this.base, `tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    await mkdir(dir, { mode: 0o755 });
    return dir;
  }

  /** Make `staging` the snapshot of `diffID` (or drop it if one already exists). */
  async commit(staging: string, diffID: Digest, opaqueDirs: string[], opts: { opaqueMarked?: boolean } = {}): Promise<Snapshot> {
    const meta: SnapshotMeta = { diffID, opaqueDirs, ...(opts.opaqueMarked ? { opaqueMarked: true } : {}) };
    const existing = await this.get(diffID);
    if (existing) {
      await rm(staging, { recursive: true, force: true });
      return existing;
    }
    const tmpMeta = `${staging}.json`;
    await writeFile(tmpMeta, JSON.stringify(meta));
    const fh = await open(tmpMeta, 'r');
    await fh.sync();
    await fh.close();
    await rename(tmpMeta, this.metaPath(diffID));
    try {
      await rename(staging, this.dirOf(diffID));
    } catch (e) {
      // Another build committed the same layer first: keep theirs.
      if ((e as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      await rm(staging, { recursive: true, force: true });
    }
    return { dir: this.dirOf(diffID), meta };
  }

  /**
   * Make snapshots usable as overlayfs lower dirs: their opaque directories
   * get the xattr (Node cannot set it, so the caller passes the helper's
   * setter) once, and the sidecar remembers it, instead of every RUN and
   * every container setting it again.
   */
  async markOpaque(snaps: readonly Snapshot[], setOpaque: (paths: string[]) => Promise<void>): Promise<void> {
    for (const s of snaps) {
      if (s.meta.opaqueDirs.length === 0 || s.meta.opaqueMarked) continue;
      await setOpaque(s.meta.opaqueDirs.map((d) => join(s.dir, d)));
      s.meta.opaqueMarked = true;
      const tmp = `${this.metaPath(s.meta.diffID)}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(s.meta));
      await rename(tmp, this.metaPath(s.meta.diffID));
    }
  }

  /** The snapshot of a stored layer, unpacking the blob the first time. */
  ensure(layer: LayerRef): Promise<Snapshot> {
    const key = layer.diffID;
    let p = this.pending.get(key);
    if (!p) {
      p = this.unpack(layer).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private async unpack(layer: LayerRef): Promise<Snapshot> {
    const have = await this.get(layer.diffID);
    if (have) return have;
    if (this.fetchBlob && !(await this.store.hasBlob(layer.digest))) await this.fetchBlob(layer);
    const staging = await this.stagingDir();
    try {
      const result = await applyLayer(this.store.openBlob(layer.digest), staging, { whiteouts: 'overlay', allowDevices: true });
      return await this.commit(staging, layer.diffID, result.opaqueDirs);
    } catch (e) {
      await rm(staging, { recursive: true, force: true });
      throw e;
    }
  }
}
