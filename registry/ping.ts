// GET /v2/: the version check. It also teaches the auth interceptor the
// registry's challenge, so later requests (including streaming uploads,
// which cannot be replayed after a 401) carry credentials from the start.
import type { Endpoint } from './endpoint.js';
import { RegistryError } from './errors.js';
import { discard, responseError } from './response.js';
import type { Transport } from './transport.js';

/** The status of GET /v2/ (200, or 401 with the challenge now recorded). */
export async function ping(t: Transport, endpoint: Endpoint, signal?: AbortSignal): Promise<number> {
  const res = await t.request({ method: 'GET', url: `${endpoint.origin}/v2/`, ...(signal === undefined ? {} : { signal }) });
  if (res.statusCode === 200 || res.statusCode === 401) {
    await discard(res);
    return res.statusCode;
  }
  throw await responseError(res, `GET ${endpoint.origin}/v2/`);
}

/** Fetch (and cache) a token for `scopes` ahead of the requests that need it. */
export async function prepareAuth(t: Transport, endpoint: Endpoint, scopes: readonly string[], signal?: AbortSignal): Promise<void> {
  const origin = new URL(endpoint.origin).origin;
  if (t.session.challenge(origin) === undefined) await ping(t, endpoint, signal);
  if (t.session.challenge(origin)?.scheme === 'bearer') await t.session.authorization(origin, scopes);
}

/**
 * Check that the client's credentials for the endpoint are accepted: GET
 * /v2/ must end in 200 with them (a token fetched with them, for Bearer).
 */
export async function verifyCredentials(t: Transport, endpoint: Endpoint): Promise<void> {
  const origin = new URL(endpoint.origin).origin;
  if ((await ping(t, endpoint)) === 200) return;
  const challenge = t.session.challenge(origin);
  if (challenge?.scheme === 'bearer') {
    if ((await t.session.credential(origin)) === null) {
      throw new RegistryError('TSB_REGISTRY_UNAUTHORIZED', `${endpoint.registry}: no credentials to verify`, { status: 401 });
    }
    // Fetching a token with the credentials is what checks them; then /v2/ must accept it.
    await t.session.authorization(origin, []);
    const res = await t.request({ method: 'GET', url: `${endpoint.origin}/v2/` });
    if (res.statusCode === 200) {
      await discard(res);
      return;
    }
    throw await responseError(res, `login to ${endpoint.registry}`, {}, 'TSB_REGISTRY_UNAUTHORIZED');
  }
  throw new RegistryError('TSB_REGISTRY_UNAUTHORIZED', `login to ${endpoint.registry}: credentials refused (HTTP 401)`, { status: 401 });
}
