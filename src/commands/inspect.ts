// `tsbuild inspect NAME|ID...`: a JSON array of docker-like objects. A name
// or ID is looked up among containers first, like docker; images get what
// docker leaves out too: the history, the manifest and its descriptor.
import type { ParsedCommand } from '../cli/command-line.js';
import { ImageError, findLocalImage, readImage, type ImageDetails, type LocalImageMatch } from '../image/index.js';
import type { Io } from '../io.js';
import { tryParseReference } from '../../registry/index.js';
import { familiar, forEachArgument, openCommandStore } from './image-command-support.js';
import { findContainer, inspectContainer, isContainerError } from '../container/index.js';
import { resolveRoot } from '../root.js';

/** The container `text` names, inspected, or null when no container has that name or ID. */
async function tryInspectContainer(root: string, text: string): Promise<Record<string, unknown> | null> {
  try {
    return inspectContainer(root, await findContainer(root, text));
  } catch (err) {
    if (isContainerError(err, 'TSB_CONTAINER_NOT_FOUND')) return null;
    throw err;
  }
}

export function inspectImage(image: LocalImageMatch, d: ImageDetails): Record<string, unknown> {
  const repoDigests = [...new Set(image.names.map((n) => `${tryParseReference(n)?.familiarName() ?? n}@${d.manifestDigest}`))];
  const out: Record<string, unknown> = {
    Id: d.configDescriptor.digest,
    RepoTags: image.names.map(familiar),
    RepoDigests: repoDigests,
    Parent: '',
    Comment: '',
    Created: typeof d.config.created === 'string' ? d.config.created : '',
    Author: typeof d.config.author === 'string' ? d.config.author : '',
    Config: d.config.config ?? {},
    Architecture: d.platform.architecture,
  };
  if (d.platform.variant !== undefined) out.Variant = d.platform.variant;
  Object.assign(out, {
    Os: d.platform.os,
    Size: d.layers.reduce((n, l) => n + l.size, 0),
    RootFS: { Type: 'layers', Layers: d.layers.map((l) => l.diffID) },
    History: d.history,
    Descriptor: image.target,
    Manifest: d.manifest,
    Metadata: { LastTagTime: image.names.length > 0 ? image.updated : '' },
  });
  return out;
}

export async function inspectCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const store = await openCommandStore(cmd, io);
  const found: Array<Record<string, unknown>> = [];
  const missing: string[] = [];
  const root = resolveRoot(cmd.values, io.env);
  await forEachArgument(cmd.positionals, io, async (text) => {
    const container = await tryInspectContainer(root, text);
    if (container !== null) {
      found.push(container);
      return;
    }
    const image = await findLocalImage(store, text);
    if (image === null) {
      missing.push(text);
      return;
    }
    found.push(inspectImage(image, await readImage(store, image.target)));
  });
  io.out(JSON.stringify(found, null, 4) + '\n');
  // docker prints what it found, then fails for what it did not.
  await forEachArgument(missing, io, async (text) => {
    throw new ImageError('TSB_IMAGE_NOT_FOUND', `No such object: ${text}`);
  });
  return 0;
}
