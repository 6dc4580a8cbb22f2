// The default network: a host bridge (tsbuild0 unless configured) with the
// subnet's first address, outbound NAT for the subnet, and per container a
// network namespace (`ip netns add tsb-<12 hex of the ID>`) holding `eth0`,
// the inner end of a veth pair (`tsbv<10 hex>`) enslaved to the bridge,
// with a leased address and a default route via the bridge. The sandbox
// joins that namespace (spec network {"netns": path, "interface": …}); the
// helper gives eth0 its address and route there before the command starts
// (one `ip` process fewer on every run).
//
// The bridge records which root and subnet made it (its ifalias), so two
// roots never hand out addresses on one bridge. It is created once, with
// ip_forward=1 and three iptables rules (MASQUERADE for the subnet leaving
// through another interface; FORWARD accept in and out of the bridge), and
// kept when containers go, like docker0; removeBridgeNetwork() takes it
// all down (`ip link del tsbuild0` plus those rules).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { ContainerError } from './errors.js';
import { allocateAddress, releaseAddress, withNetworkLock } from './ipam.js';
import { intToIp, type BridgeSettings } from './network-settings.js';

export interface NetworkAttachment {
  bridge: string;
  /** `ip netns` name. */
  netns: string;
  /** The namespace file the sandbox joins. */
  netnsPath: string;
  hostVeth: string;
  ip: string;
  prefixLen: number;
  gateway: string;
  mac: string;
  subnet: string;
}

interface CommandResult {
  code: number | null;
  stderr: string;
}

function run(cmd: string, args: string[], input?: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', (err) => resolve({ code: null, stderr: `${cmd}: ${err.message}` }));
    child.on('close', (code) => resolve({ code, stderr: stderr.trim() }));
    if (input !== undefined) child.stdin?.end(input);
  });
}

async function must(what: string, cmd: string, args: string[], input?: string): Promise<void> {
  const r = await run(cmd, args, input);
  if (r.code !== 0) {
    throw new ContainerError('TSB_RUN_NETWORK', `${what}: ${cmd} ${args.join(' ')} failed: ${r.stderr.split('\n')[0] || `exit ${r.code}`}`);
  }
}

function aliasFor(root: string, settings: BridgeSettings): string {
  return `tsbuild subnet=${settings.subnet.cidr} root=${root}`;
}

function currentAlias(name: string): string | null {
  try {
    return readFileSync(`/sys/class/net/${name}/ifalias`, 'utf8').trim();
  } catch {
    return null;
  }
}

function natRules(settings: BridgeSettings): Array<[table: string, chain: string, rule: string[]]> {
  const b = settings.name;
  return [
    ['nat', 'POSTROUTING', ['-s', settings.subnet.cidr, '!', '-o', b, '-j', 'MASQUERADE']],
    ['filter', 'FORWARD', ['-i', b, '-j', 'ACCEPT']],
    ['filter', 'FORWARD', ['-o', b, '-j', 'ACCEPT']],
  ];
}

function checkAlias(root: string, settings: BridgeSettings, alias: string): void {
  if (alias === aliasFor(root, settings)) return;
  const owner = /root=(.*)$/.exec(alias)?.[1];
  const hint = 'give each root its own bridge with TSBUILD_BRIDGE and TSBUILD_BRIDGE_SUBNET';
  throw new ContainerError(
    'TSB_RUN_NETWORK',
    owner !== undefined
      ? `bridge ${settings.name} belongs to ${alias.includes(`subnet=${settings.subnet.cidr} `) ? '' : 'another subnet and '}root ${owner}: ${hint}`
      : `bridge ${settings.name} exists but was not made by tsbuild: remove it or ${hint}`,
  );
}

async function createBridge(root: string, settings: BridgeSettings): Promise<void> {
  const b = settings.name;
  const gw = `${intToIp(settings.subnet.gateway)}/${settings.subnet.prefixLen}`;
  try {
    await must(`create bridge ${b}`, 'ip', ['-batch', '-'], `link add ${b} type bridge\naddr add ${gw} dev ${b}\nlink set ${b} up\n`);
    await must(`label bridge ${b}`, 'ip', ['link', 'set', b, 'alias', aliasFor(root, settings)]);
    // Outbound access: forwarding plus NAT for the subnet.
    await writeFile('/proc/sys/net/ipv4/ip_forward', '1\n');
    for (const [table, chain, rule] of natRules(settings)) {
      const check = await run('iptables', ['-w', '-t', table, '-C', chain, ...rule]);
      if (check.code !== 0) await must('install the NAT rules', 'iptables', ['-w', '-t', table, '-I', chain, ...rule]);
    }
  } catch (err) {
    await removeBridgeNetwork(settings);
    if (err instanceof ContainerError) throw err;
    throw new ContainerError('TSB_RUN_NETWORK', `create bridge ${b}: ${(err as Error).message}`, { cause: err });
  }
}

