// Blobs the store does not hold yet but knows where to get: the layers of a
// base image resolved from a registry (only its manifest and config were
// pulled), and the layers of imported cache records. A blob is fetched the
// first time something needs its bytes — a step that unpacks the layer, the
// image export, a push whose registry cannot mount it — and never before.
// Each origin verifies what it fetches against the digest before the blob
// becomes visible in the store.
import type { Descriptor as RegistryDescriptor } from '../../registry/index.js';
import { ImageError } from '../image/errors.js';
import type { ContentStore, Digest } from '../store/index.js';
import { forEachBounded } from './for-each-bounded.js';

export interface BlobOrigin {
  /** For messages and progress: `127.0.0.1:5000/library/busybox`, `/path/to/cache-layout`. */
  readonly label: string;
  /** The registry host, when the origin is a registry repository. */
  readonly registry?: string;
  /** The repository path (`library/busybox`) on `registry`. */
  readonly repository?: string;
  /** Put the blob into the store, verified; resolves once it is there. */
  fetch(descriptor: RegistryDescriptor): Promise<void>;
}

export interface LazyBlobsOptions {
  /** Called after a blob was fetched (not when the store already had it). */
  onFetched?(descriptor: RegistryDescriptor, origin: BlobOrigin, ms: number): void;
}

interface Known {
  descriptor: RegistryDescriptor;
  origins: BlobOrigin[];
}

export class LazyBlobs {
  readonly #known = new Map<string, Known>();
  readonly #pending = new Map<string, Promise<void>>();

  constructor(
    private readonly store: ContentStore,
    private readonly opts: LazyBlobsOptions = {},
  ) {}

  /** Remember that `origin` holds these blobs. Earlier origins are tried first. */
  add(origin: BlobOrigin, descriptors: readonly RegistryDescriptor[]): void {
    for (const d of descriptors) {
      const known = this.#known.get(d.digest);
      if (known === undefined) this.#known.set(d.digest, { descriptor: d, origins: [origin] });
      else if (!known.origins.includes(origin)) known.origins.push(origin);
    }
  }

  /** The origins known for `digest` (empty when none). */
  origins(digest: string): readonly BlobOrigin[] {
    return this.#known.get(digest)?.origins ?? [];
  }

  /** Make `digest` present in the store, fetching it once however many callers ask at the same time. */
  ensure(digest: string): Promise<void> {
    let p = this.#pending.get(digest);
    if (p === undefined) {
      p = this.#ensure(digest).finally(() => this.#pending.delete(digest));
      this.#pending.set(digest, p);
    }
    return p;
  }

  /** ensure() every digest, at most `concurrency` transfers at once; the first failure wins. */
  ensureAll(digests: readonly string[], concurrency = 4): Promise<void> {
    return forEachBounded([...new Set(digests)], concurrency, (d) => this.ensure(d));
  }

  /** The digests among `digests` that the store does not hold (yet). */
  async missing(digests: readonly string[]): Promise<string[]> {
    const out: string[] = [];
    for (const d of digests) if (!(await this.store.hasBlob(d as Digest))) out.push(d);
    return out;
  }

  async #ensure(digest: string): Promise<void> {
    if (await this.store.hasBlob(digest as Digest)) return;
    const known = this.#known.get(digest);
    if (known === undefined || known.origins.length === 0) {
      throw new ImageError('TSB_IMAGE_NOT_FOUND', `blob ${digest} is not in the local store and no registry or cache is known to hold it`, { digest });
    }
    let lastError: unknown;
    for (const origin of known.origins) {
      const start = Date.now();
      try {
        await origin.fetch(known.descriptor);
        this.opts.onFetched?.(known.descriptor, origin, Date.now() - start);
        return;
      } catch (err) {
        lastError = err;
      }
    }
    throw lastError;
  }
}
