// fetchBlob: stream one blob into a sink, hashing while streaming. The
// sink's writer is committed only after every byte arrived and matched the
// digest; on any failure it is aborted, so nothing unverified is kept.
// Interrupted downloads resume with Range inside the retry interceptor.
import { pipeline } from 'node:stream/promises';
import type { BlobSink, BlobSinkWriter } from './blob-sink.js';
import { DigestVerifier } from './digest-verifier.js';
import { digestAlgorithm } from './digest.js';
import type { Endpoint } from './endpoint.js';
import { RegistryError } from './errors.js';
import type { Descriptor } from './manifest.js';
import { tryEndpoints } from './mirror-fallback.js';
import type { ProgressListener } from './progress.js';
import type { ImageReference } from './reference.js';
import { discard, headerValue, responseError } from './response.js';
import { isNetworkError, type Transport } from './transport.js';

export interface FetchBlobOptions {
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

export interface FetchedBlob {
  digest: string;
  size: number;
  /** false when the sink already had it. */
  fetched: boolean;
}

async function download(
  t: Transport,
  endpoint: Endpoint,
  ref: ImageReference,
  descriptor: Descriptor,
  writer: BlobSinkWriter,
  opts: FetchBlobOptions,
): Promise<void> {
  const name = ref.name();
  const context = { repository: name, digest: descriptor.digest };
  const res = await t.request({
    method: 'GET',
    url: `${endpoint.origin}/v2/${ref.repository}/blobs/${descriptor.digest}`,
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  if (res.statusCode !== 200) throw await responseError(res, `GET blob ${descriptor.digest} from ${name}`, context);
  const length = headerValue(res.headers, 'content-length');
  if (length !== undefined && Number(length) !== descriptor.size) {
    await discard(res);
    throw new RegistryError('TSB_REGISTRY_DIGEST_MISMATCH', `blob ${descriptor.digest}: registry announces ${length} bytes, descriptor declares ${descriptor.size}`, context);
  }
  const onProgress = opts.onProgress;
  const verifier = new DigestVerifier({
    digest: descriptor.digest,
    size: descriptor.size,
    repository: name,
    ...(onProgress === undefined ? {} : { onProgress: (current: number) => onProgress({ digest: descriptor.digest, current, total: descriptor.size, status: 'downloading' }) }),
  });
  try {
    await pipeline(res.body, verifier, writer.stream, ...(opts.signal === undefined ? [] : [{ signal: opts.signal }]));
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    if (isNetworkError(err)) {
      throw new RegistryError('TSB_REGISTRY_UNREACHABLE', `GET blob ${descriptor.digest} from ${name}: ${(err as Error).message}`, { ...context, cause: err });
    }
    throw err;
  } finally {
    if (!res.body.destroyed) res.body.destroy();
  }
  verifier.verify();
}

export async function fetchBlob(
  t: Transport,
  ref: ImageReference,
  descriptor: Descriptor,
  sink: BlobSink,
  opts: FetchBlobOptions = {},
): Promise<FetchedBlob> {
  digestAlgorithm(descriptor.digest, { repository: ref.name() });
  if (!Number.isSafeInteger(descriptor.size) || descriptor.size < 0) {
    throw new RegistryError('TSB_REGISTRY_PROTOCOL', `descriptor ${descriptor.digest} has an invalid size`, { repository: ref.name(), digest: descriptor.digest });
  }
  const result = { digest: descriptor.digest, size: descriptor.size };
  if (await sink.has(descriptor.digest)) {
    opts.onProgress?.({ digest: descriptor.digest, current: descriptor.size, total: descriptor.size, status: 'exists' });
    return { ...result, fetched: false };
  }
  await tryEndpoints(t.pullEndpoints(ref.registry), async (endpoint) => {
    // The retry interceptor resumes a broken download with Range; if even
    // that fails (say the server ignores Range), start once more from byte 0.
    for (let attempt = 1; ; attempt++) {
      const writer = await sink.create();
      try {
        await download(t, endpoint, ref, descriptor, writer, opts);
      } catch (err) {
        await writer.abort();
        const again = attempt === 1 && err instanceof RegistryError && err.code === 'TSB_REGISTRY_UNREACHABLE' && opts.signal?.aborted !== true;
        if (again) continue;
        throw err;
      }
      await writer.commit(descriptor.digest);
      return;
    }
  });
  opts.onProgress?.({ digest: descriptor.digest, current: descriptor.size, total: descriptor.size, status: 'downloaded' });
  return { ...result, fetched: true };
}
