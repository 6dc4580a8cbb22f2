// docker.io mirrors are tried in order, then the origin. A mirror that is
// down, lacks the content or refuses us is skipped; a mirror that serves
// bytes which do not match their digest is not (that is reported, never
// papered over).
import type { Endpoint } from './endpoint.js';
import { RegistryError } from './errors.js';

function mirrorMaySkip(err: unknown): boolean {
  return err instanceof RegistryError && err.code !== 'TSB_REGISTRY_DIGEST_MISMATCH' && err.code !== 'TSB_REGISTRY_MANIFEST_TOO_LARGE';
}

export async function tryEndpoints<T>(endpoints: readonly Endpoint[], attempt: (endpoint: Endpoint) => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    const endpoint = endpoints[i];
    if (endpoint === undefined) throw new Error('tryEndpoints: no endpoints');
    try {
      return await attempt(endpoint);
    } catch (err) {
      if (i === endpoints.length - 1 || !endpoint.mirror || !mirrorMaySkip(err)) throw err;
    }
  }
}
