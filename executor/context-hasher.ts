// Content digests of context files for cache keys. Each file is hashed at
// most once per build; a stat cache kept in the store (inode, size, mtime,
// ctime → digest) lets an unchanged context skip hashing on the next build.
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { ContentStore } from '../src/store/index.js';
import type { FileInfo } from './source-fs.js';

const SMALL_FILE = 1 << 20;

/** xattrs: null = none, absent = not read yet (an xattr change bumps ctime, so a fresh entry's xattrs are current). */
type StatEntry = [ino: number, size: number, mtimeMs: number, ctimeMs: number, digest: string, xattrs?: Record<string, string> | null];

interface StatCacheRecord {
  version: 1;
  files: Record<string, StatEntry>;
}

export class ContextHasher {
  private loaded: Promise<StatCacheRecord> | null = null;
  private readonly fresh: Record<string, StatEntry> = {};
  private readonly inflight = new Map<string, Promise<string>>();
  private dirty = false;
  /** Number of files actually read and hashed (for tests and benchmarks). */
  hashed = 0;

  constructor(
    private readonly store: ContentStore,
    private readonly contextRoot: string,
  ) {}

  private key(): string {
    return createHash('sha256').update(this.contextRoot).digest('hex');
  }

  private load(): Promise<StatCacheRecord> {
    this.loaded ??= this.store
      .getRecord<StatCacheRecord>('statcache', this.key())
      .then((r) => (r && r.version === 1 ? r : { version: 1 as const, files: {} }))
      .catch(() => ({ version: 1 as const, files: {} }));
    return this.loaded;
  }

  digest(rel: string, info: FileInfo): Promise<string> {
    let p = this.inflight.get(rel);
    if (!p) {
      p = this.compute(rel, info);
      this.inflight.set(rel, p);
    }
    return p;
  }

  private async compute(rel: string, info: FileInfo): Promise<string> {
    const cache = await this.load();
    const hit = cache.files[rel];
    if (hit && hit[0] === info.ino && hit[1] === info.size && hit[2] === info.mtime.getTime() && hit[3] === info.ctimeMs) {
      this.fresh[rel] = hit;
      return hit[4];
    }
    const hash = createHash('sha256');
    // Small files in one read: a stream costs several thread-pool round trips.
    if (info.size <= SMALL_FILE) hash.update(readFileSync(info.hostPath));
    else await pipeline(createReadStream(info.hostPath), hash);
    const digest = 'sha256:' + hash.digest('hex');
    this.hashed++;
    this.fresh[rel] = [info.ino, info.size, info.mtime.getTime(), info.ctimeMs, digest];
    this.dirty = true;
    return digest;
  }

  /** Cached xattrs of a file digested in this build: undefined when not known yet. */
  xattrs(rel: string): Record<string, string> | null | undefined {
    const e = this.fresh[rel];
    return e && e.length > 5 ? (e[5] ?? null) : undefined;
  }

  setXattrs(rel: string, xattrs: Record<string, string> | null): void {
    const e = this.fresh[rel];
    if (!e) return;
    this.fresh[rel] = [e[0], e[1], e[2], e[3], e[4], xattrs];
    this.dirty = true;
  }

  /** Persist what this build learned, merged over the previous record. */
  async save(): Promise<void> {
    if (!this.dirty) return;
    const cache = await this.load();
    await this.store.putRecord('statcache', this.key(), { version: 1, files: { ...cache.files, ...this.fresh } }, { durable: false });
  }
}
