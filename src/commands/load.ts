// `tsbuild load [-i FILE]`: a docker-archive or OCI layout tar (detected by
// content, plain or gzip) into the store, every blob verified on the way in.
import { str, type ParsedCommand } from '../cli/command-line.js';
import { CliError } from '../errors.js';
import { loadArchive, loadArchiveFile, nameLoadedImages } from '../image/index.js';
import type { Io } from '../io.js';
import { familiar, openCommandStore } from './image-command-support.js';

export async function loadCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const input = str(cmd.values, 'input');
  const store = await openCommandStore(cmd, io);
  let loaded;
  if (input !== undefined) {
    loaded = await loadArchiveFile(store, input);
  } else {
    const stdin = io.openStdin();
    if ((stdin as { isTTY?: boolean }).isTTY === true) {
      throw new CliError('TSB_CLI_USAGE', 'requested load from stdin, but stdin is a terminal; use -i FILE or redirect');
    }
    loaded = await loadArchive(store, stdin, 'stdin');
  }
  await nameLoadedImages(store, loaded.images);
  for (const image of loaded.images) {
    if (image.names.length === 0) io.out(`Loaded image ID: ${image.details.configDescriptor.digest}\n`);
    for (const name of image.names) io.out(`Loaded image: ${familiar(name)}\n`);
  }
  return 0;
}
