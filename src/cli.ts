// The entry point: picks the command, runs it, and is the one place that
// turns errors into messages and exit codes (see EXIT in errors.ts).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatCommandHelp, formatFlags, GLOBAL_FLAGS, parseCommandLine, type CommandSpec } from './cli/command-line.js';
import { COMMANDS } from './cli/command-specs.js';
import { CliError, EXIT, exitCodeFor, isCodedError } from './errors.js';
import { processIo, type Io } from './io.js';
import { formatSnippet } from './render/error-snippet.js';
import type { SourceRange } from '../parser/index.js';

type Handler = (cmd: ReturnType<typeof parseCommandLine>, io: Io) => Promise<number>;

function lazy(load: () => Promise<Handler>): Handler {
  return async (cmd, io) => (await load())(cmd, io);
}

// Each command's module loads when it runs: a command pays only for what it
// uses (the build's and the registry's dependencies alone take ~300 ms to
// load, more than `run --rm IMAGE true` may take in all).
const HANDLERS: Record<string, Handler> = {
  build: lazy(async () => (await import('./commands/build.js')).buildCommand),
  images: lazy(async () => (await import('./commands/images.js')).imagesCommand),
  tag: lazy(async () => (await import('./commands/tag.js')).tagCommand),
  rmi: lazy(async () => (await import('./commands/rmi.js')).rmiCommand),
  inspect: lazy(async () => (await import('./commands/inspect.js')).inspectCommand),
  prune: lazy(async () => (await import('./commands/prune.js')).pruneCommand),
  save: lazy(async () => (await import('./commands/save.js')).saveCommand),
  load: lazy(async () => (await import('./commands/load.js')).loadCommand),
  pull: lazy(async () => (await import('./commands/pull.js')).pullCommand),
  push: lazy(async () => (await import('./commands/push.js')).pushCommand),
  login: lazy(async () => (await import('./commands/login.js')).loginCommand),
  logout: lazy(async () => (await import('./commands/logout.js')).logoutCommand),
  run: lazy(async () => (await import('./commands/run.js')).runCommand),
  ps: lazy(async () => (await import('./commands/ps.js')).psCommand),
  logs: lazy(async () => (await import('./commands/logs.js')).logsCommand),
  stop: lazy(async () => (await import('./commands/stop.js')).stopCommand),
  kill: lazy(async () => (await import('./commands/kill.js')).killCommand),
  rm: lazy(async () => (await import('./commands/rm.js')).rmCommand),
  exec: lazy(async () => (await import('./commands/exec.js')).execCommand),
  volume: lazy(async () => (await import('./commands/volume.js')).volumeCommand),
};

function version(): string {
  const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
  return pkg.version;
}

function generalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length)) + 3;
  return [
    'Usage: tsbuild [OPTIONS] COMMAND',
    '',
    'A daemonless container image builder and runner.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}${c.summary}${c.status === 'planned' ? ' (not implemented yet)' : ''}`),
    '',
    'Global options:',
    formatFlags([...GLOBAL_FLAGS, { name: 'version', type: 'boolean', description: 'print the version and exit' }]),
    '',
    "Run 'tsbuild COMMAND --help' for more information on a command.",
    '',
  ].join('\n');
}

/** Global flags may come before the command name: `tsbuild --root /x build .` */
function splitCommand(argv: string[]): { global: string[]; name: string | undefined; rest: string[] } {
  const global: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--root' || a === '--insecure-registry') {
      global.push(a, argv[++i] ?? '');
    } else if (a.startsWith('-')) {
      global.push(a);
    } else {
      return { global, name: a, rest: argv.slice(i + 1) };
    }
  }
  return { global, name: undefined, rest: [] };
}

function printError(e: unknown, io: Io, debug: boolean, sources: Map<string, string>): void {
  if (!isCodedError(e)) {
    io.err(`tsbuild: internal error: ${(e as Error)?.message ?? String(e)}\n`);
    io.err(`${(e as Error)?.stack ?? ''}\nThis is a bug in tsbuild; please report it with the command line and the output above.\n`);
    return;
  }
  const range = (e as { range?: SourceRange }).range;
  const file = (e as { file?: string }).file ?? 'Dockerfile';
  const where = range ? `${file}:${range.start.line}:${range.start.column}: ` : '';
  io.err(`ERROR: ${where}${e.message} (${e.code})\n`);
  const text = sources.get('dockerfile');
  if (range && text !== undefined) io.err(formatSnippet(text, range) + '\n');
  if (debug && e.stack) io.err(e.stack + '\n');
  if (e.code.startsWith('TSB_INTERNAL')) io.err('This is a bug in tsbuild; please report it.\n');
}

export async function run(argv: string[], io: Io): Promise<number> {
  const { global, name, rest } = splitCommand(argv);
  const debug = global.includes('--debug') || rest.includes('--debug');
  const sources = new Map<string, string>();
  try {
    if (global.includes('--version')) {
      io.out(`tsbuild ${version()}\n`);
      return EXIT.ok;
    }
    if (name === undefined) {
      io.out(generalHelp());
      return global.includes('--help') || global.includes('-h') ? EXIT.ok : EXIT.usage;
    }
    const spec: CommandSpec | undefined = COMMANDS.find((c) => c.name === name);
    if (!spec) throw new CliError('TSB_CLI_USAGE', `unknown command "${name}"; run 'tsbuild --help' for the list`);
    const parsed = parseCommandLine(spec, [...global.filter((g) => g !== '--debug'), ...rest]);
    if (parsed.values.help) {
      io.out(formatCommandHelp(spec));
      return EXIT.ok;
    }
    const handler = HANDLERS[spec.name];
    if (!handler || spec.status === 'planned') {
      throw new CliError('TSB_CLI_NOT_IMPLEMENTED', `tsbuild ${spec.name} is not implemented yet`);
    }
    return await handler(parsed, { ...io, recordSource: (kind, text) => void sources.set(kind, text) });
  } catch (e) {
    printError(e, io, debug, sources);
    return exitCodeFor(e);
  }
}

export async function main(argv: string[]): Promise<void> {
  // Ctrl-C / SIGTERM abort the running command, which cleans up after
  // itself; a second signal exits at once.
  const controller = new AbortController();
  // A foreground container gets the signals instead (Io.trapSignals).
  let forward: ((sig: NodeJS.Signals) => void) | null = null;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (forward !== null) return forward(sig);
    if (controller.signal.aborted) process.exit(sig === 'SIGINT' ? 130 : 143);
    controller.abort(new CliError('TSB_CLI_INTERRUPTED', `interrupted by ${sig}`));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const trapSignals = (fn: (sig: NodeJS.Signals) => void): (() => void) => {
    const extra = ['SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'] as const;
    forward = fn;
    for (const sig of extra) process.on(sig, fn);
    return () => {
      forward = null;
      for (const sig of extra) process.off(sig, fn);
    };
  };
  const code = await run(argv, { ...processIo(controller.signal), trapSignals });
  process.exitCode = controller.signal.aborted ? 130 : code;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
}
