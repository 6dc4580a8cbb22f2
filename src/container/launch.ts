// `run -d`: the supervisor as a detached process (own session, stdio on
// <id>/supervisor.log), which outlives the CLI. The CLI waits for its one
// report line: the container runs, or it could not start (then the error
// is the CLI's to print and the record the CLI's to remove).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { findPackageRoot } from '../../executor/sandbox/index.js';
import { ContainerError } from './errors.js';
import { containerPaths } from './layout.js';
import { TsbuildError } from '../errors.js';

/** The compiled supervisor-main.js (from dist/ even when this runs from source under vitest). */
function supervisorEntry(): string {
  const here = fileURLToPath(import.meta.url);
  const sibling = join(dirname(here), 'supervisor-main.js');
  if (here.endsWith('.js') && existsSync(sibling)) return sibling;
  return join(findPackageRoot() ?? '.', 'dist', 'src', 'container', 'supervisor-main.js');
}

class ReportedError extends TsbuildError {}

export async function launchSupervisor(root: string, id: string, env: NodeJS.ProcessEnv): Promise<void> {
  const paths = containerPaths(root, id);
  const out = openSync(paths.supervisorLog, 'a', 0o600);
  let child;
  try {
    child = spawn(process.execPath, [supervisorEntry(), root, id], {
      detached: true,
      stdio: ['ignore', out, out, 'pipe'],
      env,
    });
  } finally {
    closeSync(out);
  }
  const pipe = child.stdio[3] as Readable;
  const line = await new Promise<string>((resolve) => {
    let text = '';
    pipe.on('data', (c: Buffer) => {
      text += c.toString();
      if (text.includes('\n')) resolve(text.slice(0, text.indexOf('\n')));
    });
    pipe.on('error', () => resolve(text));
    pipe.on('close', () => resolve(text));
    child.on('error', (err) => resolve(JSON.stringify({ ok: false, code: 'TSB_RUN_SANDBOX', message: `cannot start the supervisor: ${err.message}` })));
  });
  pipe.destroy();
  child.unref();
  let msg: { ok?: unknown; code?: unknown; message?: unknown } = {};
  try {
    msg = JSON.parse(line) as typeof msg;
  } catch {
    msg = { ok: false, code: 'TSB_RUN_SANDBOX', message: `the supervisor exited before the container started (see ${paths.supervisorLog})` };
  }
  if (msg.ok === true) return;
  const code = typeof msg.code === 'string' && msg.code.startsWith('TSB_') ? msg.code : 'TSB_RUN_SANDBOX';
  const message = typeof msg.message === 'string' ? msg.message : 'the container could not be started';
  // Keep the supervisor's code (TSB_RUN_PORT_IN_USE, TSB_RUN_EXEC, …) for the exit status and scripts.
  const err = code.startsWith('TSB_RUN_') || code.startsWith('TSB_CONTAINER_')
    ? new ContainerError(code as ConstructorParameters<typeof ContainerError>[0], message)
    : new ReportedError(code, message);
  throw err;
}
