// What `build --metadata-file` and `--iidfile` write, in buildx's shapes:
//   metadata: {"containerimage.config.digest", "containerimage.descriptor",
//              "containerimage.digest", "image.name"} (sorted keys, as Go
//              prints a map), where image.name is the comma-joined names
//   iidfile:  the image ID, i.e. the config digest (docker's image ID), no newline
import { writeFile } from 'node:fs/promises';
import type { Descriptor } from '../store/index.js';
import { ImageError } from './errors.js';
import type { WrittenImage } from './write-image.js';

export interface BuildMetadata {
  'containerimage.config.digest': string;
  'containerimage.descriptor': Descriptor;
  'containerimage.digest': string;
  'image.name'?: string;
}

export function buildMetadata(image: WrittenImage, names: readonly string[]): BuildMetadata {
  const meta: BuildMetadata = {
    'containerimage.config.digest': image.config.digest,
    'containerimage.descriptor': { mediaType: image.manifest.mediaType, digest: image.manifest.digest, size: image.manifest.size },
    'containerimage.digest': image.manifest.digest,
  };
  if (names.length > 0) meta['image.name'] = names.join(',');
  return meta;
}

export function formatMetadata(meta: BuildMetadata): string {
  return JSON.stringify(meta, null, 2) + '\n';
}

/** The --iidfile content: the image ID (config digest). */
export function imageIdFileContent(image: WrittenImage): string {
  return image.config.digest;
}

async function write(file: string, text: string, what: string): Promise<void> {
  try {
    await writeFile(file, text, { mode: 0o644 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ImageError('TSB_IMAGE_OUTPUT', `cannot write the ${what} ${file}: ${code ?? (err as Error).message}`, { path: file, cause: err });
  }
}

export async function writeMetadataFile(file: string, image: WrittenImage, names: readonly string[]): Promise<void> {
  await write(file, formatMetadata(buildMetadata(image, names)), 'metadata file');
}

export async function writeImageIdFile(file: string, image: WrittenImage): Promise<void> {
  await write(file, imageIdFileContent(image), 'image ID file');
}
