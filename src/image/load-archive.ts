// `tsbuild load`: an archive (docker-archive or OCI layout tar, detected by
// content, optionally gzipped) → images in the store, then named.
//
// The archive is first unpacked into a scratch directory under the store's
// tmp/ (same filesystem, removed afterwards, and swept by gc if we die),
// because neither format puts its index before the blobs it describes.
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { storeLayout, type ContentStore } from '../store/index.js';
import { extractArchive, resolveArchiveName, type ExtractedArchive } from './archive-extract.js';
import { hasDockerManifest, importDockerArchive } from './docker-archive.js';
import { ImageError } from './errors.js';
import { keepUntagged, dropUntagged } from './local-images.js';
import { importOciLayout, OCI_INDEX_FILE, type ImportedImage, type ImportOptions } from './oci-layout.js';

export type ArchiveFormat = 'docker' | 'oci';

export interface LoadedArchive {
  format: ArchiveFormat;
  images: ImportedImage[];
}

function hasFile(archive: ExtractedArchive, name: string): boolean {
  try {
    resolveArchiveName(archive, name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Import every image of the archive read from `source` (`label` names it in
 * errors). A docker archive wins when both manifest.json and index.json are
 * present (docker ≥ 25 writes both), as `docker load` does.
 */
export async function loadArchive(store: ContentStore, source: Readable, label: string, opts: ImportOptions = {}): Promise<LoadedArchive> {
  const scratch = path.join(storeLayout(store.root).tmp, `load-${process.pid}-${randomBytes(6).toString('hex')}`);
  try {
    const archive = await extractArchive(source, scratch, label);
    if (hasDockerManifest(archive)) return { format: 'docker', images: await importDockerArchive(store, archive, opts) };
    if (hasFile(archive, OCI_INDEX_FILE)) {
      const src = { label, file: (name: string) => path.join(scratch, ...resolveArchiveName(archive, name).split('/')) };
      return { format: 'oci', images: await importOciLayout(store, src, opts) };
    }
    throw new ImageError('TSB_IMAGE_ARCHIVE', `${label}: neither a docker archive (manifest.json) nor an OCI layout (index.json)`, { path: label });
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** loadArchive from a file. */
export async function loadArchiveFile(store: ContentStore, file: string, opts: ImportOptions = {}): Promise<LoadedArchive> {
  const stream = createReadStream(file);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (err: NodeJS.ErrnoException) =>
      reject(new ImageError('TSB_IMAGE_ARCHIVE', `cannot read ${file}: ${err.code ?? err.message}`, { path: file, cause: err })),
    );
  });
  return loadArchive(store, stream, file, opts);
}

/**
 * Point each loaded image's names at it; keep an unnamed one as an untagged
 * image so it survives gc (docker's dangling image).
 */
export async function nameLoadedImages(store: ContentStore, images: readonly ImportedImage[]): Promise<void> {
  for (const image of images) {
    if (image.names.length === 0) {
      await keepUntagged(store, image.target);
      continue;
    }
    for (const name of image.names) await store.setTag(name, image.target);
    await dropUntagged(store, image.target.digest);
  }
}
