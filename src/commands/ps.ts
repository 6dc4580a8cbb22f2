// `tsbuild ps [-a] [-q]`: running containers (all with -a), newest first, in
// docker's columns. A container whose supervisor was killed shows as
// exited (liveness comes from the recorded pids and their start times).
import { bool, type ParsedCommand } from '../cli/command-line.js';
import { listContainers, liveState, shortContainerId } from '../container/index.js';
import type { Io } from '../io.js';
import { formatTable, humanDuration } from '../render/human-units.js';
import { commandText, containerRoot, portsText, statusText } from './container-command-support.js';

export async function psCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const root = containerRoot(cmd, io);
  const all = bool(cmd.values, 'all');
  const now = Date.now();
  const shown = (await listContainers(root)).filter((r) => all || liveState(r.state).status === 'running');
  if (bool(cmd.values, 'quiet')) {
    for (const r of shown) io.out(`${shortContainerId(r.config.id)}\n`);
    return 0;
  }
  const rows: string[][] = [['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES']];
  for (const r of shown) {
    rows.push([
      shortContainerId(r.config.id),
      r.config.image.text,
      commandText(r),
      `${humanDuration(Math.max(0, now - Date.parse(r.config.created)))} ago`,
      statusText(r, now),
      portsText(r),
      r.config.name,
    ]);
  }
  io.out(formatTable(rows));
  return 0;
}
