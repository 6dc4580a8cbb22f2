// `tsbuild logs [-f] [--tail N] CONTAINER`: the container's output from its
// log, stdout entries to stdout and stderr entries to stderr; -f keeps
// following until the container ends (or Ctrl-C).
import { bool, str, type ParsedCommand } from '../cli/command-line.js';
import { containerPaths, findContainer, followLog, isRunning, readLog, readRecord, type LogEntry } from '../container/index.js';
import { CliError } from '../errors.js';
import type { Io } from '../io.js';
import { containerRoot } from './container-command-support.js';

export async function logsCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const root = containerRoot(cmd, io);
  const rec = await findContainer(root, cmd.positionals[0] as string);
  const tailText = str(cmd.values, 'tail');
  let tail: number | null = null;
  if (tailText !== undefined && tailText !== 'all') {
    if (!/^\d+$/.test(tailText)) throw new CliError('TSB_CLI_USAGE', `invalid --tail "${tailText}": expected a number or "all"`);
    tail = Number(tailText);
  }
  const print = (e: LogEntry): void => {
    if (e.stream === 'stdout') io.stdout.write(e.data);
    else io.err(e.data);
  };
  const file = containerPaths(root, rec.config.id).log;
  const { entries, size } = await readLog(file);
  for (const e of tail === null ? entries : tail === 0 ? [] : entries.slice(-tail)) print(e);
  if (bool(cmd.values, 'follow')) {
    const id = rec.config.id;
    await followLog(file, size, print, () => {
      const now = readRecord(root, id);
      return now !== null && isRunning(now);
    }, io.signal);
  }
  return 0;
}
