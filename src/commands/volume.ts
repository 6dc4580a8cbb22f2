// `tsbuild volume ls` and `tsbuild volume rm NAME...`: named (and anonymous)
// volumes under <root>/volumes. A volume a container mounts, running or
// not, is not removed (docker's rule).
import type { ParsedCommand } from '../cli/command-line.js';
import { ContainerError, listContainers, listVolumes, removeVolumeDir, volumeExists } from '../container/index.js';
import { CliError } from '../errors.js';
import type { Io } from '../io.js';
import { formatTable } from '../render/human-units.js';
import { forEachArgument } from './image-command-support.js';
import { containerRoot } from './container-command-support.js';

export async function volumeCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const root = containerRoot(cmd, io);
  const [sub, ...names] = cmd.positionals;
  if (sub === 'ls' || sub === 'list') {
    if (names.length > 0) throw new CliError('TSB_CLI_USAGE', 'tsbuild volume ls: takes no arguments');
    const rows = [['DRIVER', 'VOLUME NAME'], ...(await listVolumes(root)).map((v) => ['local', v.name])];
    io.out(formatTable(rows));
    return 0;
  }
  if (sub === 'rm' || sub === 'remove') {
    if (names.length === 0) throw new CliError('TSB_CLI_USAGE', 'tsbuild volume rm: requires at least 1 argument');
    const containers = await listContainers(root);
    await forEachArgument(names, io, async (name) => {
      if (!volumeExists(root, name)) throw new ContainerError('TSB_VOLUME_NOT_FOUND', `no such volume: ${name}`);
      const users = containers.filter((r) => r.config.mounts.some((m) => m.type === 'volume' && m.name === name));
      if (users.length > 0) {
        throw new ContainerError('TSB_VOLUME_IN_USE', `remove ${name}: volume is in use - [${users.map((r) => r.config.id).join(', ')}]`);
      }
      await removeVolumeDir(root, name);
      io.out(`${name}\n`);
    });
    return 0;
  }
  throw new CliError('TSB_CLI_USAGE', `tsbuild volume: unknown subcommand "${sub ?? ''}": expected ls or rm`);
}
