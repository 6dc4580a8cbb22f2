// A running container's files as a SourceFs, through /proc/<init>/root
// (the live overlay, changes included): for `exec -u NAME`, which docker
// resolves against the container's current /etc/passwd and /etc/group.
import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { toInfo, type FileInfo, type SourceFs } from '../../executor/index.js';

export class ProcRootFs implements SourceFs {
  readonly #root: string;

  constructor(initPid: number) {
    this.#root = `/proc/${initPid}/root`;
  }

  async lstat(rel: string): Promise<FileInfo | null> {
    const hostPath = join(this.#root, rel);
    try {
      return toInfo(lstatSync(hostPath), hostPath);
    } catch {
      return null;
    }
  }

  async readdir(rel: string): Promise<string[]> {
    return readdirSync(join(this.#root, rel)).sort();
  }

  async readlink(rel: string): Promise<string> {
    return readlinkSync(join(this.#root, rel));
  }
}
