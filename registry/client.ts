// RegistryClient: the public face of registry/. One Transport (one undici
// Agent with auth, retry and redirect interceptors) shared by every
// operation; the operations themselves live one per file.
import type { BlobSink } from './blob-sink.js';
import { dockerConfigCredentials, type CredentialStore } from './credentials.js';
import { normalizeServer } from './docker-config.js';
import { fetchBlob, type FetchBlobOptions, type FetchedBlob } from './fetch-blob.js';
import type { Descriptor } from './manifest.js';
import { verifyCredentials } from './ping.js';
import { pullImage, type PulledImage, type PullOptions } from './pull-image.js';
import { pushImage, type PushOptions, type PushResult, type PushSource } from './push-image.js';
import { parseReference, type ImageReference } from './reference.js';
import { resolveManifest, type ResolvedManifest, type ResolveOptions } from './resolve.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-interceptor.js';
import { Transport } from './transport.js';

export interface RegistryOptions {
  /** Mirrors for docker.io pulls (`https://mirror.example`, `127.0.0.1:5000`), tried in order, then docker.io. */
  mirrors?: readonly string[];
  /** Hosts spoken to over plain HTTP besides loopback. */
  insecure?: readonly string[];
  /** Default: docker's config.json (`$DOCKER_CONFIG`, `~/.docker`) with its helpers. */
  credentials?: CredentialStore;
  retry?: Partial<RetryPolicy>;
  /** Default 5. */
  maxRedirections?: number;
  userAgent?: string;
  /** Connections per origin. Default 8. */
  connections?: number;
  /** Default 30 s. */
  connectTimeoutMs?: number;
  /** The clock for token expiry. */
  now?: () => number;
}

export type ReferenceInput = string | ImageReference;

function toReference(ref: ReferenceInput): ImageReference {
  return typeof ref === 'string' ? parseReference(ref) : ref;
}

export class RegistryClient {
  readonly #t: Transport;

  constructor(options: RegistryOptions = {}) {
    this.#t = new Transport({
      credentials: options.credentials ?? dockerConfigCredentials(),
      retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
      maxRedirections: options.maxRedirections ?? 5,
      userAgent: options.userAgent ?? 'tsbuild/0.1',
      connections: options.connections ?? 8,
      connectTimeoutMs: options.connectTimeoutMs ?? 30_000,
      ...(options.mirrors === undefined ? {} : { mirrors: options.mirrors }),
      ...(options.insecure === undefined ? {} : { insecure: options.insecure }),
      ...(options.now === undefined ? {} : { now: options.now }),
    });
  }

  /** The platform manifest for `ref` (following an index), bytes and digest verified. */
  resolve(ref: ReferenceInput, opts: ResolveOptions = {}): Promise<ResolvedManifest> {
    return resolveManifest(this.#t, toReference(ref), opts);
  }

  /** Stream one blob of `ref`'s repository into `sink`, verified; skipped if the sink has it. */
  fetchBlob(ref: ReferenceInput, descriptor: Descriptor, sink: BlobSink, opts: FetchBlobOptions = {}): Promise<FetchedBlob> {
    return fetchBlob(this.#t, toReference(ref), descriptor, sink, opts);
  }

  /** Manifest, config and layers of `ref` into `sink`. */
  pullImage(ref: ReferenceInput, sink: BlobSink, opts: PullOptions = {}): Promise<PulledImage> {
    return pullImage(this.#t, toReference(ref), sink, opts);
  }

  /** Blobs, then the manifest under the reference's tag and `opts.tags`. */
  pushImage(ref: ReferenceInput, source: PushSource, opts: PushOptions = {}): Promise<PushResult> {
    return pushImage(this.#t, toReference(ref), source, opts);
  }

  /** Throws TSB_REGISTRY_UNAUTHORIZED unless the registry accepts this client's credentials. */
  verifyCredentials(server: string): Promise<void> {
    return verifyCredentials(this.#t, this.#t.pushEndpoint(normalizeServer(server)));
  }

  /** Close the connections. The client cannot be used afterwards. */
  close(): Promise<void> {
    return this.#t.close();
  }
}

export function createRegistryClient(options: RegistryOptions = {}): RegistryClient {
  return new RegistryClient(options);
}
