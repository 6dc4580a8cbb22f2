// What the image commands (images, tag, rmi, inspect, prune, save, load)
// share: opening the store named by --root, printing names as docker does,
// and reporting several failures from one command.
import { tryParseReference } from '../../registry/index.js';
import type { ParsedCommand } from '../cli/command-line.js';
import type { Io } from '../io.js';
import { resolveRoot } from '../root.js';
import { openStore, type ContentStore } from '../store/index.js';

export function openCommandStore(cmd: ParsedCommand, io: Io): Promise<ContentStore> {
  return openStore(resolveRoot(cmd.values, io.env));
}

/** A stored (canonical) name as docker prints it: `busybox:latest`. */
export function familiar(name: string): string {
  return tryParseReference(name)?.familiar() ?? name;
}

/** `sha256:<64 hex>` → the 12-character short ID docker prints. */
export function shortId(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/**
 * Run `each` over every argument, continuing past failures as docker does;
 * every failure but the last is printed here, the last is rethrown for the
 * top-level printer (which sets the exit status).
 */
export async function forEachArgument(args: readonly string[], io: Io, each: (arg: string) => Promise<void>): Promise<void> {
  const failures: unknown[] = [];
  for (const arg of args) {
    try {
      await each(arg);
    } catch (err) {
      failures.push(err);
    }
  }
  const last = failures.pop();
  for (const err of failures) {
    const e = err as { message?: string; code?: string };
    io.err(`ERROR: ${e.message ?? String(err)}${e.code ? ` (${e.code})` : ''}\n`);
  }
  if (last !== undefined) throw last;
}
