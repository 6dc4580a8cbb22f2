// What the container commands share: the root, finding containers by the
// names given, and docker's table cells for ps.
import type { ParsedCommand } from '../cli/command-line.js';
// Specific modules, not the index: `run` uses this file and loads only what it needs.
import { liveState } from '../container/container-state.js';
import type { ContainerRecord } from '../container/containers.js';
import { formatPort } from '../container/port-spec.js';
import type { Io } from '../io.js';
import { humanDuration } from '../render/human-units.js';
import { resolveRoot } from '../root.js';

export function containerRoot(cmd: ParsedCommand, io: Io): string {
  return resolveRoot(cmd.values, io.env);
}

/** docker's Ellipsis: at most `max` characters, the last one "…". */
export function ellipsis(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : chars.slice(0, max - 1).join('') + '…';
}

/** The STATUS column: Created, Up 3 seconds (healthy), Exited (0) 2 minutes ago. */
export function statusText(rec: ContainerRecord, now = Date.now()): string {
  const s = liveState(rec.state);
  switch (s.status) {
    case 'created':
      return 'Created';
    case 'running': {
      const since = s.startedAt !== null ? humanDuration(Math.max(0, now - Date.parse(s.startedAt))) : 'Less than a second';
      const health = s.health === null ? '' : s.health.status === 'starting' ? ' (health: starting)' : ` (${s.health.status})`;
      return `Up ${since}${health}`;
    }
    case 'exited': {
      const ago = s.finishedAt !== null ? ` ${humanDuration(Math.max(0, now - Date.parse(s.finishedAt)))} ago` : '';
      return `Exited (${s.exitCode ?? 0})${ago}${s.oomKilled ? ' (OOMKilled)' : ''}`;
    }
  }
}

export function portsText(rec: ContainerRecord): string {
  const s = liveState(rec.state);
  return s.status === 'running' ? s.ports.map(formatPort).join(', ') : '';
}

export function commandText(rec: ContainerRecord): string {
  return JSON.stringify(ellipsis([...rec.config.entrypoint, ...rec.config.cmd].join(' '), 20));
}
