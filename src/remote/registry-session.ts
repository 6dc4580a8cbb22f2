// One command's use of registries: the options resolved at the edge, one
// RegistryClient created on first use (so a build that never leaves the
// local store opens no connection), and the store adapters the client
// writes through and reads from.
import {
  createRegistryClient,
  parseReference,
  type BlobSink,
  type ImageReference,
  type ProgressListener,
  type RegistryClient,
  type RegistryOptions,
} from '../../registry/index.js';
import type { ContentStore, Digest } from '../store/index.js';
import type { BlobOrigin } from './lazy-blobs.js';

/** The registry/ sink over the content store (registry/ cannot import it). */
export function storeSink(store: ContentStore): BlobSink {
  return { has: (d) => store.hasBlob(d as Digest), create: () => store.createBlobWriter() };
}

export class RegistrySession {
  #client: RegistryClient | null = null;
  readonly #origins = new Map<string, BlobOrigin>();

  /** `signal` stops the lazy fetches of origins (Ctrl-C during a build). */
  constructor(
    readonly options: RegistryOptions,
    private readonly store: ContentStore,
    private readonly onProgress?: ProgressListener,
    private readonly signal?: AbortSignal,
  ) {}

  get client(): RegistryClient {
    this.#client ??= createRegistryClient(this.options);
    return this.#client;
  }

  /** The blobs of repository `ref` (its tag or digest does not matter) as a lazy origin. */
  origin(ref: ImageReference | string): BlobOrigin {
    const parsed = typeof ref === 'string' ? parseReference(ref) : ref;
    const name = parsed.name();
    let origin = this.#origins.get(name);
    if (origin === undefined) {
      const sink = storeSink(this.store);
      const opts = {
        ...(this.onProgress === undefined ? {} : { onProgress: this.onProgress }),
        ...(this.signal === undefined ? {} : { signal: this.signal }),
      };
      origin = {
        label: name,
        registry: parsed.registry,
        repository: parsed.repository,
        fetch: async (d) => {
          await this.client.fetchBlob(parsed, d, sink, opts);
        },
      };
      this.#origins.set(name, origin);
    }
    return origin;
  }

  async close(): Promise<void> {
    const c = this.#client;
    this.#client = null;
    await c?.close();
  }
}
