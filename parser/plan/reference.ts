// Syntax check of an image reference, as distribution/reference's
// ParseNormalizedNamed does it for FROM and COPY --from: BuildKit rejects a
// malformed reference while planning, for every stage, reachable or not.
// Only the syntax: resolving it is registry/'s job.

const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|[-]+)';
const PATH_COMPONENT = `${ALNUM}(?:${SEPARATOR}${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN_NAME = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*`;
const IPV6 = '\\[(?:[a-fA-F0-9:]+)\\]';
const DOMAIN = `(?:${DOMAIN_NAME}|${IPV6})(?::[0-9]+)?`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const REFERENCE = new RegExp(`^((?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`);
const ANCHORED_HEX64 = /^[a-f0-9]{64}$/;
const DIGEST_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

/** Why `ref` is not a valid image reference, or null when it is. An
 * `oci-layout://DIR[:tag][@digest]` reference (a local OCI layout, as
 * BuildKit's named contexts use them) is resolved by src/, not checked here
 * beyond having a directory. */
export function referenceProblem(ref: string): string | null {
  if (ref.startsWith('oci-layout://')) return ref.length > 'oci-layout://'.length ? null : `invalid reference format: "${ref}": no layout directory`;
  if (ANCHORED_HEX64.test(ref)) return `invalid repository name (${ref}), cannot specify 64-byte hexadecimal strings`;
  const m = REFERENCE.exec(ref);
  if (!m) {
    if (REFERENCE.test(ref.toLowerCase())) return `invalid reference format: repository name (${ref}) must be lowercase`;
    return `invalid reference format: "${ref}"`;
  }
  const name = m[1] as string;
  if (name.length > 255) return 'repository name must not be more than 255 characters';
  const digest = m[3];
  if (digest !== undefined) {
    const [algo, hex] = digest.split(':') as [string, string];
    const want = DIGEST_LENGTH[algo];
    if (want === undefined) return `unsupported digest algorithm in "${ref}"`;
    if (hex.length !== want || !/^[a-f0-9]+$/.test(hex)) return `invalid checksum digest format in "${ref}"`;
  }
  return null;
}
