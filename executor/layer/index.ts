// Public surface of the layer machinery: walk a tree, encode it as a tar,
// store it as a layer blob, and apply (hostile) layer archives.
export {
  type LayerEntry,
  type LayerEntryType,
  type WhiteoutMeta,
  whiteout,
  opaque,
  WHITEOUT_PREFIX,
  WHITEOUT_META_PREFIX,
  WHITEOUT_OPAQUE,
} from './entry.js';
export { LayerError, isLayerError, type LayerErrorCode, type LayerErrorOptions } from './errors.js';
export { packTar, type PackOptions } from './tar.js';
export { walkDirectory, type WalkOptions } from './walk.js';
export {
  writeLayer,
  MEDIA_TYPE_LAYER_GZIP,
  MEDIA_TYPE_LAYER_TAR,
  type LayerCompression,
  type WriteLayerOptions,
  type WrittenLayer,
} from './write-layer.js';
export { applyLayer, type ApplyOptions, type ApplyResult } from './extract.js';
export type { WhiteoutMode, XattrRecord } from './applier.js';
export { detectCompression, type ArchiveCompression } from './decompress.js';
export { MAX_PATH_BYTES, MAX_PATH_COMPONENTS } from './safe-path.js';
export { addPackEntry, packEntryDrained, type PackEntrySink } from './pack-entry.js';
