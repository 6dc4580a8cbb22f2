// executor/sandbox: the TypeScript side of native/tsbuild-sandbox (see
// native/README.md for the spec, the status protocol and the invariants).
export type {
  SandboxSpec,
  SandboxExecSpec,
  SandboxMount,
  BindMount,
  TmpfsMount,
  OverlayRootfs,
  DirRootfs,
  SandboxLimits,
  SandboxEtc,
  SandboxNetwork,
  SandboxNetns,
  SandboxTty,
} from './spec.js';
export { SandboxError, isSandboxError, type SandboxErrorCode, type SandboxErrorFields } from './errors.js';
export { findSandboxBinary, findPackageRoot } from './find-binary.js';
export { runSandbox, execSandbox, type SandboxIo, type SandboxHandle, type SandboxResult, type SandboxStart, type OutputSink } from './run-sandbox.js';
export { createSandboxRunner, type NativeSandboxRunner, type SandboxRunIo } from './runner.js';
export { listOpaque, setOpaque } from './opaque.js';
export { removeCgroups } from './cgroup-cleanup.js';
export { etcFiles, SLIRP_DNS } from './etc-files.js';
export { parseStatusLine, StatusReader, type StatusMessage } from './status-channel.js';
