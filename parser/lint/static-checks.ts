// Checks that need only the parsed text, not expansion: casing and layout.
import type { Dockerfile, Instruction } from '../instructions.js';
import type { SourceRange } from '../source-range.js';
import { rules, type LintRule } from './rules.js';

export interface StaticFinding {
  rule: LintRule<any[]>;
  range: SourceRange;
  args: any[];
}

function keywordOf(instr: Instruction): string {
  return /^\s*(\S+)/.exec(instr.original)?.[1] ?? '';
}

export function lintDockerfile(df: Dockerfile): StaticFinding[] {
  const out: StaticFinding[] = [];
  const all: Instruction[] = [...df.globalArgs];
  for (const s of df.stages) all.push(s.from, ...s.instructions);
  all.sort((a, b) => a.range.start.line - b.range.start.line);

  let upper = 0;
  let lower = 0;
  for (const i of all) {
    const k = keywordOf(i);
    if (k === k.toUpperCase()) upper++;
    else if (k === k.toLowerCase()) lower++;
  }
  const majority = lower > upper ? 'lowercase' : 'uppercase';
  for (const i of all) {
    const k = keywordOf(i);
    const ok = majority === 'uppercase' ? k === k.toUpperCase() : k === k.toLowerCase();
    if (!ok) out.push({ rule: rules.ConsistentInstructionCasing, range: i.range, args: [k, majority] });
  }

  for (const s of df.stages) {
    const from = s.from;
    const words = from.original.trim().split(/\s+/);
    const fromKw = words[0] ?? '';
    const asKw = words.find((w, idx) => idx > 0 && w.toLowerCase() === 'as');
    if (asKw !== undefined) {
      const fromUpper = fromKw === fromKw.toUpperCase();
      const asUpper = asKw === asKw.toUpperCase();
      if (fromUpper !== asUpper) out.push({ rule: rules.FromAsCasing, range: from.range, args: [fromKw, asKw] });
    }
  }

  const escape = df.directives.escape;
  for (const i of all) {
    const lines = i.original.split('\n');
    for (let l = 1; l < lines.length; l++) {
      const prev = (lines[l - 1] ?? '').replace(/[ \t]+$/, '');
      if (prev.endsWith(escape) && (lines[l] ?? '').trim() === '' && l + 1 < lines.length) {
        out.push({ rule: rules.NoEmptyContinuation, range: i.range, args: [] });
        break;
      }
    }
  }
  return out;
}
