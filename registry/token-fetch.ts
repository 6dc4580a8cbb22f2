// The token endpoint of the docker token-auth spec. GET realm with service
// and scope parameters (Basic credentials if we have them), or, for an
// identity token, the OAuth2 refresh-token POST. The answer carries `token`
// (or `access_token`) and `expires_in` (default 60 s).
import { request, type Dispatcher } from 'undici';
import type { Credential } from './credentials.js';
import { RegistryError } from './errors.js';
import { readBody, responseError } from './response.js';
import type { TokenGrant } from './token-cache.js';

export interface TokenRequest {
  realm: string;
  service: string | undefined;
  scopes: readonly string[];
  credential: Credential | null;
  userAgent: string;
  /** The registry host, for messages. */
  host: string;
}

const DEFAULT_EXPIRES_IN = 60;

function basic(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

export async function fetchToken(dispatcher: Dispatcher, req: TokenRequest): Promise<TokenGrant> {
  let url: URL;
  try {
    url = new URL(req.realm);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
  } catch (err) {
    throw new RegistryError('TSB_REGISTRY_PROTOCOL', `${req.host}: bearer realm ${JSON.stringify(req.realm)} is not an http(s) URL`, { cause: err });
  }
  const headers: Record<string, string> = { 'user-agent': req.userAgent, accept: 'application/json' };
  let method: 'GET' | 'POST' = 'GET';
  let body: string | undefined;
  const cred = req.credential;
  if (cred?.kind === 'identity-token') {
    method = 'POST';
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: cred.token, client_id: 'tsbuild' });
    if (req.service !== undefined) form.set('service', req.service);
    if (req.scopes.length > 0) form.set('scope', req.scopes.join(' '));
    body = form.toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  } else {
    if (req.service !== undefined) url.searchParams.set('service', req.service);
    for (const s of req.scopes) url.searchParams.append('scope', s);
    if (cred?.kind === 'basic') {
      url.searchParams.set('account', cred.username);
      headers.authorization = basic(cred.username, cred.password);
    }
  }
  let res: Dispatcher.ResponseData;
  try {
    res = await request(url, { dispatcher, method, headers, ...(body === undefined ? {} : { body }) });
  } catch (err) {
    if (err instanceof RegistryError) throw err;
    throw new RegistryError('TSB_REGISTRY_UNREACHABLE', `token server ${url.origin} for ${req.host}: ${(err as Error).message}`, { cause: err });
  }
  if (res.statusCode === 401 || res.statusCode === 403) {
    throw await responseError(res, `token server ${url.origin} refused the credentials for ${req.host}`, {}, 'TSB_REGISTRY_UNAUTHORIZED');
  }
  if (res.statusCode !== 200) throw await responseError(res, `token server ${url.origin} for ${req.host}`);
  const text = (await readBody(res, 1 << 20, () => new RegistryError('TSB_REGISTRY_PROTOCOL', `token server ${url.origin}: response over 1 MiB`))).toString('utf8');
  let doc: { token?: unknown; access_token?: unknown; expires_in?: unknown };
  try {
    doc = JSON.parse(text) as typeof doc;
  } catch (err) {
    throw new RegistryError('TSB_REGISTRY_PROTOCOL', `token server ${url.origin}: response is not JSON`, { cause: err });
  }
  const token = typeof doc.token === 'string' && doc.token !== '' ? doc.token : doc.access_token;
  if (typeof token !== 'string' || token === '') {
    throw new RegistryError('TSB_REGISTRY_PROTOCOL', `token server ${url.origin}: response has no token`);
  }
  const expiresIn = typeof doc.expires_in === 'number' && doc.expires_in > 0 ? doc.expires_in : DEFAULT_EXPIRES_IN;
  return { token, expiresIn };
}
