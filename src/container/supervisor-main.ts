// The detached supervisor's entry point (`run -d`): node supervisor-main.js
// ROOT ID, started by launchSupervisor in its own session with stdio on
// <id>/supervisor.log and fd 3 a pipe back to the CLI, which gets one line:
// {"ok":true} once the container runs, or {"ok":false,"code","message"}.
// With --rm it removes the container after its end.
import { closeSync, writeSync } from 'node:fs';
import type { SandboxHandle } from '../../executor/sandbox/index.js';
import { readRecord } from './containers.js';
import { removeContainer } from './remove-container.js';
import { superviseContainer } from './supervisor.js';

const REPORT_FD = 3;

function report(line: Record<string, unknown>): void {
  try {
    writeSync(REPORT_FD, JSON.stringify(line) + '\n');
    closeSync(REPORT_FD);
  } catch {
    // the CLI is gone; the state file says it all
  }
}

async function main(): Promise<number> {
  const [root, id] = process.argv.slice(2);
  if (root === undefined || id === undefined) {
    report({ ok: false, code: 'TSB_INTERNAL', message: 'usage: supervisor-main ROOT ID' });
    return 2;
  }
  const rec = readRecord(root, id);
  if (rec === null) {
    report({ ok: false, code: 'TSB_CONTAINER_NOT_FOUND', message: `No such container: ${id}` });
    return 1;
  }
  let handle: SandboxHandle | null = null;
  // Whoever stops the supervisor stops the container, which cleans up as usual.
  process.on('SIGTERM', () => void handle?.signal('SIGPWR'));
  process.on('SIGINT', () => undefined);
  process.on('SIGHUP', () => undefined);
  let reported = false;
  let code = 0;
  try {
    await superviseContainer(root, rec.config, {
      env: process.env,
      onHandle: (h) => {
        handle = h;
      },
      onStarted: () => {
        reported = true;
        report({ ok: true });
      },
      warn: (m) => process.stderr.write(`tsbuild supervisor: ${m}\n`),
    });
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown; stack?: unknown };
    if (!reported) report({ ok: false, code: typeof e.code === 'string' ? e.code : 'TSB_INTERNAL', message: String(e.message ?? err) });
    process.stderr.write(`tsbuild supervisor: ${String(e.stack ?? e.message ?? err)}\n`);
    code = 1;
  }
  if (reported && rec.config.autoRemove) {
    const now = readRecord(root, id);
    if (now !== null) await removeContainer(root, now, { volumes: true }).catch((err: Error) => process.stderr.write(`tsbuild supervisor: rm: ${err.message}\n`));
  }
  return code;
}

// This is a program of its own: nothing else runs in this process.
process.exit(await main());
