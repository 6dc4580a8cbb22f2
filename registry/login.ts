// login / logout: docker-compatible entries in config.json. login checks the
// credentials against the registry's /v2/ first and stores nothing unless
// they are accepted; the file is rewritten atomically, other keys kept.
import { RegistryClient, type RegistryOptions } from './client.js';
import { staticCredentials } from './credentials.js';
import { credentialKey, dockerConfigPath, findAuthEntry, normalizeServer, readDockerConfig, writeDockerConfig } from './docker-config.js';

export interface LoginOptions {
  /** Default: `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  /** How to reach the registry for the check (insecure hosts, retries …). */
  registry?: Omit<RegistryOptions, 'credentials' | 'mirrors'>;
}

export interface LoginResult {
  /** The registry host (`docker.io`, `127.0.0.1:5000`). */
  registry: string;
  /** The `auths` key written (`https://index.docker.io/v1/` for Docker Hub). */
  key: string;
  configPath: string;
}

export async function login(server: string, username: string, password: string, opts: LoginOptions = {}): Promise<LoginResult> {
  const registry = normalizeServer(server);
  const client = new RegistryClient({ ...opts.registry, credentials: staticCredentials({ [registry]: { username, password } }) });
  try {
    await client.verifyCredentials(registry);
  } finally {
    await client.close();
  }
  const configPath = opts.configPath ?? dockerConfigPath(opts.env);
  const config = await readDockerConfig(configPath);
  const key = credentialKey(registry);
  const auths = { ...config.auths };
  // Drop an equivalent entry under another spelling (with scheme, trailing slash).
  const previous = findAuthEntry(config, registry);
  if (previous !== undefined) delete auths[previous.key];
  auths[key] = { auth: Buffer.from(`${username}:${password}`).toString('base64') };
  await writeDockerConfig(configPath, { ...config, auths });
  return { registry, key, configPath };
}

/** Remove the stored credentials for `server`; false when there were none. */
export async function logout(server: string, opts: Omit<LoginOptions, 'registry'> = {}): Promise<boolean> {
  const registry = normalizeServer(server);
  const configPath = opts.configPath ?? dockerConfigPath(opts.env);
  const config = await readDockerConfig(configPath);
  const auths = { ...config.auths };
  let removed = false;
  for (let found = findAuthEntry({ auths }, registry); found !== undefined; found = findAuthEntry({ auths }, registry)) {
    delete auths[found.key];
    removed = true;
  }
  if (removed) await writeDockerConfig(configPath, { ...config, auths });
  return removed;
}
