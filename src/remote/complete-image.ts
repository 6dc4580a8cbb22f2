// A local image a build left incomplete on purpose (a base pulled for FROM
// whose layers no step needed, a pushed result whose base layers the
// registry mounted) names where its missing layers are: the repositories of
// its own names. Commands that need every byte of an image (`run`, an
// export) call this first.
import type { ImagePlatform } from '../../executor/types.js';
import { readImage } from '../image/read-image.js';
import type { ContentStore, Descriptor } from '../store/index.js';
import { LazyBlobs } from './lazy-blobs.js';
import type { RegistrySession } from './registry-session.js';

/** Fetch the layers of `image` the store lacks; returns how many were fetched. */
export async function completeLocalImage(
  store: ContentStore,
  session: RegistrySession,
  image: { target: Descriptor; names: readonly string[] },
  opts: { platform?: ImagePlatform } = {},
): Promise<number> {
  const details = await readImage(store, image.target, opts.platform === undefined ? {} : { platform: opts.platform });
  const lazy = new LazyBlobs(store);
  const missing = await lazy.missing(details.layers.map((l) => l.digest));
  if (missing.length === 0) return 0;
  for (const name of image.names) lazy.add(session.origin(name), details.manifest.layers);
  await lazy.ensureAll(missing);
  return missing.length;
}
