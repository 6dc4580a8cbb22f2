// The manifest and blob media types the client understands (image-spec 1.1
// and docker's schema2). Schema1 is refused: it is signed JSON whose digest
// is not over the bytes served, and docker itself dropped it.

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';

export const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
export const DOCKER_SCHEMA1 = 'application/vnd.docker.distribution.manifest.v1+json';
export const DOCKER_SCHEMA1_SIGNED = 'application/vnd.docker.distribution.manifest.v1+prettyjws';

/** What a manifest GET accepts, most preferred first. */
export const MANIFEST_ACCEPT: readonly string[] = [OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST];

export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST;
}

export function isImageManifestMediaType(mediaType: string): boolean {
  return mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST;
}

export function isSchema1MediaType(mediaType: string): boolean {
  return mediaType === DOCKER_SCHEMA1 || mediaType === DOCKER_SCHEMA1_SIGNED;
}

/** A Content-Type header without parameters (`; charset=…`), lowercased. */
export function bareMediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}
