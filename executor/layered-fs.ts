// The merged filesystem of a layer chain, read straight from the snapshot
// directories with overlayfs rules (a char 0/0 whiteout hides a name, an
// opaque directory hides everything below it in lower layers), without
// mounting anything.
import type { Stats } from 'node:fs';
import { lstatSync } from 'node:fs';
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Snapshot } from './snapshots.js';
import { byteCompare, toInfo, type FileInfo, type SourceFs } from './source-fs.js';

function isWhiteout(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}

export class LayeredFs implements SourceFs {
  private readonly statCache = new Map<string, Promise<Stats | null>>();
  private readonly opaque: Set<string>[];

  /** `layers` bottom first. */
  constructor(private readonly layers: readonly Snapshot[]) {
    this.opaque = layers.map((l) => new Set(l.meta.opaqueDirs.map((d) => d.replace(/^\/+|\/+$/g, ''))));
  }

  get empty(): boolean {
    return this.layers.length === 0;
  }

  private raw(path: string): Promise<Stats | null> {
    let p = this.statCache.get(path);
    if (!p) {
      p = Promise.resolve(lstatSync(path, { throwIfNoEntry: false }) ?? null);
      this.statCache.set(path, p);
    }
    return p;
  }

  async lstat(rel: string): Promise<FileInfo | null> {
    return (await this.locate(rel))?.info ?? null;
  }

  /**
   * What names a file's bytes independently of this machine: the layer that
   * provides it (snapshots are immutable, unpacked from that diffID) and the
   * path in it. Cache keys use it, so they match across roots and hosts
   * where an inode number would not.
   */
  async contentId(rel: string): Promise<string | null> {
    const found = await this.locate(rel);
    return found === null ? null : `${found.diffID}:/${rel}`;
  }

  private async locate(rel: string): Promise<{ info: FileInfo; diffID: string } | null> {
    if (rel === '') {
      const top = this.layers[this.layers.length - 1];
      if (!top) return null;
      const st = await this.raw(top.dir);
      return st && { info: toInfo(st, top.dir), diffID: top.meta.diffID };
    }
    const parts = rel.split('/');
    for (let i = this.layers.length - 1; i >= 0; i--) {
      const layer = this.layers[i] as Snapshot;
      let stopBelow = false;
      for (let k = 1; k <= parts.length; k++) {
        const sub = parts.slice(0, k).join('/');
        const st = await this.raw(join(layer.dir, sub));
        if (st === null) break;
        if (isWhiteout(st)) return null;
        if (k === parts.length) return { info: toInfo(st, join(layer.dir, sub)), diffID: layer.meta.diffID };
        if (!st.isDirectory()) return null;
        if ((this.opaque[i] as Set<string>).has(sub)) stopBelow = true;
      }
      if (stopBelow) return null;
    }
    return null;
  }

  async readdir(rel: string): Promise<string[]> {
    const names = new Set<string>();
    for (const layer of this.layers) {
      try {
        for (const n of await readdir(join(layer.dir, rel))) names.add(n);
      } catch {
        // not a directory in this layer
      }
    }
    const out: string[] = [];
    for (const n of names) {
      if ((await this.lstat(rel === '' ? n : `${rel}/${n}`)) !== null) out.push(n);
    }
    return out.sort(byteCompare);
  }

  async readlink(rel: string): Promise<string> {
    const info = await this.lstat(rel);
    if (!info) throw Object.assign(new Error(`no such file: /${rel}`), { code: 'ENOENT' });
    return readlink(info.hostPath);
  }
}