/** The bridge, created on first use; fails when another root owns it. */
export async function ensureBridge(root: string, settings: BridgeSettings): Promise<void> {
  const alias = currentAlias(settings.name);
  if (alias !== null) return checkAlias(root, settings, alias);
  await withNetworkLock(root, settings.name, async () => {
    const again = currentAlias(settings.name);
    if (again !== null) return checkAlias(root, settings, again);
    await createBridge(root, settings);
  });
}

/** The bridge and its NAT rules, gone (tests; `ip link del` by hand is the same). */
export async function removeBridgeNetwork(settings: BridgeSettings): Promise<void> {
  for (const [table, chain, rule] of natRules(settings)) {
    while ((await run('iptables', ['-w', '-t', table, '-D', chain, ...rule])).code === 0) {
      // a rule installed twice goes twice
    }
  }
  if (existsSync(`/sys/class/net/${settings.name}`)) await run('ip', ['link', 'del', settings.name]);
}

export function namesFor(id: string): { netns: string; hostVeth: string } {
  return { netns: `tsb-${id.slice(0, 12)}`, hostVeth: `tsbv${id.slice(0, 10)}` };
}

/** A locally administered unicast MAC from the container ID (stable, and known before the address). */
function macFor(id: string): string {
  return ['02', ...(id.slice(0, 10).match(/../g) as string[])].join(':');
}

/** A namespace with eth0 on the bridge and a leased address, for container `id` (the helper configures eth0). */
export async function attachContainer(root: string, settings: BridgeSettings, id: string): Promise<NetworkAttachment> {
  await ensureBridge(root, settings);
  const { netns, hostVeth } = namesFor(id);
  const mac = macFor(id);
  // The lease and the interfaces do not depend on each other: made at once.
  const [lease, links] = await Promise.allSettled([
    allocateAddress(root, settings.name, settings.subnet, id),
    must(
      'create the container network',
      'ip',
      ['-batch', '-'],
      `netns add ${netns}\nlink add ${hostVeth} type veth peer name eth0 address ${mac} netns ${netns}\nlink set ${hostVeth} master ${settings.name} up\n`,
    ),
  ]);
  const att: NetworkAttachment = {
    bridge: settings.name,
    netns,
    netnsPath: `/run/netns/${netns}`,
    hostVeth,
    ip: lease.status === 'fulfilled' ? lease.value : '',
    prefixLen: settings.subnet.prefixLen,
    gateway: intToIp(settings.subnet.gateway),
    mac,
    subnet: settings.subnet.cidr,
  };
  if (lease.status === 'rejected' || links.status === 'rejected') {
    await detachContainer(root, att, id, { wait: true }).catch(() => undefined);
    throw lease.status === 'rejected' ? lease.reason : (links as PromiseRejectedResult).reason;
  }
  return att;
}

/**
 * Removes the namespace (which takes its veth pair along once the kernel
 * has torn it down, a few ms later) and releases the address; idempotent.
 * `wait` also waits for the veth to be gone, deleting it outright if that
 * takes long (the namespace is still held by a process).
 */
export async function detachContainer(root: string, att: NetworkAttachment, id: string, opts: { wait?: boolean } = {}): Promise<void> {
  const veth = `/sys/class/net/${att.hostVeth}`;
  if (existsSync(att.netnsPath)) {
    const r = await run('ip', ['netns', 'del', att.netns]);
    if (r.code !== 0 && existsSync(att.netnsPath)) {
      throw new ContainerError('TSB_RUN_NETWORK', `remove the network namespace of container ${id.slice(0, 12)}: ${r.stderr.split('\n')[0]}`);
    }
  }
  if (opts.wait === true) {
    const deadline = Date.now() + 1000;
    while (existsSync(veth) && Date.now() < deadline) await sleep(2);
    if (existsSync(veth)) {
      const r = await run('ip', ['link', 'del', att.hostVeth]);
      if (r.code !== 0 && existsSync(veth)) {
        throw new ContainerError('TSB_RUN_NETWORK', `remove ${att.hostVeth} of container ${id.slice(0, 12)}: ${r.stderr.split('\n')[0]}`);
      }
    }
  }
  if (att.ip !== '') await releaseAddress(root, att.bridge, att.ip, id);
}
