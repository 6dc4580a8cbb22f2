// pushImage: every blob first (HEAD, mount or upload, bounded parallel),
// then child manifests by digest (for an index), and only then the tags,
// each a PUT of the exact manifest bytes with their media type. A failure
// anywhere before the tag PUTs leaves no tag pointing at a partial image.
import type { BlobSource } from './blob-sink.js';
import { digestAlgorithm, digestOf, isDigest } from './digest.js';
import type { Endpoint } from './endpoint.js';
import { RegistryError } from './errors.js';
import { MAX_MANIFEST_BYTES, parseManifest, type Descriptor } from './manifest.js';
import { prepareAuth } from './ping.js';
import type { ProgressListener } from './progress.js';
import { pushBlob, type BlobTarget, type PushBlobOutcome } from './push-blob.js';
import { InvalidReferenceError, type ImageReference } from './reference.js';
import { discard, headerValue, responseError } from './response.js';
import { runBounded } from './run-bounded.js';
import type { Transport } from './transport.js';

export interface PushSource extends BlobSource {
  /** The manifest (or index) exactly as it must be stored. */
  manifest: { mediaType: string; bytes: Uint8Array };
}

export interface PushOptions {
  /** Tags besides the reference's own. */
  tags?: readonly string[];
  /** A repository on the same registry to mount blobs from (`team/base`). */
  mountFrom?: string;
  /** Blobs transferred at once. Default 4. */
  concurrency?: number;
  /** Upload blobs in PATCH chunks of this size instead of one PUT. */
  chunkSize?: number;
  onProgress?: ProgressListener;
  signal?: AbortSignal;
}

export interface PushResult {
  /** `registry/repository@digest` */
  reference: string;
  digest: string;
  mediaType: string;
  size: number;
  /** The tags that now point at it. */
  tags: string[];
  blobs: { digest: string; size: number; outcome: PushBlobOutcome }[];
}

const TAG_RE = /^[\w][\w.-]{0,127}$/;

interface ManifestToPut {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

async function putManifest(t: Transport, endpoint: Endpoint, ref: ImageReference, reference: string, m: ManifestToPut, signal?: AbortSignal): Promise<void> {
  const name = ref.name();
  const res = await t.request({
    method: 'PUT',
    url: `${endpoint.origin}/v2/${ref.repository}/manifests/${reference}`,
    headers: { 'content-type': m.mediaType },
    body: m.bytes,
    ...(signal === undefined ? {} : { signal }),
  });
  const context = { repository: name, digest: m.digest };
  if (res.statusCode !== 201 && res.statusCode !== 200) throw await responseError(res, `PUT manifest ${name}:${reference}`, context);
  const stored = headerValue(res.headers, 'docker-content-digest');
  await discard(res);
  if (stored !== undefined && isDigest(stored) && stored !== m.digest) {
    throw new RegistryError('TSB_REGISTRY_DIGEST_MISMATCH', `PUT manifest ${name}:${reference}: registry stored ${stored}, sent ${m.digest}`, context);
  }
}

/** A child manifest of an index, read from the source and checked against its descriptor. */
async function readChild(source: BlobSource, d: Descriptor, name: string): Promise<Buffer> {
  const context = { repository: name, digest: d.digest };
  if (d.size > MAX_MANIFEST_BYTES) throw new RegistryError('TSB_REGISTRY_MANIFEST_TOO_LARGE', `manifest ${d.digest} is larger than ${MAX_MANIFEST_BYTES} bytes`, context);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of await source.open(d.digest)) {
    size += (chunk as Buffer).length;
    if (size > d.size) break;
    chunks.push(chunk as Buffer);
  }
  const bytes = Buffer.concat(chunks);
  if (size !== d.size || digestOf(bytes, digestAlgorithm(d.digest)) !== d.digest) {
    throw new RegistryError('TSB_REGISTRY_DIGEST_MISMATCH', `source manifest ${d.digest} does not match its descriptor`, context);
  }
  return bytes;
}

