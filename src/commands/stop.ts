// `tsbuild stop [-t SECONDS] CONTAINER...`: the image's STOPSIGNAL (SIGTERM
// by default) to the main process, then SIGKILL after the timeout (10 s);
// returns once the container's end is recorded.
import { str, type ParsedCommand } from '../cli/command-line.js';
import { findContainer, stopContainer } from '../container/index.js';
import { CliError } from '../errors.js';
import type { Io } from '../io.js';
import { forEachArgument } from './image-command-support.js';
import { containerRoot } from './container-command-support.js';

export async function stopCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const root = containerRoot(cmd, io);
  const t = str(cmd.values, 'time');
  if (t !== undefined && !/^\d+$/.test(t)) throw new CliError('TSB_CLI_USAGE', `invalid --time "${t}": expected whole seconds`);
  const seconds = t === undefined ? 10 : Number(t);
  await forEachArgument(cmd.positionals, io, async (text) => {
    const rec = await findContainer(root, text);
    await stopContainer(root, rec, seconds, io.signal);
    io.out(`${text}\n`);
  });
  return 0;
}
