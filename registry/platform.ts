// Platforms (`linux/arm64/v8`) and choosing one manifest out of an index the
// way containerd's platform matcher does: os and architecture must match;
// a missing variant means the architecture's default (arm64 → v8, arm → v7).
import type { Descriptor } from './manifest.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  x86: '386',
  i386: '386',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
};
const DEFAULT_VARIANT: Record<string, string> = { arm64: 'v8', arm: 'v7' };

/** `linux`, `linux/amd64`, `linux/arm/v7` → Platform (os defaults to linux). */
export function parsePlatform(text: string): Platform {
  const parts = text.trim().toLowerCase().split('/');
  const [os, architecture, variant] = parts.length === 1 ? ['linux', parts[0], undefined] : parts;
  if (!os || !architecture || parts.length > 3) {
    throw new TypeError(`invalid platform ${JSON.stringify(text)}: expected os/arch[/variant]`);
  }
  return normalizePlatform(variant ? { os, architecture, variant } : { os, architecture });
}

export function normalizePlatform(p: Platform): Platform {
  const architecture = ARCH_ALIASES[p.architecture] ?? p.architecture;
  const variant = p.variant || DEFAULT_VARIANT[architecture];
  return variant ? { os: p.os, architecture, variant } : { os: p.os, architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter((x) => x).join('/');
}

/** The platform of this process, as an image index names it. */
export function hostPlatform(): Platform {
  const arch: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };
  return normalizePlatform({ os: process.platform === 'win32' ? 'windows' : process.platform, architecture: arch[process.arch] ?? process.arch });
}

/**
 * The best manifest for `want` in an index's `manifests`, or undefined.
 * Exact variant beats no variant; entries without a platform (attestations
 * and the like) never match.
 */
export function selectPlatformManifest(manifests: readonly Descriptor[], want: Platform): Descriptor | undefined {
  const w = normalizePlatform(want);
  let best: Descriptor | undefined;
  let bestScore = 0;
  for (const d of manifests) {
    if (d.platform === undefined) continue;
    const p = normalizePlatform(d.platform);
    if (p.os !== w.os || p.architecture !== w.architecture) continue;
    let score: number;
    if (p.variant === w.variant) score = 3;
    else if (p.variant === undefined) score = 2;
    else if (w.variant === undefined) score = 1;
    else continue;
    if (score > bestScore) {
      best = d;
      bestScore = score;
    }
  }
  return best;
}
