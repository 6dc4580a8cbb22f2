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

/** Validate a flag list for a keyword; returns an error message or null. */
export function checkFlags(kind: InstructionKind, flags: readonly Flag[]): { flag: Flag; message: string } | null {
  const spec = FLAG_SPECS[kind] ?? {};
  const seen = new Set<string>();
  for (const flag of flags) {
    const type = spec[flag.name];
    if (type === undefined) return { flag, message: `unknown flag: --${flag.name} for ${kind}` };
    if (type !== 'list') {
      if (seen.has(flag.name)) return { flag, message: `duplicate flag specified: --${flag.name}` };
      seen.add(flag.name);
    }
    if (type === 'bool') {
      if (flag.value !== null && flag.value !== 'true' && flag.value !== 'false') {
        return { flag, message: `expecting boolean value for flag --${flag.name}, not: ${flag.value}` };
      }
    } else if (flag.value === null) {
      return { flag, message: `missing a value on flag: --${flag.name}` };
    }
  }
  return null;
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
