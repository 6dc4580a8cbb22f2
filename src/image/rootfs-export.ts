// The final filesystem of an image, outside the store:
//   type=local  → a directory, every layer applied in order (whiteouts
//                 remove what lower layers made, as a container would see it)
//   type=tar    → that directory as one tar stream (applied into scratch
//                 space under the store's tmp/, walked, packed, removed)
// Layers are treated as hostile archives by applyLayer, whatever their source.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { applyLayer, packTar, walkDirectory } from '../../executor/layer/index.js';
import type { LayerRef } from '../../executor/types.js';
import { storeLayout, type ContentStore } from '../store/index.js';

export interface RootfsOptions {
  /** Create device nodes found in layers (needs root); refused otherwise. */
  allowDevices?: boolean;
  signal?: AbortSignal;
}

/** Apply `layers` in order into `dest` (created if missing). */
export async function exportRootfsDir(store: ContentStore, layers: readonly LayerRef[], dest: string, opts: RootfsOptions = {}): Promise<void> {
  for (const layer of layers) {
    await applyLayer(store.openBlob(layer.digest), dest, {
      whiteouts: 'apply',
      ...(opts.allowDevices === true ? { allowDevices: true } : {}),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
  }
}

/** Write the flattened filesystem of `layers` as a tar stream into `out` (not ended). */
export async function exportRootfsTar(store: ContentStore, layers: readonly LayerRef[], out: Writable, opts: RootfsOptions = {}): Promise<void> {
  const scratch = path.join(storeLayout(store.root).tmp, `rootfs-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    await exportRootfsDir(store, layers, scratch, opts);
    await pipeline(packTar(walkDirectory(scratch)), out, { end: false, ...(opts.signal === undefined ? {} : { signal: opts.signal }) });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
