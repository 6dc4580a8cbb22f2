// pushBlob: make one blob present in a repository, doing as little as
// possible: HEAD (present → done), cross-repository mount (201 → done, 202 →
// the registry opened an upload instead), else upload. The upload is one
// streaming PUT; chunked PATCHes when the registry asks for a minimum chunk
// length, refuses the monolithic PUT, or the caller sets a chunk size.
// A transient failure restarts the blob from the HEAD with a fresh stream
// from the source (a consumed stream cannot be re-sent).
import { pipeline, Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BlobSource } from './blob-sink.js';
import { DigestVerifier } from './digest-verifier.js';
import { isDigest } from './digest.js';
import type { Endpoint } from './endpoint.js';
import { isTransient, RegistryError } from './errors.js';
import type { Descriptor } from './manifest.js';
import type { ProgressListener } from './progress.js';
import { discard, headerValue, responseError } from './response.js';
import type { Transport } from './transport.js';

export interface PushBlobOptions {
  /** A repository on the same registry that may hold the blob (`team/base`). */
  mountFrom?: string;
  /** Upload in PATCH chunks of this many bytes. */
  chunkSize?: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

export type PushBlobOutcome = 'exists' | 'mounted' | 'uploaded';

export interface BlobTarget {
  endpoint: Endpoint;
  /** The repository path (`team/app`). */
  repository: string;
  /** `registry/repository`, for messages. */
  name: string;
}

interface UploadSession {
  location: URL;
  minChunk: number | undefined;
}

const DEFAULT_CHUNK = 16 * 1024 * 1024;
const OCTET = 'application/octet-stream';

function signalOpt(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal };
}

async function blobExists(t: Transport, target: BlobTarget, d: Descriptor, signal?: AbortSignal): Promise<boolean> {
  const res = await t.request({ method: 'HEAD', url: `${target.endpoint.origin}/v2/${target.repository}/blobs/${d.digest}`, ...signalOpt(signal) });
  if (res.statusCode === 200) {
    await discard(res);
    return true;
  }
  if (res.statusCode === 404) {
    await discard(res);
    return false;
  }
  throw await responseError(res, `HEAD blob ${d.digest} in ${target.name}`, { repository: target.name, digest: d.digest });
}

/** POST an upload (or a mount). Returns null when the mount succeeded. */
async function startUpload(t: Transport, target: BlobTarget, d: Descriptor, mountFrom: string | undefined, signal?: AbortSignal): Promise<UploadSession | null> {
  const url = new URL(`${target.endpoint.origin}/v2/${target.repository}/blobs/uploads/`);
  if (mountFrom !== undefined) {
    url.searchParams.set('mount', d.digest);
    url.searchParams.set('from', mountFrom);
  }
  const res = await t.request({ method: 'POST', url, headers: { 'content-length': '0' }, ...signalOpt(signal) });
  const context = { repository: target.name, digest: d.digest };
  if (res.statusCode === 201 && mountFrom !== undefined) {
    await discard(res);
    return null;
  }
  if (res.statusCode !== 202) throw await responseError(res, `start upload of ${d.digest} to ${target.name}`, context);
  const location = headerValue(res.headers, 'location');
  const minChunk = Number(headerValue(res.headers, 'oci-chunk-min-length') ?? NaN);
  await discard(res);
  if (location === undefined) throw new RegistryError('TSB_REGISTRY_PROTOCOL', `start upload to ${target.name}: 202 without Location`, context);
  return { location: new URL(location, url), minChunk: Number.isSafeInteger(minChunk) && minChunk > 0 ? minChunk : undefined };
}

/** The source's bytes, checked against the descriptor as they are read. */
async function openVerified(source: BlobSource, d: Descriptor, target: BlobTarget, onProgress: ProgressListener | undefined): Promise<DigestVerifier> {
  const src = await source.open(d.digest);
  const verifier = new DigestVerifier({
    digest: d.digest,
    size: d.size,
    repository: target.name,
    ...(onProgress === undefined ? {} : { onProgress: (current: number) => onProgress({ digest: d.digest, current, total: d.size, status: 'uploading' }) }),
  });
  // Errors travel both ways: a failing source fails the request body; a
  // request that gives up destroys the source.
  pipeline(src, verifier, () => {});
  return verifier;
}

async function finishUpload(t: Transport, target: BlobTarget, d: Descriptor, location: URL, body: Readable | null, signal?: AbortSignal): Promise<void> {
  const url = new URL(location);
  url.searchParams.set('digest', d.digest);
  const res = await t.request({
    method: 'PUT',
    url,
    headers: { 'content-type': OCTET, 'content-length': String(body === null ? 0 : d.size) },
    body,
    ...signalOpt(signal),
  });
  const context = { repository: target.name, digest: d.digest };
  if (res.statusCode !== 201) throw await responseError(res, `upload ${d.digest} to ${target.name}`, context);
  const stored = headerValue(res.headers, 'docker-content-digest');
  await discard(res);
  if (stored !== undefined && isDigest(stored) && stored !== d.digest) {
    throw new RegistryError('TSB_REGISTRY_DIGEST_MISMATCH', `upload ${d.digest} to ${target.name}: registry stored ${stored}`, context);
  }
}

