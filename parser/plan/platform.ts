// Platforms: the os/arch[/variant] strings of FROM --platform, and the
// automatic platform ARGs BuildKit defines in the global scope.
import type { Platform } from '../graph.js';

export const DEFAULT_PLATFORM: Platform = { os: 'linux', architecture: 'amd64' };

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? '/' + p.variant : ''}`;
}

/** BuildKit defaultArgs: the automatic platform ARGs, overridable by --build-arg. */
export function platformArgs(target: Platform, build: Platform, targetStage = '', overrides: ReadonlyMap<string, string> = new Map()): Map<string, string> {
  const args = new Map([
    ['BUILDPLATFORM', formatPlatform(build)],
    ['BUILDOS', build.os],
    ['BUILDOSVERSION', ''],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
    ['TARGETPLATFORM', formatPlatform(target)],
    ['TARGETOS', target.os],
    ['TARGETOSVERSION', ''],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
    ['TARGETSTAGE', targetStage],
  ]);
  for (const key of args.keys()) {
    const v = overrides.get(key);
    if (v !== undefined) args.set(key, v);
  }
  return args;
}

/** containerd platforms.Parse, reduced to os/arch[/variant] with the usual normalisation. */
export function parsePlatform(text: string): Platform | null {
  const parts = text.toLowerCase().split('/');
  if (parts.length < 1 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) return null;
  if (parts.length === 1) {
    // A lone OS ("linux") or architecture ("arm64") is filled in from the defaults.
    const one = parts[0] as string;
    return ['linux', 'windows', 'darwin', 'freebsd'].includes(one) ? { os: one, architecture: DEFAULT_PLATFORM.architecture } : null;
  }
  const [os, arch, variant] = parts as [string, string, string | undefined];
  const normalised = normaliseArch(arch, variant);
  if (normalised === null) return null;
  return { os, ...normalised };
}

function normaliseArch(arch: string, variant: string | undefined): Omit<Platform, 'os'> | null {
  switch (arch) {
    case 'i386':
      return { architecture: '386' };
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return variant === undefined || variant === 'v1' ? { architecture: 'amd64' } : { architecture: 'amd64', variant };
    case 'aarch64':
    case 'arm64':
      return variant === undefined || variant === 'v8' || variant === '8' ? { architecture: 'arm64' } : { architecture: 'arm64', variant };
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    case 'arm': {
      const v = variant === undefined ? 'v7' : /^\d$/.test(variant) ? `v${variant}` : variant;
      return { architecture: 'arm', variant: v };
    }
    default:
      return variant === undefined ? { architecture: arch } : { architecture: arch, variant };
  }
}
