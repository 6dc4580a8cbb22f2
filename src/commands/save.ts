// `tsbuild save [-o FILE] [--format docker|oci] IMAGE...`: images as one
// archive: docker-archive by default (docker save), or an OCI layout tar.
// Images named by ID are saved without names, as docker does.
import { str, type ParsedCommand } from '../cli/command-line.js';
import { CliError } from '../errors.js';
import { requireLocalImage, withOutputTarget, writeDockerArchive, writeOciLayoutTar, type ExportImage } from '../image/index.js';
import type { Io } from '../io.js';
import { openCommandStore } from './image-command-support.js';

export async function saveCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const format = str(cmd.values, 'format') ?? 'docker';
  const output = str(cmd.values, 'output');
  if (output === undefined && io.stdout.isTTY === true) {
    throw new CliError('TSB_CLI_USAGE', 'cowardly refusing to save to a terminal. Use the -o flag or redirect');
  }
  const store = await openCommandStore(cmd, io);
  const images: ExportImage[] = [];
  for (const text of cmd.positionals) {
    const image = await requireLocalImage(store, text);
    let entry = images.find((i) => i.target.digest === image.target.digest);
    if (entry === undefined) {
      entry = { target: image.target, names: [] };
      images.push(entry);
    }
    if (image.matchedName !== null && !entry.names.includes(image.matchedName)) entry.names.push(image.matchedName);
  }
  await withOutputTarget(output ?? '-', io.stdout, (out) =>
    format === 'oci' ? writeOciLayoutTar(store, images, out) : writeDockerArchive(store, images, out),
  );
  return 0;
}
