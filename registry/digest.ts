// Digests as the distribution spec uses them: `algorithm:hex`. sha256 is
// what every registry speaks; sha512 is accepted where a descriptor names it.
import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

const DIGEST_RE = /^(sha256|sha512):([a-f0-9]+)$/;
const HEX_LENGTH: Record<string, number> = { sha256: 64, sha512: 128 };

export type DigestAlgorithm = 'sha256' | 'sha512';

export function isDigest(text: string): boolean {
  const m = DIGEST_RE.exec(text);
  return m !== null && m[2]?.length === HEX_LENGTH[m[1] ?? ''];
}

/** The algorithm of a well-formed digest; a malformed one is a protocol error. */
export function digestAlgorithm(digest: string, context: { repository?: string } = {}): DigestAlgorithm {
  if (!isDigest(digest)) {
    throw new RegistryError('TSB_REGISTRY_PROTOCOL', `malformed digest ${JSON.stringify(digest)}`, {
      ...context,
      digest,
    });
  }
  return digest.startsWith('sha512:') ? 'sha512' : 'sha256';
}

export function createDigestHash(algorithm: DigestAlgorithm): Hash {
  return createHash(algorithm);
}

export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}
