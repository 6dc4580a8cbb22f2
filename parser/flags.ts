// Which flags each instruction accepts (BuildKit's BFlags definitions), and
// typed access to them once validated.
import type { Flag, Instruction, InstructionKind } from './instructions.js';

export type FlagType = 'string' | 'bool' | 'list';

export const FLAG_SPECS: Partial<Record<InstructionKind, Record<string, FlagType>>> = {
  FROM: { platform: 'string' },
  RUN: { mount: 'list', network: 'string', security: 'string' },
  COPY: { from: 'string', chown: 'string', chmod: 'string', link: 'bool', parents: 'bool', exclude: 'list' },
  ADD: {
    chown: 'string',
    chmod: 'string',
    link: 'bool',
    'keep-git-dir': 'bool',
    checksum: 'string',
    exclude: 'list',
    unpack: 'bool',
  },
  HEALTHCHECK: {
    interval: 'string',
    timeout: 'string',
    'start-period': 'string',
    'start-interval': 'string',
    retries: 'string',
  },
};

/**
 * Validate a flag list for a keyword like BuildKit's BFlags.Parse: unknown
 * flags, repeated non-list flags, string flags without `=value`, and
 * booleans other than true/false (any case; a bare `--link` is true).
 * Returns the flags with boolean values normalised to "true"/"false".
 */
export function checkFlags(kind: InstructionKind, flags: readonly Flag[]): { flags: Flag[] } | { flag: Flag; problem: string } {
  const spec = FLAG_SPECS[kind] ?? {};
  const seen = new Set<string>();
  const out: Flag[] = [];
  for (const flag of flags) {
    const type = Object.hasOwn(spec, flag.name) ? spec[flag.name] : undefined;
    if (type === undefined) return { flag, problem: `unknown flag: --${flag.name} for ${kind}` };
    if (type !== 'list') {
      if (seen.has(flag.name)) return { flag, problem: `duplicate flag specified: --${flag.name}` };
      seen.add(flag.name);
    }
    if (type === 'bool') {
      if (flag.value === '') return { flag, problem: `missing a value on flag: --${flag.name}` };
      const v = flag.value === null ? 'true' : flag.value.toLowerCase();
      if (v !== 'true' && v !== 'false') {
        return { flag, problem: `expecting boolean value for flag --${flag.name}, not: ${flag.value ?? ''}` };
      }
      out.push({ ...flag, value: v });
    } else {
      if (flag.value === null) return { flag, problem: `missing a value on flag: --${flag.name}` };
      out.push(flag);
    }
  }
  return { flags: out };
}

export function flagString(instr: Instruction, name: string): string | null {
  return instr.flags.find((f) => f.name === name)?.value ?? null;
}

export function flagBool(instr: Instruction, name: string): boolean {
  const flag = instr.flags.find((f) => f.name === name);
  return flag !== undefined && flag.value !== 'false';
}

export function flagList(instr: Instruction, name: string): Flag[] {
  return instr.flags.filter((f) => f.name === name);
}

export function findFlag(instr: Instruction, name: string): Flag | undefined {
  return instr.flags.find((f) => f.name === name);
}
