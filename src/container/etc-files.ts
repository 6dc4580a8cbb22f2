// /etc/hosts, /etc/hostname and /etc/resolv.conf of a container, as docker
// writes them: on the bridge, hosts maps the container's address to its
// hostname and resolv.conf is the host's without loopback nameservers
// (unreachable from the namespace), falling back to public resolvers; on
// the host network both are the host's; with none, no nameserver.
import { readFileSync } from 'node:fs';
import type { SandboxEtc } from '../../executor/sandbox/index.js';
import type { NetworkAttachment } from './bridge-network.js';
import type { NetworkMode } from './container-config.js';

const FALLBACK_NAMESERVERS = 'nameserver 8.8.8.8\nnameserver 8.8.4.4\n';

function readHost(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The host's resolv.conf minus nameservers on 127.0.0.0/8 and ::1. */
export function bridgeResolvConf(host: string): string {
  const lines = host.split('\n').filter((l) => !/^\s*nameserver\s+(127\.\S*|::1)\s*$/.test(l));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const text = lines.length > 0 ? lines.join('\n') + '\n' : '';
  return /^\s*nameserver\s/m.test(text) ? text : text + FALLBACK_NAMESERVERS;
}

export function containerEtc(hostname: string, mode: NetworkMode, net: NetworkAttachment | null): SandboxEtc {
  if (mode === 'host') {
    return { hosts: readHost('/etc/hosts'), hostname: `${hostname}\n`, resolv_conf: readHost('/etc/resolv.conf') };
  }
  const hosts = [
    '127.0.0.1\tlocalhost',
    '::1\tlocalhost ip6-localhost ip6-loopback',
    'fe00::0\tip6-localnet',
    'ff00::0\tip6-mcastprefix',
    'ff02::1\tip6-allnodes',
    'ff02::2\tip6-allrouters',
    net !== null ? `${net.ip}\t${hostname}` : `127.0.1.1\t${hostname}`,
    '',
  ].join('\n');
  const resolv = mode === 'default' ? bridgeResolvConf(readHost('/etc/resolv.conf')) : '';
  return { hosts, hostname: `${hostname}\n`, resolv_conf: resolv };
}
