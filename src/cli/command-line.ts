// One typed flag table per command drives parsing (node:util parseArgs),
// validation and --help, so help can never disagree with what is accepted.
// A flag whose feature is not built yet is listed but rejected when used:
// never silently ignored.
import { parseArgs } from 'node:util';
import { CliError } from '../errors.js';

export interface FlagSpec {
  name: string;
  short?: string;
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** Placeholder shown in help, e.g. "ref". */
  value?: string;
  description: string;
  choices?: readonly string[];
  /** 'planned': accepted by the table, rejected at run time until implemented. */
  status?: 'ok' | 'planned';
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Positional part of the usage line, e.g. "[OPTIONS] CONTEXT". */
  usage: string;
  flags: FlagSpec[];
  positionals: { min: number; max: number | null };
  /** Everything after the first positional belongs to it (run IMAGE CMD...). */
  stopAtPositional?: boolean;
  status?: 'ok' | 'planned';
}

export type FlagValues = Record<string, string | boolean | string[] | undefined>;

export interface ParsedCommand {
  values: FlagValues;
  positionals: string[];
}

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'root', type: 'string', value: 'dir', description: 'state directory (default: $TSBUILD_ROOT, /var/lib/tsbuild for root, else $XDG_DATA_HOME/tsbuild)' },
  { name: 'debug', type: 'boolean', description: 'print stack traces and internal details on errors' },
  { name: 'insecure-registry', type: 'string', multiple: true, value: 'host', description: 'talk plain HTTP to this registry host[:port] (repeatable; loopback always is)' },
  { name: 'help', short: 'h', type: 'boolean', description: 'show help' },
];

function splitAtPositional(spec: CommandSpec, argv: string[]): [string[], string[]] {
  const all = [...GLOBAL_FLAGS, ...spec.flags];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') return [argv.slice(0, i), argv.slice(i + 1)];
    if (!a.startsWith('-') || a === '-') return [argv.slice(0, i), argv.slice(i)];
    if (a.includes('=')) continue;
    const flag = a.startsWith('--') ? all.find((f) => f.name === a.slice(2)) : all.find((f) => f.short === a.slice(1));
    if (flag?.type === 'string') i++;
  }
  return [argv, []];
}

export function parseCommandLine(spec: CommandSpec, argv: string[]): ParsedCommand {
  const [flagPart, rest] = spec.stopAtPositional ? splitAtPositional(spec, argv) : [argv, []];
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const f of [...GLOBAL_FLAGS, ...spec.flags]) {
    options[f.name] = { type: f.type, ...(f.short ? { short: f.short } : {}), ...(f.multiple ? { multiple: true } : {}) };
  }
  let parsed: { values: FlagValues; positionals: string[] };
  try {
    parsed = parseArgs({ args: flagPart, options, allowPositionals: true, strict: true }) as typeof parsed;
  } catch (e) {
    const msg = (e as Error).message.replace(/\. To specify a positional argument.*$/s, '');
    throw new CliError('TSB_CLI_USAGE', `tsbuild ${spec.name}: ${msg}`);
  }
  const positionals = [...parsed.positionals, ...rest];
  if (parsed.values.help) return { values: parsed.values, positionals };
  for (const f of spec.flags) {
    const v = parsed.values[f.name];
    if (v === undefined) continue;
    if (f.status === 'planned') {
      throw new CliError('TSB_CLI_NOT_IMPLEMENTED', `tsbuild ${spec.name}: --${f.name} is not implemented yet`);
    }
    if (f.choices) {
      for (const one of Array.isArray(v) ? v : [v]) {
        if (typeof one === 'string' && !f.choices.includes(one)) {
          throw new CliError('TSB_CLI_USAGE', `tsbuild ${spec.name}: invalid --${f.name} "${one}": expected one of ${f.choices.join(', ')}`);
        }
      }
    }
  }
  if (positionals.length < spec.positionals.min) {
    throw new CliError('TSB_CLI_USAGE', `tsbuild ${spec.name}: requires ${spec.positionals.min === 1 ? 'exactly 1 argument' : `at least ${spec.positionals.min} arguments`}\nUsage: tsbuild ${spec.name} ${spec.usage}`);
  }
  if (spec.positionals.max !== null && positionals.length > spec.positionals.max) {
    throw new CliError('TSB_CLI_USAGE', `tsbuild ${spec.name}: too many arguments: ${positionals.slice(spec.positionals.max).join(' ')}\nUsage: tsbuild ${spec.name} ${spec.usage}`);
  }
  return { values: parsed.values, positionals };
}

function flagLabel(f: FlagSpec): string {
  const long = `--${f.name}${f.type === 'string' ? ` ${f.value ?? 'string'}` : ''}`;
  return f.short ? `-${f.short}, ${long}` : `    ${long}`;
}

export function formatFlags(flags: readonly FlagSpec[]): string {
  const labels = flags.map(flagLabel);
  const width = Math.max(...labels.map((l) => l.length)) + 2;
  return flags
    .map((f, i) => {
      const extra = [f.multiple ? '(repeatable)' : '', f.status === 'planned' ? '(not implemented yet)' : ''].filter(Boolean).join(' ');
      return `  ${(labels[i] as string).padEnd(width)}${f.description}${extra ? ' ' + extra : ''}`;
    })
    .join('\n');
}

export function formatCommandHelp(spec: CommandSpec): string {
  return [
    `Usage: tsbuild ${spec.name} ${spec.usage}`,
    '',
    spec.summary + (spec.status === 'planned' ? ' (not implemented yet)' : ''),
    '',
    'Options:',
    formatFlags(spec.flags),
    '',
    'Global options:',
    formatFlags(GLOBAL_FLAGS),
    '',
  ].join('\n');
}

export function str(values: FlagValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function list(values: FlagValues, name: string): string[] {
  const v = values[name];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
}

export function bool(values: FlagValues, name: string): boolean {
  return values[name] === true;
}
