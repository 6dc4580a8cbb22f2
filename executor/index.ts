// executor/: BuildGraph → layers + config. Public surface.
export { executeGraph, dependencies, type ExecutorDeps, type ExecuteOptions, type StepResult, type BuildOutcome, type CacheRecordSource } from './execute.js';
export { cacheKey, CACHE_KEY_VERSION, type CacheKey } from './cache-key.js';
export { StepFailedError, CacheError, InternalError } from './errors.js';
export { Snapshots } from './snapshots.js';
export { LayeredFs } from './layered-fs.js';
export { resolveRunUser, type RunUser } from './run-user.js';
export { resolveInRoot, toInfo, type SourceFs, type FileInfo } from './source-fs.js';
export type { SandboxRunner, RunLimits } from './run-step.js';
export type { SecretSource } from './run-mounts.js';
export type * from './types.js';
