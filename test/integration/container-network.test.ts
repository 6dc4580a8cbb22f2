// The default network's pieces against the real kernel: the bridge (made
// once, owned by one root, with its NAT rules), the file-based IPAM under
// concurrency and after a lost container, and attaching/detaching a
// container's namespace and veth pair.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { attachContainer, detachContainer, ensureBridge, removeBridgeNetwork } from '../../src/container/bridge-network.js';
import { allocateAddress, leaseOwner, releaseAddress } from '../../src/container/ipam.js';
import { bridgeSettings, parseSubnet, type BridgeSettings } from '../../src/container/network-settings.js';
import { newContainerId } from '../../src/container/container-id.js';

const canRun = process.getuid?.() === 0;

describe.skipIf(!canRun)(`bridge network${canRun ? '' : ' (skipped: needs root)'}`, () => {
  const tag = Math.random().toString(16).slice(2, 8);
  const octet = 10 + (process.pid % 80);
  const settings: BridgeSettings = { name: `tsbn${tag}`, subnet: parseSubnet(`10.88.${octet}.0/28`, 'test') };
  let root = '';
  let other = '';
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'tsb-net-'));
    other = mkdtempSync(path.join(os.tmpdir(), 'tsb-net-other-'));
  });
  afterAll(async () => {
    await removeBridgeNetwork(settings);
    rmSync(root, { recursive: true, force: true });
    rmSync(other, { recursive: true, force: true });
  });

  /** A container directory, so leases count as held. */
  const fakeContainer = (r: string): string => {
    const id = newContainerId();
    mkdirSync(path.join(r, 'containers', id), { recursive: true });
    return id;
  };

  test('the bridge is made once with the gateway address and NAT rules, and belongs to its root', async () => {
    await ensureBridge(root, settings);
    const addr = execFileSync('ip', ['-4', '-o', 'addr', 'show', 'dev', settings.name], { encoding: 'utf8' });
    expect(addr).toContain(`inet 10.88.${octet}.1/28`);
    expect(readFileSync(`/sys/class/net/${settings.name}/ifalias`, 'utf8')).toContain(`root=${root}`);
    expect(readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim()).toBe('1');
    expect(spawnSync('iptables', ['-w', '-t', 'nat', '-C', 'POSTROUTING', '-s', settings.subnet.cidr, '!', '-o', settings.name, '-j', 'MASQUERADE']).status).toBe(0);
    await ensureBridge(root, settings); // idempotent
    const err = await ensureBridge(other, settings).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TSB_RUN_NETWORK', message: expect.stringContaining(`belongs to root ${root}`) });
  });

  test('IPAM: concurrent allocations get distinct addresses; a full subnet is an error; release frees', async () => {
    await ensureBridge(root, settings);
    const ids = Array.from({ length: 13 }, () => fakeContainer(root));
    const ips = await Promise.all(ids.map((id) => allocateAddress(root, settings.name, settings.subnet, id)));
    expect(new Set(ips).size).toBe(13);
    expect(ips.every((ip) => ip.startsWith(`10.88.${octet}.`) && ip !== `10.88.${octet}.1`)).toBe(true);
    const extra = fakeContainer(root);
    await expect(allocateAddress(root, settings.name, settings.subnet, extra)).rejects.toMatchObject({ code: 'TSB_RUN_NETWORK' });
    await releaseAddress(root, settings.name, ips[3] as string, 'not-the-owner');
    expect(await leaseOwner(root, settings.name, ips[3] as string)).toBe(ids[3]);
    await releaseAddress(root, settings.name, ips[3] as string, ids[3] as string);
    expect(await allocateAddress(root, settings.name, settings.subnet, extra)).toBe(ips[3]);
    // A lease whose container directory is gone is taken back.
    rmSync(path.join(root, 'containers', ids[5] as string), { recursive: true });
    const again = fakeContainer(root);
    expect(await allocateAddress(root, settings.name, settings.subnet, again)).toBe(ips[5]);
    rmSync(path.join(root, 'network', settings.name, 'leases'), { recursive: true });
  });

  test('IPAM: a lock left by a killed process is broken', async () => {
    const lock = path.join(root, 'network', settings.name, 'lock');
    mkdirSync(path.join(root, 'network', settings.name, 'leases'), { recursive: true });
    mkdirSync(lock);
    writeFileSync(path.join(lock, 'owner'), '999999999 1\n');
    const id = fakeContainer(root);
    const ip = await allocateAddress(root, settings.name, settings.subnet, id);
    expect(ip).toBe(`10.88.${octet}.2`);
    expect(existsSync(lock)).toBe(false);
    await releaseAddress(root, settings.name, ip, id);
  });

  test('attach makes the namespace, the veth pair on the bridge and the lease; detach takes them all', async () => {
    const id = fakeContainer(root);
    const att = await attachContainer(root, settings, id);
    expect(att).toMatchObject({ bridge: settings.name, netns: `tsb-${id.slice(0, 12)}`, hostVeth: `tsbv${id.slice(0, 10)}`, prefixLen: 28, gateway: `10.88.${octet}.1` });
    expect(readdirSync('/run/netns')).toContain(att.netns);
    expect(readFileSync(`/sys/class/net/${att.hostVeth}/master/uevent`, 'utf8')).toContain(`INTERFACE=${settings.name}`);
    expect(execFileSync('ip', ['-n', att.netns, '-o', 'link', 'show', 'eth0'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })).toContain(att.mac);
    expect(await leaseOwner(root, settings.name, att.ip)).toBe(id);
    await detachContainer(root, att, id);
    expect(readdirSync('/run/netns')).not.toContain(att.netns);
    const end = Date.now() + 2000;
    while (existsSync(`/sys/class/net/${att.hostVeth}`) && Date.now() < end) await sleep(5);
    expect(existsSync(`/sys/class/net/${att.hostVeth}`)).toBe(false);
    expect(await leaseOwner(root, settings.name, att.ip)).toBe(null);
    await detachContainer(root, att, id); // idempotent
  });

  test('settings: TSBUILD_BRIDGE / TSBUILD_BRIDGE_SUBNET, else the config file, else tsbuild0 on 10.88.0.0/16', () => {
    const cfgDir = mkdtempSync(path.join(os.tmpdir(), 'tsb-cfg-'));
    try {
      expect(bridgeSettings({ HOME: cfgDir })).toMatchObject({ name: 'tsbuild0', subnet: { cidr: '10.88.0.0/16', prefixLen: 16 } });
      mkdirSync(path.join(cfgDir, 'tsbuild'));
      writeFileSync(path.join(cfgDir, 'tsbuild', 'config.json'), JSON.stringify({ bridgeSubnet: '172.30.5.9/24', registryMirrors: [] }));
      expect(bridgeSettings({ XDG_CONFIG_HOME: cfgDir })).toMatchObject({ name: 'tsbuild0', subnet: { cidr: '172.30.5.0/24' } });
      expect(bridgeSettings({ XDG_CONFIG_HOME: cfgDir, TSBUILD_BRIDGE: 'br9', TSBUILD_BRIDGE_SUBNET: '10.1.0.0/20' })).toMatchObject({ name: 'br9', subnet: { cidr: '10.1.0.0/20' } });
      expect(() => bridgeSettings({ XDG_CONFIG_HOME: cfgDir, TSBUILD_BRIDGE_SUBNET: '10.1.0.0/33' })).toThrow(expect.objectContaining({ code: 'TSB_RUN_NETWORK' }));
      expect(() => bridgeSettings({ XDG_CONFIG_HOME: cfgDir, TSBUILD_BRIDGE: 'way-too-long-bridge-name' })).toThrow(expect.objectContaining({ code: 'TSB_RUN_NETWORK' }));
    } finally {
      rmSync(cfgDir, { recursive: true, force: true });
    }
  });
});
