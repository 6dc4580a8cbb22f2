// registry/: the OCI distribution client. Public surface.
export {
  parseReference,
  tryParseReference,
  isInvalidReferenceError,
  InvalidReferenceError,
  DEFAULT_REGISTRY,
  DEFAULT_TAG,
  type ImageReference,
  type ReferenceErrorReason,
} from './reference.js';

export { RegistryClient, createRegistryClient, type RegistryOptions, type ReferenceInput } from './client.js';
export { RegistryError, isRegistryError, type RegistryErrorCode, type OciError } from './errors.js';
export type { BlobSink, BlobSinkWriter, BlobSource } from './blob-sink.js';
export type { Descriptor, ImageManifest, ImageIndex } from './manifest.js';
export { MAX_MANIFEST_BYTES } from './manifest.js';
export type { ResolvedManifest, ResolveOptions } from './resolve.js';
export type { FetchedBlob, FetchBlobOptions } from './fetch-blob.js';
export type { PulledImage, PullOptions } from './pull-image.js';
export type { PushSource, PushOptions, PushResult } from './push-image.js';
export type { PushBlobOutcome } from './push-blob.js';
export type { TransferProgress, ProgressListener } from './progress.js';
export { parsePlatform, formatPlatform, hostPlatform, type Platform } from './platform.js';
export {
  anonymousCredentials,
  staticCredentials,
  dockerConfigCredentials,
  type Credential,
  type CredentialStore,
  type DockerCredentialsOptions,
} from './credentials.js';
export { dockerConfigPath } from './docker-config.js';
export { login, logout, type LoginOptions, type LoginResult } from './login.js';
export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-interceptor.js';
export * as mediaTypes from './media-types.js';
