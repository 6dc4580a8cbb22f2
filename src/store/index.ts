// Public surface of the content store. Other folders import from here only.
export type { BlobWriter, ContentStore, Descriptor, Digest, Platform, TagRecord } from './types.js';
export { openStore, storeLayout, isDescriptor, type StoreLayout } from './content-store.js';
export { StoreError, type StoreErrorCode, type StoreErrorOptions } from './errors.js';
export { isDigest, assertDigest, sha256Digest } from './digest.js';
export {
  collectGarbage,
  DEFAULT_GC_GRACE_MS,
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
  type GcOptions,
  type GcResult,
} from './gc.js';
export { defaultRoot } from './default-root.js';
