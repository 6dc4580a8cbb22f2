// resolve: reference → the image manifest for one platform, with the exact
// bytes served and their verified digest. An index (or docker manifest
// list) is followed to the platform's manifest; both are kept.
import type { Endpoint } from './endpoint.js';
import { digestAlgorithm, digestOf, isDigest } from './digest.js';
import { RegistryError } from './errors.js';
import { MAX_MANIFEST_BYTES, parseManifest, type ImageIndex, type ImageManifest, type ParsedManifest } from './manifest.js';
import { bareMediaType, MANIFEST_ACCEPT } from './media-types.js';
import { tryEndpoints } from './mirror-fallback.js';
import { formatPlatform, hostPlatform, parsePlatform, selectPlatformManifest, type Platform } from './platform.js';
import type { ImageReference } from './reference.js';
import { headerValue, readBody, responseError } from './response.js';
import type { Transport } from './transport.js';

export interface ResolveOptions {
  /** Which manifest to take from an index. Default: this host's platform (linux/amd64 on x86-64). */
  platform?: Platform | string;
  signal?: AbortSignal;
}

export interface FetchedManifest {
  digest: string;
  mediaType: string;
  /** Exactly the bytes served; the digest is over these. */
  bytes: Buffer;
  parsed: ParsedManifest;
}

export interface ResolvedManifest {
  /** `registry/repository:tag@digest` as asked. */
  reference: string;
  /** The platform manifest. */
  digest: string;
  mediaType: string;
  bytes: Buffer;
  manifest: ImageManifest;
  /** Set when the reference named an index; `platform` is what was picked from it. */
  index?: { digest: string; mediaType: string; bytes: Buffer; index: ImageIndex };
  platform?: Platform;
  /** The origin that served it (a mirror or the registry). */
  endpoint: string;
}

/** GET one manifest by tag or digest; verifies the digest over the bytes. */
export async function fetchManifest(
  t: Transport,
  endpoint: Endpoint,
  repository: string,
  reference: string,
  opts: { expectedDigest?: string; name: string; signal?: AbortSignal },
): Promise<FetchedManifest> {
  const context = { repository: opts.name, ...(opts.expectedDigest === undefined ? {} : { digest: opts.expectedDigest }) };
  const res = await t.request({
    method: 'GET',
    url: `${endpoint.origin}/v2/${repository}/manifests/${reference}`,
    headers: { accept: MANIFEST_ACCEPT.join(', ') },
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  });
  if (res.statusCode !== 200) throw await responseError(res, `GET manifest ${opts.name}:${reference}`, context);
  const bytes = await readBody(
    res,
    MAX_MANIFEST_BYTES,
    () => new RegistryError('TSB_REGISTRY_MANIFEST_TOO_LARGE', `manifest ${opts.name}:${reference} is larger than ${MAX_MANIFEST_BYTES} bytes`, context),
  );
  const served = headerValue(res.headers, 'docker-content-digest');
  const expected = opts.expectedDigest ?? (served !== undefined && isDigest(served) ? served : undefined);
  const digest = digestOf(bytes, expected === undefined ? 'sha256' : digestAlgorithm(expected));
  if (expected !== undefined && digest !== expected) {
    throw new RegistryError(
      'TSB_REGISTRY_DIGEST_MISMATCH',
      `manifest ${opts.name}:${reference}: content hashes to ${digest}, expected ${expected}`,
      { repository: opts.name, digest: expected },
    );
  }
  const parsed = parseManifest(bytes, bareMediaType(headerValue(res.headers, 'content-type')), { repository: opts.name, digest });
  return { digest, mediaType: parsed.mediaType, bytes, parsed };
}

export async function resolveManifest(t: Transport, ref: ImageReference, opts: ResolveOptions = {}): Promise<ResolvedManifest> {
  const want = opts.platform === undefined ? hostPlatform() : typeof opts.platform === 'string' ? parsePlatform(opts.platform) : opts.platform;
  const name = ref.name();
  const signal = opts.signal === undefined ? {} : { signal: opts.signal };
  return tryEndpoints(t.pullEndpoints(ref.registry), async (endpoint) => {
    const top = await fetchManifest(t, endpoint, ref.repository, ref.digest ?? ref.tag ?? 'latest', {
      name,
      ...(ref.digest === null ? {} : { expectedDigest: ref.digest }),
      ...signal,
    });
    if (top.parsed.kind === 'manifest') {
      return { reference: ref.canonical(), digest: top.digest, mediaType: top.mediaType, bytes: top.bytes, manifest: top.parsed.manifest, endpoint: endpoint.origin };
    }
    const index = top.parsed.index;
    const chosen = selectPlatformManifest(index.manifests, want);
    if (chosen === undefined) {
      const available = index.manifests.flatMap((d) => (d.platform ? [formatPlatform(d.platform)] : [])).join(', ');
      throw new RegistryError('TSB_REGISTRY_NO_MATCHING_PLATFORM', `${ref.canonical()} has no manifest for ${formatPlatform(want)} (available: ${available || 'none'})`, {
        repository: name,
        digest: top.digest,
      });
    }
    const child = await fetchManifest(t, endpoint, ref.repository, chosen.digest, { name, expectedDigest: chosen.digest, ...signal });
    if (child.bytes.length !== chosen.size) {
      throw new RegistryError('TSB_REGISTRY_DIGEST_MISMATCH', `manifest ${chosen.digest}: ${child.bytes.length} bytes, index declares ${chosen.size}`, { repository: name, digest: chosen.digest });
    }
    if (child.parsed.kind !== 'manifest') {
      throw new RegistryError('TSB_REGISTRY_UNSUPPORTED', `${ref.canonical()}: nested index ${chosen.digest} is not supported`, { repository: name, digest: chosen.digest });
    }
    return {
      reference: ref.canonical(),
      digest: child.digest,
      mediaType: child.mediaType,
      bytes: child.bytes,
      manifest: child.parsed.manifest,
      index: { digest: top.digest, mediaType: top.mediaType, bytes: top.bytes, index },
      platform: chosen.platform ?? want,
      endpoint: endpoint.origin,
    };
  });
}
