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
  /** Make the root mount read-only once every mount point exists (`run --read-only`). */
  readonly?: boolean;
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

/** Join an existing network namespace (a file such as /run/netns/NAME), set
 * up by the caller: the helper enters it before it creates the sandbox. */
export interface SandboxNetns {
  netns: string;
  /** IPv4 settings the helper applies to an interface in the namespace
   * before the command starts: "A.B.C.D/N", and a default route via `gateway`. */
  interface?: { name: string; address: string; gateway?: string };
}

/** `none`: own netns with loopback only; `host`: the host's netns;
 * `default`: own netns with outbound access through slirp4netns
 * (10.0.2.100/24, gateway 10.0.2.2 = the host's loopback, DNS 10.0.2.3);
 * `{netns}`: the given namespace (its loopback is brought up). */
export type SandboxNetwork = 'none' | 'host' | 'default' | SandboxNetns;

/** A pty in the sandbox is the command's controlling terminal and stdio;
 * the helper relays it to its stdout (and its stdin to it). Rows and
 * columns of 0 leave the size unset. */
export interface SandboxTty {
  rows?: number;
  cols?: number;
}

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
  /** Allocate a pty for the command (stdout carries everything; stderr stays empty). */
  tty?: SandboxTty;
}

/** `tsbuild-sandbox exec`: one more process in a running sandbox, which
 * it joins (namespaces and cgroup) from its init's host pid. */
export type SandboxExecSpec = Pick<SandboxSpec, 'args' | 'env' | 'cwd' | 'uid' | 'gid' | 'groups' | 'capabilities' | 'seccomp' | 'stdin' | 'tty'>;
