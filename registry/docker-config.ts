// docker's client configuration file, `$DOCKER_CONFIG/config.json` or
// `~/.docker/config.json`: `auths` (base64 `user:password` per server),
// `credsStore` and `credHelpers`. Reading tolerates a missing file; writing
// is atomic (temp file, fsync, rename) and keeps every key we do not own.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { DOCKER_HUB } from './endpoint.js';
import { RegistryError } from './errors.js';

export interface DockerConfigAuth {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
  email?: string;
}

export interface DockerConfig {
  auths?: Record<string, DockerConfigAuth>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

/** The key docker uses for Docker Hub in `auths` and for credential helpers. */
export const DOCKER_HUB_CREDENTIAL_KEY = 'https://index.docker.io/v1/';

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.DOCKER_CONFIG;
  if (dir !== undefined && dir !== '') return join(dir, 'config.json');
  return join(env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir(), '.docker', 'config.json');
}

export async function readDockerConfig(path: string): Promise<DockerConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new RegistryError('TSB_REGISTRY_CREDENTIALS', `read ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (text.trim() === '') return {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not a JSON object');
    return parsed as DockerConfig;
  } catch (err) {
    throw new RegistryError('TSB_REGISTRY_CREDENTIALS', `parse ${path}: ${(err as Error).message}`, { cause: err });
  }
}

export async function writeDockerConfig(path: string, config: DockerConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
  const fh = await open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(JSON.stringify(config, null, '\t') + '\n');
    await fh.sync();
  } catch (err) {
    await fh.close();
    await unlink(tmp).catch(() => {});
    throw err;
  }
  await fh.close();
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}

/** `https://index.docker.io/v1/` for Docker Hub, the host (`registry:port`) otherwise. */
export function credentialKey(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_CREDENTIAL_KEY : registry;
}

/** A server as users type it (`docker.io`, `https://ghcr.io/`, `localhost:5000`) → the registry host. */
export function normalizeServer(server: string): string {
  const host = server.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '').toLowerCase();
  if (host === 'index.docker.io' || host === 'registry-1.docker.io' || host === DOCKER_HUB) return DOCKER_HUB;
  return host;
}

/** The `auths` entry for a registry, matching keys with or without scheme and path. */
export function findAuthEntry(config: DockerConfig, registry: string): { key: string; entry: DockerConfigAuth } | undefined {
  const auths = config.auths ?? {};
  const want = normalizeServer(registry);
  const exact = auths[credentialKey(want)];
  if (exact !== undefined) return { key: credentialKey(want), entry: exact };
  for (const [key, entry] of Object.entries(auths)) {
    if (normalizeServer(key) === want) return { key, entry };
  }
  return undefined;
}
