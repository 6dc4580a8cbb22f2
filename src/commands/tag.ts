// `tsbuild tag SOURCE TARGET`: point the name TARGET at SOURCE's image.
import type { ParsedCommand } from '../cli/command-line.js';
import { CliError } from '../errors.js';
import { dropUntagged, requireLocalImage } from '../image/index.js';
import type { Io } from '../io.js';
import { parseReference } from '../../registry/index.js';
import { openCommandStore } from './image-command-support.js';

export async function tagCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const [source, target] = cmd.positionals as [string, string];
  const ref = parseReference(target);
  if (ref.digest !== null) throw new CliError('TSB_CLI_USAGE', `refusing to create a tag with a digest reference: ${target}`);
  const store = await openCommandStore(cmd, io);
  const image = await requireLocalImage(store, source);
  await store.setTag(ref.canonical(), image.target);
  await dropUntagged(store, image.target.digest);
  return 0;
}
