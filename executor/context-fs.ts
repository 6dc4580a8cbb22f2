// The build context as a SourceFs: a host directory filtered by
// .dockerignore. An excluded directory stays visible only when an exception
// pattern may re-include something below it.
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { IgnoreMatcher } from '../parser/index.js';
import { byteCompare, toInfo, type FileInfo, type SourceFs } from './source-fs.js';

export class ContextFs implements SourceFs {
  constructor(
    readonly root: string,
    private readonly ignore: IgnoreMatcher | null,
  ) {}

  private visible(rel: string, isDir: boolean): boolean {
    if (rel === '' || !this.ignore || !this.ignore.excludes(rel)) return true;
    return isDir && this.ignore.mayReincludeUnder(rel);
  }

  async lstat(rel: string): Promise<FileInfo | null> {
    const host = join(this.root, rel);
    try {
      const st = await lstat(host);
      return this.visible(rel, st.isDirectory()) ? toInfo(st, host) : null;
    } catch {
      return null;
    }
  }

  async readdir(rel: string): Promise<string[]> {
    const entries = await readdir(join(this.root, rel), { withFileTypes: true });
    return entries
      .filter((e) => this.visible(rel === '' ? e.name : `${rel}/${e.name}`, e.isDirectory()))
      .map((e) => e.name)
      .sort(byteCompare);
  }

  readlink(rel: string): Promise<string> {
    return readlink(join(this.root, rel));
  }
}
