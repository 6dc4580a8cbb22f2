// `tsbuild push NAME[:TAG]`: the local image NAME names, to NAME's
// registry and repository. Blobs the registry has are skipped (HEAD), blobs
// another repository of the same registry has (another name of this image)
// are mounted, the rest uploaded; the tag is written last. Layer progress
// goes to stderr in docker's words; the final `TAG: digest: … size: …`
// line too, as docker prints it.
import { parseReference } from '../../registry/index.js';
import type { ParsedCommand } from '../cli/command-line.js';
import { CliError } from '../errors.js';
import { readImage, requireLocalImage } from '../image/index.js';
import type { Io } from '../io.js';
import { TransferRenderer } from '../render/transfer-progress.js';
import { LazyBlobs } from '../remote/lazy-blobs.js';
import { mountCandidate, pushLocalImage } from '../remote/push-local.js';
import { resolveRegistryOptions } from '../remote/registry-options.js';
import { RegistrySession } from '../remote/registry-session.js';
import { openCommandStore } from './image-command-support.js';
import { transferIsTty } from './pull.js';

export async function pushCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const text = cmd.positionals[0] as string;
  const ref = parseReference(text);
  if (ref.digest !== null) throw new CliError('TSB_CLI_USAGE', `tsbuild push: cannot push a digest reference (${text}); push a tag`);
  const store = await openCommandStore(cmd, io);
  const image = await requireLocalImage(store, ref.canonical());
  const details = await readImage(store, image.target);
  const progress = new TransferRenderer(io.err, transferIsTty(io), 'push');
  const mountFrom = mountCandidate(ref, image.names);
  const session = new RegistrySession(resolveRegistryOptions(cmd.values, io.env), store, (e) => progress.update(e, mountFrom), io.signal);
  // Layers a build left remote (a lazily pulled base) come from the
  // repositories this image was named after, if the registry cannot mount them.
  const lazy = new LazyBlobs(store);
  for (const name of image.names) lazy.add(session.origin(name), details.manifest.layers);
  try {
    progress.print(`The push refers to repository [${ref.name()}]`);
    progress.layers([...details.manifest.layers].reverse());
    const [result] = await pushLocalImage(store, session, lazy, image.target, [ref.canonical()], {
      platform: details.platform,
      mountFrom: () => mountFrom,
      onProgress: (e) => progress.update(e, mountFrom),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
    if (result !== undefined) progress.print(`${ref.tag ?? 'latest'}: digest: ${result.digest} size: ${result.size}`);
    return 0;
  } finally {
    progress.done();
    await session.close();
  }
}
