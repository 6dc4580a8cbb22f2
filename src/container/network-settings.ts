// The bridge network's settings, resolved once: the bridge's name and
// subnet from TSBUILD_BRIDGE / TSBUILD_BRIDGE_SUBNET, else the config file
// ($TSBUILD_CONFIG, else $XDG_CONFIG_HOME/tsbuild/config.json, else
// ~/.config/tsbuild/config.json; keys "bridgeName", "bridgeSubnet"), else
// tsbuild0 on 10.88.0.0/16. The gateway (the bridge's own address) is the
// subnet's first address; containers get the following ones.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ContainerError } from './errors.js';

export const DEFAULT_BRIDGE = 'tsbuild0';
export const DEFAULT_SUBNET = '10.88.0.0/16';

export interface Subnet {
  /** "10.88.0.0/16" */
  cidr: string;
  network: number;
  prefixLen: number;
  /** The bridge's address. */
  gateway: number;
  /** Last usable host address. */
  last: number;
}

export interface BridgeSettings {
  name: string;
  subnet: Subnet;
}

export function ipToInt(ip: string): number | null {
  const parts = ip.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return null;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

export function intToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function parseSubnet(text: string, where: string): Subnet {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(text.trim());
  const base = m ? ipToInt(m[1] as string) : null;
  const prefixLen = m ? Number(m[2]) : NaN;
  if (base === null || !(prefixLen >= 8 && prefixLen <= 29)) {
    throw new ContainerError('TSB_RUN_NETWORK', `${where}: "${text}" is not an IPv4 subnet such as 10.88.0.0/16 (prefix 8 to 29)`);
  }
  const size = 2 ** (32 - prefixLen);
  const network = base - (base % size);
  return { cidr: `${intToIp(network)}/${prefixLen}`, network, prefixLen, gateway: network + 1, last: network + size - 2 };
}

function configFile(env: NodeJS.ProcessEnv): { path: string; required: boolean } {
  if (env.TSBUILD_CONFIG) return { path: env.TSBUILD_CONFIG, required: true };
  const base = env.XDG_CONFIG_HOME ? env.XDG_CONFIG_HOME : join(env.HOME ? env.HOME : homedir(), '.config');
  return { path: join(base, 'tsbuild', 'config.json'), required: false };
}

function readConfig(env: NodeJS.ProcessEnv): { bridgeName?: unknown; bridgeSubnet?: unknown; path: string } {
  const { path, required } = configFile(env);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (!required && ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR')) return { path };
    throw new ContainerError('TSB_RUN_NETWORK', `cannot read the config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  try {
    const doc = JSON.parse(text) as unknown;
    return typeof doc === 'object' && doc !== null ? { ...(doc as object), path } : { path };
  } catch (err) {
    throw new ContainerError('TSB_RUN_NETWORK', `the config file ${path} is not valid JSON`, { cause: err });
  }
}

export function bridgeSettings(env: NodeJS.ProcessEnv): BridgeSettings {
  let name = env.TSBUILD_BRIDGE;
  let subnet = env.TSBUILD_BRIDGE_SUBNET;
  if (!name || !subnet) {
    const file = readConfig(env);
    if (!name && typeof file.bridgeName === 'string') name = file.bridgeName;
    if (!subnet && typeof file.bridgeSubnet === 'string') subnet = file.bridgeSubnet;
  }
  name ||= DEFAULT_BRIDGE;
  if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(name)) {
    throw new ContainerError('TSB_RUN_NETWORK', `bridge name "${name}" is not a valid interface name (1-15 of [a-zA-Z0-9_.-])`);
  }
  return { name, subnet: parseSubnet(subnet || DEFAULT_SUBNET, env.TSBUILD_BRIDGE_SUBNET ? 'TSBUILD_BRIDGE_SUBNET' : 'bridgeSubnet') };
}
