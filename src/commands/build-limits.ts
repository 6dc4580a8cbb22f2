// Build flags that shape RUN: --memory, --cpus, --pids-limit, --secret, --ssh.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { RunLimits, SecretSource } from '../../executor/index.js';
import { CliError } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** docker's RAMInBytes: 512m, 1g, 1048576, 1.5g */
export function parseBytes(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)b?$/i.exec(text.trim());
  if (!m) throw new CliError('TSB_CLI_USAGE', `invalid ${flag} "${text}": expected a size such as 512m or 2g`);
  const bytes = Math.floor(Number(m[1]) * (UNITS[(m[2] ?? '').toLowerCase()] as number));
  if (bytes < 6 * 1024 * 1024) throw new CliError('TSB_CLI_USAGE', `invalid ${flag} "${text}": the minimum is 6m`);
  return bytes;
}

export function parseLimits(values: { memory?: string | undefined; cpus?: string | undefined; pids?: string | undefined }): RunLimits {
  const limits: RunLimits = {};
  if (values.memory !== undefined) limits.memory = parseBytes(values.memory, '--memory');
  if (values.cpus !== undefined) {
    const n = Number(values.cpus);
    if (!Number.isFinite(n) || n <= 0) throw new CliError('TSB_CLI_USAGE', `invalid --cpus "${values.cpus}": expected a positive number such as 1.5`);
    limits.cpus = n;
  }
  if (values.pids !== undefined) {
    if (!/^\d+$/.test(values.pids) || Number(values.pids) < 1) {
      throw new CliError('TSB_CLI_USAGE', `invalid --pids-limit "${values.pids}": expected a positive integer`);
    }
    limits.pids = Number(values.pids);
  }
  return limits;
}

function csv(spec: string, flag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) throw new CliError('TSB_CLI_USAGE', `invalid ${flag} "${spec}": expected key=value pairs`);
    out.set(part.slice(0, eq).trim(), part.slice(eq + 1));
  }
  return out;
}

/** buildx --secret: id=x,src=path | id=x,env=VAR | id=x (the environment variable x). */
export function parseSecrets(specs: string[], env: NodeJS.ProcessEnv): Map<string, SecretSource> {
  const out = new Map<string, SecretSource>();
  for (const spec of specs) {
    const kv = csv(spec, '--secret');
    const id = kv.get('id');
    if (!id) throw new CliError('TSB_CLI_USAGE', `invalid --secret "${spec}": id= is required`);
    for (const k of kv.keys()) {
      if (!['id', 'src', 'source', 'env', 'type'].includes(k)) throw new CliError('TSB_CLI_USAGE', `invalid --secret "${spec}": unknown key ${k}`);
    }
    const src = kv.get('src') ?? kv.get('source');
    const envName = kv.get('env') ?? (src === undefined ? id : undefined);
    if (src !== undefined) {
      const file = resolve(src);
      if (!existsSync(file)) throw new CliError('TSB_CLI_FILE', `--secret ${id}: file ${src} does not exist`);
      out.set(id, { file });
    } else {
      const value = env[envName as string];
      if (value === undefined) throw new CliError('TSB_CLI_USAGE', `--secret ${id}: environment variable ${envName} is not set`);
      out.set(id, { value });
    }
  }
  return out;
}

/** buildx --ssh: default | id=socket */
export function parseSsh(specs: string[], env: NodeJS.ProcessEnv): Map<string, string> {
  const out = new Map<string, string>();
  for (const spec of specs) {
    const [id = '', path] = spec.split('=', 2) as [string, string | undefined];
    const sock = path ?? env.SSH_AUTH_SOCK;
    if (!sock) throw new CliError('TSB_CLI_USAGE', `--ssh ${spec}: no socket given and SSH_AUTH_SOCK is not set`);
    if (!existsSync(sock)) throw new CliError('TSB_CLI_FILE', `--ssh ${id}: ${sock} does not exist`);
    out.set(id, resolve(sock));
  }
  return out;
}
