// Errors raised by the registry client. registry/ imports nothing else of
// ours, so RegistryError does not extend the project's TsbuildError; it has
// the same shape (a stable `code` starting with TSB_) and callers match on
// `code`, never on message text.

export type RegistryErrorCode =
  /** 401: no credentials, wrong credentials, or the token server refused them. */
  | 'TSB_REGISTRY_UNAUTHORIZED'
  /** 403 or the OCI code DENIED: authenticated, but not allowed. */
  | 'TSB_REGISTRY_DENIED'
  /** 404 or MANIFEST_UNKNOWN / NAME_UNKNOWN / BLOB_UNKNOWN / MANIFEST_BLOB_UNKNOWN. */
  | 'TSB_REGISTRY_NOT_FOUND'
  /** Bytes do not hash to (or are longer/shorter than) their descriptor; DIGEST_INVALID. */
  | 'TSB_REGISTRY_DIGEST_MISMATCH'
  /** A manifest or index over 4 MiB. */
  | 'TSB_REGISTRY_MANIFEST_TOO_LARGE'
  /** Connection refused, reset, DNS, TLS, timeouts — after retries. */
  | 'TSB_REGISTRY_UNREACHABLE'
  /** 429 after retries. */
  | 'TSB_REGISTRY_TOO_MANY_REQUESTS'
  /** 5xx after retries. */
  | 'TSB_REGISTRY_SERVER_ERROR'
  /** The registry answered something the distribution spec does not allow. */
  | 'TSB_REGISTRY_PROTOCOL'
  /** A schema1 manifest, an unknown media type, a nested index. */
  | 'TSB_REGISTRY_UNSUPPORTED'
  /** An index with no manifest for the requested platform. */
  | 'TSB_REGISTRY_NO_MATCHING_PLATFORM'
  /** config.json unreadable, or a credential helper failed. */
  | 'TSB_REGISTRY_CREDENTIALS';

/** One entry of the distribution spec's `{"errors": [...]}` body. */
export interface OciError {
  code: string;
  message: string;
}

export interface RegistryErrorOptions {
  status?: number;
  ociErrors?: OciError[];
  repository?: string;
  digest?: string;
  cause?: unknown;
}

export class RegistryError extends Error {
  override readonly name = 'RegistryError';
  readonly code: RegistryErrorCode;
  /** The HTTP status that caused it, when there was a response. */
  readonly status: number | undefined;
  /** The OCI error codes and messages from the response body (may be empty). */
  readonly ociErrors: OciError[];
  /** `registry/repository`, when the failure concerns one. */
  readonly repository: string | undefined;
  /** The manifest or blob the failure concerns. */
  readonly digest: string | undefined;

  constructor(code: RegistryErrorCode, message: string, opts: RegistryErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.status = opts.status;
    this.ociErrors = opts.ociErrors ?? [];
    this.repository = opts.repository;
    this.digest = opts.digest;
  }
}

export function isRegistryError(err: unknown): err is RegistryError {
  return err instanceof RegistryError;
}

/** Parse `{"errors":[{"code","message"}]}`; anything else yields []. */
export function parseOciErrors(body: string): OciError[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return [];
  }
  const errors = (parsed as { errors?: unknown } | null)?.errors;
  if (!Array.isArray(errors)) return [];
  const out: OciError[] = [];
  for (const e of errors as unknown[]) {
    const code = (e as { code?: unknown } | null)?.code;
    const message = (e as { message?: unknown } | null)?.message;
    if (typeof code === 'string') out.push({ code, message: typeof message === 'string' ? message : '' });
  }
  return out;
}

const NOT_FOUND_CODES = new Set(['MANIFEST_UNKNOWN', 'NAME_UNKNOWN', 'BLOB_UNKNOWN', 'MANIFEST_BLOB_UNKNOWN', 'BLOB_UPLOAD_UNKNOWN']);

/** The error code for a failed response: OCI error codes first, then the status. */
export function codeForResponse(status: number, ociErrors: readonly OciError[]): RegistryErrorCode {
  for (const { code } of ociErrors) {
    if (code === 'DENIED') return 'TSB_REGISTRY_DENIED';
    if (code === 'UNAUTHORIZED') return 'TSB_REGISTRY_UNAUTHORIZED';
    if (NOT_FOUND_CODES.has(code)) return 'TSB_REGISTRY_NOT_FOUND';
    if (code === 'DIGEST_INVALID') return 'TSB_REGISTRY_DIGEST_MISMATCH';
    if (code === 'TOOMANYREQUESTS') return 'TSB_REGISTRY_TOO_MANY_REQUESTS';
  }
  if (status === 401) return 'TSB_REGISTRY_UNAUTHORIZED';
  if (status === 403) return 'TSB_REGISTRY_DENIED';
  if (status === 404) return 'TSB_REGISTRY_NOT_FOUND';
  if (status === 429) return 'TSB_REGISTRY_TOO_MANY_REQUESTS';
  if (status >= 500) return 'TSB_REGISTRY_SERVER_ERROR';
  return 'TSB_REGISTRY_PROTOCOL';
}

/** Failures worth another attempt (a new connection, another mirror). */
export function isTransient(err: unknown): boolean {
  if (!(err instanceof RegistryError)) return false;
  return (
    err.code === 'TSB_REGISTRY_UNREACHABLE' ||
    err.code === 'TSB_REGISTRY_SERVER_ERROR' ||
    err.code === 'TSB_REGISTRY_TOO_MANY_REQUESTS'
  );
}
