// Image references, normalised the way docker does it (docker/distribution's
// reference package, `ParseNormalizedNamed` + `TagNameOnly`):
//
//   busybox                 → docker.io/library/busybox:latest
//   user/app:1              → docker.io/user/app:1
//   localhost:5000/app      → localhost:5000/app:latest
//   [::1]:5000/app@sha256:… → [::1]:5000/app@sha256:…   (no default tag with a digest)
//
// The first path component is a registry only when it contains "." or ":",
// is "localhost", or has an uppercase letter (exactly docker's rule), so
// `user/app` stays on docker.io. Pure: no I/O, no network.

export type ReferenceErrorReason =
  | 'empty'
  | 'format'
  | 'uppercase'
  | 'name-too-long'
  | 'hex-name'
  | 'tag'
  | 'digest';

/** An image reference that cannot be parsed. `input` is the text as given. */
export class InvalidReferenceError extends Error {
  readonly code = 'TSB_REF_INVALID' as const;
  readonly input: string;
  readonly reason: ReferenceErrorReason;
  constructor(input: string, reason: ReferenceErrorReason, detail: string) {
    super(`invalid reference format ${JSON.stringify(input)}: ${detail}`);
    this.name = 'InvalidReferenceError';
    this.input = input;
    this.reason = reason;
  }
}

export interface ImageReference {
  /** `docker.io`, `localhost:5000`, `[::1]:5000`, `ghcr.io`, … */
  registry: string;
  /** `library/busybox`, `user/app`, `app` */
  repository: string;
  /** `latest` when the text had neither a tag nor a digest. */
  tag: string | null;
  /** `sha256:<hex>` (or sha384/sha512) when the text had `@digest`. */
  digest: string | null;
  /** `registry/repository` */
  name(): string;
  /** `docker.io/library/busybox:latest`, `registry/repo:tag@digest` */
  canonical(): string;
  /** The repository as docker prints it: `busybox`, `user/app`, `localhost:5000/app`. */
  familiarName(): string;
  /** How docker prints the whole reference: `busybox:latest`, `localhost:5000/app:1`. */
  familiar(): string;
}

export const DEFAULT_REGISTRY = 'docker.io';
export const DEFAULT_TAG = 'latest';
const LEGACY_DEFAULT_REGISTRY = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

// The grammar of distribution/reference/regexp.go.
const ALPHANUMERIC = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const REFERENCE_RE = new RegExp(`^(${NAME})(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const DOMAIN_RE = new RegExp(`^${DOMAIN}$`);
const TAG_RE = new RegExp(`^${TAG}$`);
const HEX_ID_RE = /^[a-f0-9]{64}$/;

/** The digest algorithms docker accepts, with their hex lengths. */
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

function validateDigest(input: string, digest: string): void {
  const colon = digest.indexOf(':');
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  const want = DIGEST_HEX_LENGTH[algorithm];
  if (want === undefined) {
    throw new InvalidReferenceError(input, 'digest', `unsupported digest algorithm "${algorithm}"`);
  }
  if (hex.length !== want || !/^[a-f0-9]+$/.test(hex)) {
    throw new InvalidReferenceError(input, 'digest', `a ${algorithm} digest is ${want} lowercase hex characters`);
  }
}

/** docker's splitDockerDomain. */
function splitDomain(name: string): [string, string] {
  const i = name.indexOf('/');
  let registry: string;
  let rest: string;
  const first = name.slice(0, i);
  if (i === -1 || (!/[.:]/.test(first) && first !== 'localhost' && first.toLowerCase() === first)) {
    registry = DEFAULT_REGISTRY;
    rest = name;
  } else {
    registry = first;
    rest = name.slice(i + 1);
  }
  if (registry === LEGACY_DEFAULT_REGISTRY) registry = DEFAULT_REGISTRY;
  if (registry === DEFAULT_REGISTRY && !rest.includes('/')) rest = OFFICIAL_REPO_PREFIX + rest;
  return [registry, rest];
}

function makeReference(registry: string, repository: string, tag: string | null, digest: string | null): ImageReference {
  const name = (): string => `${registry}/${repository}`;
  const suffix = (): string => `${tag === null ? '' : `:${tag}`}${digest === null ? '' : `@${digest}`}`;
  const familiarName = (): string => {
    if (registry !== DEFAULT_REGISTRY) return name();
    const short = repository.startsWith(OFFICIAL_REPO_PREFIX) ? repository.slice(OFFICIAL_REPO_PREFIX.length) : repository;
    return short.includes('/') ? repository : short;
  };
  return {
    registry,
    repository,
    tag,
    digest,
    name,
    canonical: () => name() + suffix(),
    familiarName,
    familiar: () => familiarName() + suffix(),
  };
}

/**
 * Parse and normalise `text`. Without a tag or digest the tag is `latest`.
 * Throws InvalidReferenceError (code TSB_REF_INVALID) naming the input.
 */
export function parseReference(text: string): ImageReference {
  if (text === '') throw new InvalidReferenceError(text, 'empty', 'repository name must have at least one component');
  if (HEX_ID_RE.test(text)) {
    throw new InvalidReferenceError(text, 'hex-name', 'cannot specify 64-byte hexadecimal strings as a repository name');
  }
  // Split off @digest and :tag by hand first, so the error can say which
  // part is wrong; the full grammar is checked afterwards.
  const at = text.indexOf('@');
  const beforeDigest = at === -1 ? text : text.slice(0, at);
  const digest = at === -1 ? null : text.slice(at + 1);
  const lastSlash = beforeDigest.lastIndexOf('/');
  const colon = beforeDigest.indexOf(':', lastSlash + 1);
  const namePart = colon === -1 ? beforeDigest : beforeDigest.slice(0, colon);
  const tag = colon === -1 ? null : beforeDigest.slice(colon + 1);

  if (tag !== null && !TAG_RE.test(tag)) {
    throw new InvalidReferenceError(text, 'tag', `tag "${tag}" must be [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`);
  }
  if (digest !== null) {
    if (!new RegExp(`^${DIGEST}$`).test(digest)) {
      throw new InvalidReferenceError(text, 'digest', `"${digest}" is not algorithm:hex`);
    }
    validateDigest(text, digest);
  }
  if (namePart === '') throw new InvalidReferenceError(text, 'empty', 'repository name must have at least one component');

  const [registry, repository] = splitDomain(namePart);
  if (repository.toLowerCase() !== repository) {
    throw new InvalidReferenceError(text, 'uppercase', `repository name "${repository}" must be lowercase`);
  }
  const full = `${registry}/${repository}`;
  const m = REFERENCE_RE.exec(full);
  if (m === null || !DOMAIN_RE.test(registry)) {
    throw new InvalidReferenceError(text, 'format', 'expected [registry[:port]/]name[:tag][@digest] with a lowercase name');
  }
  if (full.length > NAME_TOTAL_LENGTH_MAX) {
    throw new InvalidReferenceError(text, 'name-too-long', `repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  return makeReference(registry, repository, tag ?? (digest === null ? DEFAULT_TAG : null), digest);
}

/** parseReference, or null instead of throwing. */
export function tryParseReference(text: string): ImageReference | null {
  try {
    return parseReference(text);
  } catch (err) {
    if (err instanceof InvalidReferenceError) return null;
    throw err;
  }
}

export function isInvalidReferenceError(err: unknown): err is InvalidReferenceError {
  return err instanceof InvalidReferenceError;
}
