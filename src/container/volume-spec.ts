// -v SRC:DST[:MODE] and -v DST: an absolute SRC is a bind mount of a host
// path, any other SRC names a volume, a lone DST is an anonymous volume.
// MODE is a comma list of ro, rw, nocopy (z and Z are accepted and ignored:
// no SELinux here).
import { posix } from 'node:path';
import { ContainerError } from './errors.js';

export type VolumeSpec =
  | { kind: 'bind'; source: string; target: string; readonly: boolean }
  | { kind: 'named'; name: string; target: string; readonly: boolean; nocopy: boolean }
  | { kind: 'anonymous'; target: string; readonly: boolean; nocopy: boolean };

/** A mount as the container records it. */
export interface MountConfig {
  type: 'bind' | 'volume';
  /** Host path: the bind source, or the volume's _data directory. */
  source: string;
  /** Volume name (type volume). */
  name?: string;
  target: string;
  readonly: boolean;
  /** An anonymous volume (removed with the container by rm -v or --rm). */
  anonymous: boolean;
}

export const VOLUME_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

function bad(text: string, why: string): ContainerError {
  return new ContainerError('TSB_RUN_INVALID_VOLUME', `invalid volume specification "${text}": ${why}`);
}

function target(text: string, dst: string): string {
  if (!dst.startsWith('/')) throw bad(text, `the destination "${dst}" is not an absolute path`);
  const norm = posix.normalize(dst).replace(/\/+$/, '');
  if (norm === '') throw bad(text, 'the destination cannot be /');
  return norm;
}

export function parseVolumeSpec(text: string): VolumeSpec {
  const parts = text.split(':');
  if (parts.some((p) => p === '')) throw bad(text, 'empty field');
  if (parts.length > 3) throw bad(text, 'too many colons');
  let readonly = false;
  let nocopy = false;
  if (parts.length === 3) {
    for (const m of (parts[2] as string).split(',')) {
      if (m === 'ro') readonly = true;
      else if (m === 'rw') readonly = false;
      else if (m === 'nocopy') nocopy = true;
      else if (m !== 'z' && m !== 'Z') throw bad(text, `invalid mode "${m}"`);
    }
  }
  if (parts.length === 1) return { kind: 'anonymous', target: target(text, parts[0] as string), readonly, nocopy };
  const src = parts[0] as string;
  const dst = target(text, parts[1] as string);
  if (src.startsWith('/')) {
    if (nocopy) throw bad(text, 'nocopy applies to volumes, not bind mounts');
    return { kind: 'bind', source: posix.normalize(src), target: dst, readonly };
  }
  if (!VOLUME_NAME_RE.test(src)) {
    throw bad(text, `"${src}" includes invalid characters for a local volume name, only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed; a host path must be absolute`);
  }
  return { kind: 'named', name: src, target: dst, readonly, nocopy };
}
