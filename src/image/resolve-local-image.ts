// A base image named in a Dockerfile (FROM app:1, FROM 3f5e…) resolved
// against the local store only; remote pulls are the registry's business.
import { tryParseReference } from '../../registry/index.js';
import type { ResolvedImage } from '../../executor/types.js';
import type { ContentStore } from '../store/index.js';
import { findLocalImage } from './local-images.js';
import { readImage, toResolvedImage, type ReadImageOptions } from './read-image.js';

/**
 * The local image `refText` names (see findLocalImage for what it may be),
 * or null. `ref` in the result is the canonical tag that matched, or the
 * canonical digest reference the text was, else a tag of the image, else
 * its ID.
 */
export async function resolveLocalImage(store: ContentStore, refText: string, opts: ReadImageOptions = {}): Promise<ResolvedImage | null> {
  const hit = await findLocalImage(store, refText, opts);
  if (hit === null) return null;
  const details = await readImage(store, hit.target, opts);
  const digestRef = refText.startsWith('sha256:') ? null : tryParseReference(refText);
  const ref =
    hit.matchedName ?? (digestRef?.digest != null ? digestRef.canonical() : undefined) ?? hit.names[0] ?? details.configDescriptor.digest;
  return toResolvedImage(ref, details);
}
