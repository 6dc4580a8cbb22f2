// Where credentials come from. A CredentialStore answers "what do I present
// to this registry host?"; the default reads docker's config.json the way
// the docker CLI does: credHelpers[host], else credsStore, else auths.
import { runCredentialHelper } from './credential-helper.js';
import { credentialKey, dockerConfigPath, findAuthEntry, normalizeServer, readDockerConfig } from './docker-config.js';
import { RegistryError } from './errors.js';

export type Credential =
  | { kind: 'basic'; username: string; password: string }
  /** An OAuth2 refresh token (docker's `identitytoken`, a helper's `<token>` user). */
  | { kind: 'identity-token'; username: string; token: string }
  /** A bearer token presented as is (docker's `registrytoken`). */
  | { kind: 'registry-token'; token: string };

/** `host` is a registry host (`docker.io`, `127.0.0.1:5000`); null = anonymous. */
export type CredentialStore = (host: string) => Promise<Credential | null>;

export const anonymousCredentials: CredentialStore = () => Promise.resolve(null);

/** Fixed credentials per host (`docker.io`, `127.0.0.1:5000`, or a full server URL). */
export function staticCredentials(
  entries: Record<string, Credential | { username: string; password: string }>,
): CredentialStore {
  const map = new Map<string, Credential>();
  for (const [server, c] of Object.entries(entries)) {
    map.set(normalizeServer(server), 'kind' in c ? c : { kind: 'basic', username: c.username, password: c.password });
  }
  return (host) => Promise.resolve(map.get(normalizeServer(host)) ?? null);
}

export interface DockerCredentialsOptions {
  /** Defaults to `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
  configPath?: string;
  /** Environment for locating the file and for helper programs (PATH). */
  env?: NodeJS.ProcessEnv;
}

function decodeAuth(auth: string, key: string): { username: string; password: string } {
  const decoded = Buffer.from(auth, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw new RegistryError('TSB_REGISTRY_CREDENTIALS', `config.json: auths[${JSON.stringify(key)}].auth is not base64 "user:password"`);
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Credentials from docker's config.json. Results are remembered per host for
 * the life of the store, so a helper program runs once per registry.
 */
export function dockerConfigCredentials(opts: DockerCredentialsOptions = {}): CredentialStore {
  const env = opts.env ?? process.env;
  const path = opts.configPath ?? dockerConfigPath(env);
  const memo = new Map<string, Promise<Credential | null>>();
  const lookup = async (host: string): Promise<Credential | null> => {
    const registry = normalizeServer(host);
    const config = await readDockerConfig(path);
    const helper = config.credHelpers?.[registry] ?? config.credHelpers?.[credentialKey(registry)] ?? config.credsStore;
    if (helper !== undefined && helper !== '') {
      const got = await runCredentialHelper(helper, credentialKey(registry), { env });
      if (got !== null) {
        return got.username === '<token>'
          ? { kind: 'identity-token', username: '', token: got.secret }
          : { kind: 'basic', username: got.username, password: got.secret };
      }
    }
    const found = findAuthEntry(config, registry);
    if (found === undefined) return null;
    const { key, entry } = found;
    if (entry.registrytoken) return { kind: 'registry-token', token: entry.registrytoken };
    let user: { username: string; password: string } | undefined;
    if (entry.auth) user = decodeAuth(entry.auth, key);
    else if (entry.username !== undefined && entry.password !== undefined) user = { username: entry.username, password: entry.password };
    if (entry.identitytoken) return { kind: 'identity-token', username: user?.username ?? '', token: entry.identitytoken };
    return user === undefined ? null : { kind: 'basic', ...user };
  };
  return (host) => {
    const key = normalizeServer(host);
    let p = memo.get(key);
    if (p === undefined) {
      p = lookup(host);
      memo.set(key, p);
      // A failure (helper missing, bad file) is not remembered: the next call tries again.
      p.catch(() => memo.delete(key));
    }
    return p;
  };
}
