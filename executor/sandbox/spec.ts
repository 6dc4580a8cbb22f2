// The JSON spec tsbuild-sandbox reads (native/README.md). Field names are
// the wire names, so a SandboxSpec is serialised as is.

/** overlayfs rootfs, mounted inside the sandbox's mount namespace. */
export interface OverlayRootfs {
  /** Lower directories, top (most recent layer) first; up to 500. */
  lower: string[];
  /** Receives every change: the new layer. */
  upper: string;
  /** overlayfs work directory, on the same filesystem as `upper`. */
  work: string;
}

/** A plain directory as the root (bind-mounted). */
export interface DirRootfs {
  dir: string;
  readonly?: boolean;
}

export interface BindMount {
  type: 'bind';
  /** Host path (file or directory; recursive bind). */
  source: string;
  /** Path inside the sandbox, created when missing. */
  target: string;
  readonly?: boolean;
}

export interface TmpfsMount {
  type: 'tmpfs';
  target: string;
  /** Bytes; absent: the kernel default (half of RAM). */
  size?: number;
  /** Permission bits of the root, e.g. 0o1777. */
  mode?: number;
}

export type SandboxMount = BindMount | TmpfsMount;

/** `none`: own netns with loopback only; `host`: the host's netns;
 * `default`: own netns with outbound access through slirp4netns
 * (10.0.2.100/24, gateway 10.0.2.2 = the host's loopback, DNS 10.0.2.3). */
export type SandboxNetwork = 'none' | 'host' | 'default';

export interface SandboxLimits {
  /** Bytes of memory (and memory+swap); absent: unlimited. */
  memory?: number;
  /** CPUs as a float (1.5 = 150 ms per 100 ms period). */
  cpus?: number;
  /** Maximum number of processes/threads. */
  pids?: number;
}

/** Contents of files bind-mounted read-only over /etc/… when they exist or can be created. */
export interface SandboxEtc {
  hosts?: string;
  hostname?: string;
  resolv_conf?: string;
}

export interface SandboxSpec {
  rootfs: OverlayRootfs | DirRootfs;
  /** Applied in order, after /proc, /sys and /dev. */
  mounts?: SandboxMount[];
  /** args[0] is looked up in the PATH of `env` (docker's default PATH without one). */
  args: string[];
  /** "KEY=value" strings; nothing is inherited. */
  env?: string[];
  /** Absolute; created (root-owned, 0755) when missing. Default "/". */
  cwd?: string;
  uid?: number;
  gid?: number;
  /** Supplementary groups, numeric (names are resolved by the caller). */
  groups?: number[];
  /** Absent: the host's name stays. */
  hostname?: string;
  /** Default 'none'. */
  network?: SandboxNetwork;
  limits?: SandboxLimits;
  /** cgroup under which each sandbox gets its leaf: relative to the helper's
   * own cgroup, or absolute from the hierarchy root. Default "tsbuild". */
  cgroup_parent?: string;
  etc?: SandboxEtc;
  /** 'default': docker's default set; 'all': every capability (--security=insecure). */
  capabilities?: 'default' | 'all';
  /** docker-like denylist filter; default true. */
  seccomp?: boolean;
  /** 'null' (default): /dev/null; 'inherit': the helper's stdin (a pipe from runSandbox). */
  stdin?: 'null' | 'inherit';
}
