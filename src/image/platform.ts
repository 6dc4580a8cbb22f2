// Choosing one manifest out of an image index by platform, with
// containerd's matching rules reduced to what we need: os and architecture
// must be equal; a wanted variant must be equal, where arm64's implicit
// variant is v8; without a wanted variant any variant matches, and an
// entry without one is preferred.
import type { ImagePlatform } from '../../executor/types.js';
import type { Descriptor } from '../store/index.js';

/** The platform the planner builds for when none is given (parser/plan). */
export const DEFAULT_PLATFORM: ImagePlatform = { os: 'linux', architecture: 'amd64' };

export function formatImagePlatform(p: ImagePlatform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

function normalVariant(p: ImagePlatform): string {
  const v = p.variant ?? '';
  if (p.architecture === 'arm64' && v === 'v8') return '';
  return v;
}

/** 0 = no match, 2 = exact, 1 = matches with a variant the caller did not ask for. */
function score(candidate: ImagePlatform, want: ImagePlatform): number {
  if (candidate.os !== want.os || candidate.architecture !== want.architecture) return 0;
  const have = normalVariant(candidate);
  const wanted = normalVariant(want);
  if (wanted !== '') return have === wanted ? 2 : 0;
  return have === '' ? 2 : 1;
}

/** The best entry of `manifests` for `want`, or null. */
export function selectManifest(manifests: readonly Descriptor[], want: ImagePlatform): Descriptor | null {
  let best: Descriptor | null = null;
  let bestScore = 0;
  for (const m of manifests) {
    if (m.platform === undefined) continue;
    const s = score(m.platform, want);
    if (s > bestScore) {
      best = m;
      bestScore = s;
    }
  }
  if (best !== null) return best;
  // An index of exactly one manifest that states no platform (common in
  // OCI layouts) is taken as it is; its config says what it is.
  const [only, ...rest] = manifests;
  if (only !== undefined && rest.length === 0 && only.platform === undefined) return only;
  return null;
}
