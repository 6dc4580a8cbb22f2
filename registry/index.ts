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
