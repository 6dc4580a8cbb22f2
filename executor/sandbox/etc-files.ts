// The /etc files a sandbox gets, as docker writes them for a build step.
import type { SandboxEtc, SandboxNetwork } from './spec.js';

/** slirp4netns's built-in DNS forwarder (network "default"). */
export const SLIRP_DNS = '10.0.2.3';

/**
 * hosts, hostname and resolv.conf for `hostname` on `network`. `hostResolvConf`
 * (the host's /etc/resolv.conf text) is used as is for network "host"; the
 * sandbox's own netns cannot reach a loopback resolver, so "default" points
 * at slirp4netns's forwarder and "none" gets no nameserver; a joined
 * namespace (`{netns}`) gets `hostResolvConf` as given.
 */
export function etcFiles(hostname: string, network: SandboxNetwork, hostResolvConf = ''): SandboxEtc {
  const hosts = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `127.0.1.1\t${hostname}`, ''].join('\n');
  let resolv: string;
  if (typeof network === 'object') {
    // A namespace the caller set up: it knows what is reachable from it.
    return { hosts, hostname: `${hostname}\n`, resolv_conf: hostResolvConf };
  }
  switch (network) {
    case 'host':
      resolv = hostResolvConf;
      break;
    case 'default':
      resolv = `nameserver ${SLIRP_DNS}\n`;
      break;
    case 'none':
      resolv = '';
      break;
  }
  return { hosts, hostname: `${hostname}\n`, resolv_conf: resolv };
}
