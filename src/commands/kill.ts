// `tsbuild kill [-s SIGNAL] CONTAINER...`: a signal (SIGKILL by default) to
// each container's main process.
import { str, type ParsedCommand } from '../cli/command-line.js';
import { ContainerError, findContainer, parseSignal, signalContainer } from '../container/index.js';
import type { Io } from '../io.js';
import { forEachArgument } from './image-command-support.js';
import { containerRoot } from './container-command-support.js';

export async function killCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const root = containerRoot(cmd, io);
  const sig = parseSignal(str(cmd.values, 'signal') ?? 'KILL');
  await forEachArgument(cmd.positionals, io, async (text) => {
    const rec = await findContainer(root, text);
    if (!signalContainer(rec, sig)) {
      throw new ContainerError('TSB_CONTAINER_NOT_RUNNING', `cannot kill container ${text}: container ${rec.config.id.slice(0, 12)} is not running`);
    }
    io.out(`${text}\n`);
  });
  return 0;
}
