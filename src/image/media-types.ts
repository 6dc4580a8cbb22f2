// Media types of the image formats we read and write, and the mapping from
// docker schema2 layer types to their OCI equivalents (an OCI manifest must
// not list docker media types).
export {
  MEDIA_TYPE_DOCKER_MANIFEST,
  MEDIA_TYPE_DOCKER_MANIFEST_LIST,
  MEDIA_TYPE_OCI_INDEX,
  MEDIA_TYPE_OCI_MANIFEST,
} from '../store/index.js';

export const MEDIA_TYPE_OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const MEDIA_TYPE_DOCKER_CONFIG = 'application/vnd.docker.container.image.v1+json';
export const MEDIA_TYPE_OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const MEDIA_TYPE_OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';
export const MEDIA_TYPE_OCI_LAYER_ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
export const MEDIA_TYPE_DOCKER_LAYER = 'application/vnd.docker.image.rootfs.diff.tar';
export const MEDIA_TYPE_DOCKER_LAYER_GZIP = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
export const MEDIA_TYPE_DOCKER_LAYER_ZSTD = 'application/vnd.docker.image.rootfs.diff.tar.zstd';
export const MEDIA_TYPE_DOCKER_FOREIGN_LAYER_GZIP = 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip';
export const MEDIA_TYPE_OCI_NONDISTRIBUTABLE_LAYER_GZIP = 'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip';

/** Annotation keys in index.json (image-spec annotations.md, containerd). */
export const ANNOTATION_REF_NAME = 'org.opencontainers.image.ref.name';
export const ANNOTATION_IMAGE_NAME = 'io.containerd.image.name';

const DOCKER_TO_OCI_LAYER: Record<string, string> = {
  [MEDIA_TYPE_DOCKER_LAYER]: MEDIA_TYPE_OCI_LAYER,
  [MEDIA_TYPE_DOCKER_LAYER_GZIP]: MEDIA_TYPE_OCI_LAYER_GZIP,
  [MEDIA_TYPE_DOCKER_LAYER_ZSTD]: MEDIA_TYPE_OCI_LAYER_ZSTD,
  [MEDIA_TYPE_DOCKER_FOREIGN_LAYER_GZIP]: MEDIA_TYPE_OCI_NONDISTRIBUTABLE_LAYER_GZIP,
};

/** The OCI media type for a layer of either family. */
export function ociLayerMediaType(mediaType: string): string {
  return DOCKER_TO_OCI_LAYER[mediaType] ?? mediaType;
}
