// Registry settings, resolved once at the edge (STYLE practice 21) from
// three places, into the RegistryOptions the client takes:
//
//   TSBUILD_REGISTRY_MIRRORS   comma-separated docker.io mirrors; when set
//                              (even empty) it replaces the file's list
//   config file                $TSBUILD_CONFIG, else $XDG_CONFIG_HOME/tsbuild/
//                              config.json, else ~/.config/tsbuild/config.json:
//                              {"registryMirrors": [...], "insecureRegistries": [...]}
//   --insecure-registry HOST   global flag, repeatable; added to the file's list
//
// A missing default config file is no configuration; a file named by
// $TSBUILD_CONFIG must exist. Keys we do not know are left alone (other
// parts of tsbuild may own them).
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { dockerConfigCredentials, type RegistryOptions } from '../../registry/index.js';
import { list, type FlagValues } from '../cli/command-line.js';
import { TsbuildError } from '../errors.js';

/** The config file could not be read or has the wrong shape (exit 2, like a bad flag). */
export class ConfigError extends TsbuildError {
  declare readonly code: 'TSB_CLI_CONFIG';
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super('TSB_CLI_CONFIG', `${path}: ${message}`, options);
    this.path = path;
  }
}

export interface RegistryFileConfig {
  registryMirrors: string[];
  insecureRegistries: string[];
}

/** The config file in effect and whether it must exist. */
export function configPath(env: NodeJS.ProcessEnv): { path: string; required: boolean } {
  const explicit = env.TSBUILD_CONFIG;
  if (explicit !== undefined && explicit !== '') return { path: explicit, required: true };
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg !== undefined && xdg !== '' ? xdg : join(env.HOME !== undefined && env.HOME !== '' ? env.HOME : homedir(), '.config');
  return { path: join(base, 'tsbuild', 'config.json'), required: false };
}

function stringList(doc: Record<string, unknown>, key: keyof RegistryFileConfig, path: string): string[] {
  const v = doc[key];
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string' && s.trim() !== '')) {
    throw new ConfigError(path, `"${key}" must be an array of non-empty strings`);
  }
  return v.map((s: string) => s.trim());
}

export function readRegistryConfig(env: NodeJS.ProcessEnv): RegistryFileConfig {
  const { path, required } = configPath(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!required && (code === 'ENOENT' || code === 'ENOTDIR')) return { registryMirrors: [], insecureRegistries: [] };
    throw new ConfigError(path, `cannot read the config file: ${code ?? (err as Error).message}`, { cause: err });
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(path, `not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(path, 'must be a JSON object');
  const obj = doc as Record<string, unknown>;
  return { registryMirrors: stringList(obj, 'registryMirrors', path), insecureRegistries: stringList(obj, 'insecureRegistries', path) };
}

function mirrorsFromEnv(env: NodeJS.ProcessEnv): string[] | undefined {
  const text = env.TSBUILD_REGISTRY_MIRRORS;
  if (text === undefined) return undefined;
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * RegistryOptions from the environment, the config file and the global
 * flags. Credentials come from docker's config.json as located by `env`.
 */
export function resolveRegistryOptions(values: FlagValues, env: NodeJS.ProcessEnv): RegistryOptions {
  const file = readRegistryConfig(env);
  const mirrors = mirrorsFromEnv(env) ?? file.registryMirrors;
  const insecure = [...new Set([...file.insecureRegistries, ...list(values, 'insecure-registry').map((h) => h.trim()).filter((h) => h !== '')])];
  return { mirrors, insecure, credentials: dockerConfigCredentials({ env }) };
}
