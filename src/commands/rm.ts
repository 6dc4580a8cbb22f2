// `tsbuild rm [-f] [-v] CONTAINER...`: removes stopped containers (running
// ones with -f, after SIGKILL); -v also removes their anonymous volumes.
// Works whatever state a container was left in, a killed supervisor too.
import { bool, type ParsedCommand } from '../cli/command-line.js';
import { ContainerError, findContainer, isRunning, readRecord, removeContainer, signalContainer, waitForEnd } from '../container/index.js';
import type { Io } from '../io.js';
import { forEachArgument } from './image-command-support.js';
import { containerRoot } from './container-command-support.js';

export async function rmCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const root = containerRoot(cmd, io);
  const force = bool(cmd.values, 'force');
  const volumes = bool(cmd.values, 'volumes');
  await forEachArgument(cmd.positionals, io, async (text) => {
    let rec = await findContainer(root, text);
    if (isRunning(rec)) {
      if (!force) {
        throw new ContainerError(
          'TSB_CONTAINER_RUNNING',
          `cannot remove container "/${rec.config.name}": container is running: stop the container before removing or force remove`,
        );
      }
      signalContainer(rec, 'SIGKILL');
      // Let the supervisor record the end and release what it set up.
      await waitForEnd(root, rec.config.id, 10_000);
      rec = readRecord(root, rec.config.id) ?? rec;
    }
    await removeContainer(root, rec, { volumes });
    io.out(`${text}\n`);
  });
  return 0;
}
