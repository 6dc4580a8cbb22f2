// A container's config (plus its network) as a tsbuild-sandbox spec: the
// image's snapshots as overlay lowers under the container's own upper dir,
// the volumes as bind mounts, the process as resolved at creation.
import type { SandboxSpec } from '../../executor/sandbox/index.js';
import type { NetworkAttachment } from './bridge-network.js';
import type { ContainerConfig } from './container-config.js';
import { containerEtc } from './etc-files.js';
import type { ContainerPaths } from './layout.js';

export function containerSandboxSpec(
  config: ContainerConfig,
  paths: ContainerPaths,
  net: NetworkAttachment | null,
  tty: { rows: number; cols: number } | null,
): SandboxSpec {
  const spec: SandboxSpec = {
    rootfs: {
      lower: config.lowerDirs.length > 0 ? config.lowerDirs : [paths.empty],
      upper: paths.upper,
      work: paths.work,
      readonly: config.readonly,
    },
    mounts: config.mounts.map((m) => ({ type: 'bind' as const, source: m.source, target: m.target, readonly: m.readonly })),
    args: [...config.entrypoint, ...config.cmd],
    env: config.env,
    cwd: config.workdir,
    uid: config.uid,
    gid: config.gid,
    groups: config.groups,
    hostname: config.hostname,
    network:
      config.network === 'default' && net !== null
        ? { netns: net.netnsPath, interface: { name: 'eth0', address: `${net.ip}/${net.prefixLen}`, gateway: net.gateway } }
        : config.network === 'host'
          ? 'host'
          : 'none',
    limits: config.limits,
    cgroup_parent: config.cgroupParent,
    etc: containerEtc(config.hostname, config.network, net),
    capabilities: 'default',
    seccomp: true,
    stdin: config.openStdin ? 'inherit' : 'null',
  };
  if (config.tty) spec.tty = tty === null ? {} : { rows: tty.rows, cols: tty.cols };
  return spec;
}
