// Digest validation. A digest becomes a file name under blobs/sha256/, so it
// is checked strictly before any path is built from it: exactly `sha256:`
// followed by 64 lowercase hex characters, nothing else (no `/`, no `..`,
// no uppercase aliases that would name a second file for the same content).
import { createHash } from 'node:crypto';
import type { Digest } from './types.js';
import { StoreError } from './errors.js';

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

export function assertDigest(value: unknown): asserts value is Digest {
  if (!isDigest(value)) {
    const shown = typeof value === 'string' ? JSON.stringify(value.slice(0, 100)) : typeof value;
    throw new StoreError('TSB_STORE_INVALID_DIGEST', `invalid digest ${shown}: want sha256:<64 lowercase hex>`, {
      ...(typeof value === 'string' ? { digest: value } : {}),
    });
  }
}

/** The 64 hex characters of a validated digest. */
export function digestHex(digest: Digest): string {
  assertDigest(digest);
  return digest.slice('sha256:'.length);
}

export function sha256Digest(data: Buffer | string): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
