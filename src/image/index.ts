// src/image: images in the local store — writing and reading manifests and
// configs, the local image index (names, IDs, untagged images), OCI layout
// and docker archive export/import, rootfs export, build outputs and
// build metadata. Public surface; the commands and the build use only this.
export { ImageError, isImageError, type ImageErrorCode, type ImageErrorOptions } from './errors.js';
export * from './media-types.js';
export {
  writeImage,
  imageConfigJson,
  manifestJson,
  orderImageConfig,
  type ManifestJson,
  type OciImageConfigJson,
  type WrittenImage,
} from './write-image.js';
export {
  readImage,
  readJsonBlob,
  toImageConfig,
  toResolvedImage,
  type ImageDetails,
  type IndexJson,
  type ReadImageOptions,
} from './read-image.js';
export { DEFAULT_PLATFORM, formatImagePlatform, selectManifest } from './platform.js';
export {
  findLocalImage,
  requireLocalImage,
  listLocalImages,
  keepUntagged,
  dropUntagged,
  tryReadImage,
  imageId,
  UNTAGGED_NAMESPACE,
  type LocalImage,
  type LocalImageMatch,
} from './local-images.js';
export { resolveLocalImage } from './resolve-local-image.js';
export {
  writeOciLayoutDir,
  writeOciLayoutTar,
  importOciLayout,
  directorySource,
  resolveOciLayoutImage,
  parseOciLayoutReference,
  OCI_LAYOUT_SCHEME,
  type ExportImage,
  type ImportedImage,
  type ImportOptions,
  type LayoutSource,
  type OciLayoutReference,
} from './oci-layout.js';
export { writeDockerArchive, importDockerArchive } from './docker-archive.js';
export { loadArchive, loadArchiveFile, nameLoadedImages, type ArchiveFormat, type LoadedArchive } from './load-archive.js';
export { exportRootfsDir, exportRootfsTar, type RootfsOptions } from './rootfs-export.js';
export {
  parseOutputSpec,
  parseOutputSpecs,
  writeOutputs,
  type OutputSpec,
  type WriteOutputsOptions,
  type WriteOutputsResult,
} from './outputs.js';
export { withOutputTarget, openOutputTarget, type OutputTarget } from './output-target.js';
export {
  buildMetadata,
  formatMetadata,
  imageIdFileContent,
  writeMetadataFile,
  writeImageIdFile,
  type BuildMetadata,
} from './metadata-file.js';
