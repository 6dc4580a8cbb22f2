// Addresses for containers on a bridge: one lease file per address under
// <root>/network/<bridge>/leases/<ip> holding the owner's container ID,
// created with O_EXCL and changed only under the network lock, so two
// `tsbuild run` never get one address. A lease whose container directory
// is gone (removed by hand, or its rm died half-way) is taken back.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ContainerError } from './errors.js';
import { withLock } from './file-lock.js';
import { containerPaths, networkDir } from './layout.js';
import { intToIp, type Subnet } from './network-settings.js';

const leasesDir = (root: string, bridge: string): string => join(networkDir(root, bridge), 'leases');

/** The network lock of a bridge (also taken to set the bridge up). */
export async function withNetworkLock<T>(root: string, bridge: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(leasesDir(root, bridge), { recursive: true });
  return withLock(join(networkDir(root, bridge), 'lock'), fn);
}

async function tryCreate(file: string, id: string): Promise<boolean> {
  try {
    writeFileSync(file, `${id}\n`, { flag: 'wx', mode: 0o644 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/** The first free address after the gateway, leased to container `id`. */
export async function allocateAddress(root: string, bridge: string, subnet: Subnet, id: string): Promise<string> {
  return withNetworkLock(root, bridge, async () => {
    const dir = leasesDir(root, bridge);
    for (let n = subnet.gateway + 1; n <= subnet.last; n++) {
      const ip = intToIp(n);
      const file = join(dir, ip);
      if (await tryCreate(file, id)) return ip;
      const owner = (await readFile(file, 'utf8').catch(() => '')).trim();
      if (owner !== '' && !existsSync(containerPaths(root, owner).dir)) {
        await unlink(file).catch(() => undefined);
        if (await tryCreate(file, id)) return ip;
      }
    }
    throw new ContainerError('TSB_RUN_NETWORK', `no free address left in ${subnet.cidr} on bridge ${bridge}`);
  });
}

/** Gives the address back if `id` still holds it. */
export async function releaseAddress(root: string, bridge: string, ip: string, id: string): Promise<void> {
  await withNetworkLock(root, bridge, async () => {
    const file = join(leasesDir(root, bridge), ip);
    const owner = (await readFile(file, 'utf8').catch(() => '')).trim();
    if (owner === id) await unlink(file).catch(() => undefined);
  });
}

/** The container holding `ip`, or null. */
export async function leaseOwner(root: string, bridge: string, ip: string): Promise<string | null> {
  const owner = (await readFile(join(leasesDir(root, bridge), ip), 'utf8').catch(() => '')).trim();
  return owner === '' ? null : owner;
}
