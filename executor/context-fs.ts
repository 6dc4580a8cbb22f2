// The build context as a SourceFs: a host directory filtered by
// .dockerignore. An excluded directory stays visible only when an exception
// pattern may re-include something below it. Metadata calls are synchronous
// on purpose: a context walk makes tens of thousands of them, and each
// async call is a thread-pool round trip that costs more than the syscall.
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
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
      const st = lstatSync(host);
      return this.visible(rel, st.isDirectory()) ? toInfo(st, host) : null;
    } catch {
      return null;
    }
  }

  async readdir(rel: string): Promise<string[]> {
    const entries = readdirSync(join(this.root, rel), { withFileTypes: true });
    return entries
      .filter((e) => this.visible(rel === '' ? e.name : `${rel}/${e.name}`, e.isDirectory()))
      .map((e) => e.name)
      .sort(byteCompare);
  }

  async readlink(rel: string): Promise<string> {
    return readlinkSync(join(this.root, rel));
  }
}