export async function pushImage(t: Transport, ref: ImageReference, source: PushSource, opts: PushOptions = {}): Promise<PushResult> {
  const name = ref.name();
  const tags = [...new Set([...(ref.tag === null ? [] : [ref.tag]), ...(opts.tags ?? [])])];
  for (const tag of tags) {
    if (!TAG_RE.test(tag)) throw new InvalidReferenceError(`${name}:${tag}`, 'tag', `tag "${tag}" must be [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
  }
  const bytes = Buffer.from(source.manifest.bytes);
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new RegistryError('TSB_REGISTRY_MANIFEST_TOO_LARGE', `manifest for ${name} is larger than ${MAX_MANIFEST_BYTES} bytes`, { repository: name });
  }
  const top: ManifestToPut = { digest: digestOf(bytes, ref.digest === null ? 'sha256' : digestAlgorithm(ref.digest)), mediaType: source.manifest.mediaType, bytes };
  if (ref.digest !== null && ref.digest !== top.digest) {
    throw new RegistryError('TSB_REGISTRY_DIGEST_MISMATCH', `manifest hashes to ${top.digest}, reference says ${ref.digest}`, { repository: name, digest: ref.digest });
  }
  const parsed = parseManifest(bytes, top.mediaType, { repository: name, digest: top.digest });
  if (parsed.mediaType !== top.mediaType) {
    throw new RegistryError('TSB_REGISTRY_PROTOCOL', `manifest declares mediaType ${parsed.mediaType}, pushed as ${top.mediaType}`, { repository: name, digest: top.digest });
  }

  // Everything the tag will reference, gathered before anything is sent.
  const children: ManifestToPut[] = [];
  const blobs: Descriptor[] = [];
  if (parsed.kind === 'index') {
    for (const d of parsed.index.manifests) {
      const childBytes = await readChild(source, d, name);
      const child = parseManifest(childBytes, d.mediaType, { repository: name, digest: d.digest });
      if (child.kind !== 'manifest') throw new RegistryError('TSB_REGISTRY_UNSUPPORTED', `nested index ${d.digest} is not supported`, { repository: name, digest: d.digest });
      children.push({ digest: d.digest, mediaType: child.mediaType, bytes: childBytes });
      blobs.push(child.manifest.config, ...child.manifest.layers);
    }
  } else {
    blobs.push(parsed.manifest.config, ...parsed.manifest.layers);
  }
  const unique = blobs.filter((d, i) => blobs.findIndex((x) => x.digest === d.digest) === i);

  const endpoint = t.pushEndpoint(ref.registry);
  const target: BlobTarget = { endpoint, repository: ref.repository, name };
  const mountFrom = opts.mountFrom;
  await prepareAuth(
    t,
    endpoint,
    [`repository:${ref.repository}:pull,push`, ...(mountFrom === undefined ? [] : [`repository:${mountFrom}:pull`])],
    opts.signal,
  );
  const outcomes = await runBounded(unique, opts.concurrency ?? 4, opts.signal, (d, signal) =>
    pushBlob(t, target, d, source, {
      signal,
      ...(mountFrom === undefined ? {} : { mountFrom }),
      ...(opts.chunkSize === undefined ? {} : { chunkSize: opts.chunkSize }),
      ...(opts.onProgress === undefined ? {} : { onProgress: opts.onProgress }),
    }),
  );

  for (const child of children) await putManifest(t, endpoint, ref, child.digest, child, opts.signal);
  if (tags.length === 0) await putManifest(t, endpoint, ref, top.digest, top, opts.signal);
  for (const tag of tags) await putManifest(t, endpoint, ref, tag, top, opts.signal);

  return {
    reference: `${name}@${top.digest}`,
    digest: top.digest,
    mediaType: top.mediaType,
    size: bytes.length,
    tags,
    blobs: unique.map((d, i) => ({ digest: d.digest, size: d.size, outcome: outcomes[i] ?? 'uploaded' })),
  };
}
