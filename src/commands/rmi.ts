// `tsbuild rmi [-f] IMAGE...`: remove names. A name removes that tag; an
// ID removes every tag of the image (several only with -f, as docker).
// The blobs stay until `prune` finds them unreferenced.
import { bool, type ParsedCommand } from '../cli/command-line.js';
import { dropUntagged, ImageError, imageId, requireLocalImage, tryReadImage } from '../image/index.js';
import type { Io } from '../io.js';
import { familiar, forEachArgument, openCommandStore, shortId } from './image-command-support.js';

export async function rmiCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const force = bool(cmd.values, 'force');
  const store = await openCommandStore(cmd, io);
  await forEachArgument(cmd.positionals, io, async (text) => {
    const image = await requireLocalImage(store, text);
    const id = imageId(await tryReadImage(store, image.target), image.target);
    let remove: string[];
    if (image.matchedName !== null) {
      remove = [image.matchedName];
    } else {
      if (image.names.length > 1 && !force) {
        throw new ImageError(
          'TSB_IMAGE_CONFLICT',
          `conflict: unable to delete ${shortId(id)} (must be forced) - image is referenced in multiple repositories`,
          { digest: id },
        );
      }
      remove = image.names;
    }
    for (const name of remove) {
      await store.deleteTag(name);
      io.out(`Untagged: ${familiar(name)}\n`);
    }
    if (image.names.every((n) => remove.includes(n))) {
      await dropUntagged(store, image.target.digest);
      io.out(`Deleted: ${id}\n`);
    }
  });
  return 0;
}