/** Hands out the next `n` bytes of an async byte iterator as their own stream. */
class ChunkReader {
  readonly #it: AsyncIterator<Buffer>;
  #pending: Buffer | null = null;

  constructor(stream: Readable) {
    this.#it = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  }

  async *take(n: number): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      let buf = this.#pending;
      this.#pending = null;
      if (buf === null) {
        const next = await this.#it.next();
        if (next.done === true) throw new Error('blob source ended early');
        buf = next.value;
      }
      if (buf.length > left) {
        this.#pending = buf.subarray(left);
        buf = buf.subarray(0, left);
      }
      left -= buf.length;
      yield buf;
    }
  }

  /** Read to the end (which runs the digest check); nothing may be left over. */
  async end(): Promise<void> {
    if (this.#pending !== null && this.#pending.length > 0) throw new Error('blob source longer than its descriptor');
    const next = await this.#it.next();
    if (next.done !== true) throw new Error('blob source longer than its descriptor');
  }
}

async function uploadChunked(t: Transport, target: BlobTarget, d: Descriptor, session: UploadSession, chunkSize: number, data: DigestVerifier, signal?: AbortSignal): Promise<void> {
  const context = { repository: target.name, digest: d.digest };
  const reader = new ChunkReader(data);
  let location = session.location;
  for (let offset = 0; offset < d.size; ) {
    const n = Math.min(chunkSize, d.size - offset);
    const res = await t.request({
      method: 'PATCH',
      url: location,
      headers: { 'content-type': OCTET, 'content-length': String(n), 'content-range': `${offset}-${offset + n - 1}` },
      body: Readable.from(reader.take(n), { objectMode: false }),
      ...signalOpt(signal),
    });
    if (res.statusCode !== 202) throw await responseError(res, `upload chunk ${offset}-${offset + n - 1} of ${d.digest} to ${target.name}`, context);
    const next = headerValue(res.headers, 'location');
    await discard(res);
    if (next === undefined) throw new RegistryError('TSB_REGISTRY_PROTOCOL', `upload chunk to ${target.name}: 202 without Location`, context);
    location = new URL(next, location);
    offset += n;
  }
  await reader.end();
  await finishUpload(t, target, d, location, null, signal);
}

/** Statuses with which a registry says "not a monolithic PUT, please". */
function wantsChunks(err: unknown): boolean {
  return err instanceof RegistryError && err.status !== undefined && [405, 411, 415, 416, 501].includes(err.status);
}

async function pushBlobOnce(t: Transport, target: BlobTarget, d: Descriptor, source: BlobSource, opts: PushBlobOptions): Promise<PushBlobOutcome> {
  const { signal, onProgress } = opts;
  if (await blobExists(t, target, d, signal)) {
    onProgress?.({ digest: d.digest, current: d.size, total: d.size, status: 'exists' });
    return 'exists';
  }
  const mountFrom = opts.mountFrom !== undefined && opts.mountFrom !== target.repository ? opts.mountFrom : undefined;
  let session = await startUpload(t, target, d, mountFrom, signal);
  if (session === null) {
    onProgress?.({ digest: d.digest, current: d.size, total: d.size, status: 'mounted' });
    return 'mounted';
  }
  if (opts.chunkSize === undefined && session.minChunk === undefined) {
    const data = await openVerified(source, d, target, onProgress);
    try {
      await finishUpload(t, target, d, session.location, data, signal);
      onProgress?.({ digest: d.digest, current: d.size, total: d.size, status: 'uploaded' });
      return 'uploaded';
    } catch (err) {
      if (!wantsChunks(err)) throw err;
    } finally {
      data.destroy();
    }
    session = await startUpload(t, target, d, undefined, signal);
    if (session === null) throw new RegistryError('TSB_REGISTRY_PROTOCOL', 'unexpected mount', { repository: target.name, digest: d.digest });
  }
  const chunkSize = Math.max(opts.chunkSize ?? DEFAULT_CHUNK, session.minChunk ?? 1);
  const data = await openVerified(source, d, target, onProgress);
  try {
    await uploadChunked(t, target, d, session, chunkSize, data, signal);
  } finally {
    data.destroy();
  }
  onProgress?.({ digest: d.digest, current: d.size, total: d.size, status: 'uploaded' });
  return 'uploaded';
}

export async function pushBlob(t: Transport, target: BlobTarget, d: Descriptor, source: BlobSource, opts: PushBlobOptions = {}): Promise<PushBlobOutcome> {
  const policy = t.retryPolicy;
  for (let attempt = 1; ; attempt++) {
    try {
      return await pushBlobOnce(t, target, d, source, opts);
    } catch (err) {
      if (!isTransient(err) || attempt > policy.maxRetries || opts.signal?.aborted === true) throw err;
      await sleep(Math.min(policy.minDelayMs * 2 ** (attempt - 1), policy.maxDelayMs), undefined, signalOpt(opts.signal));
    }
  }
}
