// Checks that need only the parsed text, not expansion: layout and casing.
// Emitted in BuildKit's order: empty continuation lines (parser), stage
// name and AS casing (instruction parsing), reserved stage names, then the
// keyword casing of the whole file.
import type { Dockerfile, Instruction } from '../instructions.js';
import type { SourceRange } from '../source-range.js';
import { rules, type LintRule } from './rules.js';

export interface StaticFinding {
  rule: LintRule<any[]>;
  range: SourceRange;
  args: any[];
}

function isSelfConsistent(s: string): boolean {
  return s === s.toLowerCase() || s === s.toUpperCase();
}

export function lintDockerfile(df: Dockerfile): StaticFinding[] {
  const out: StaticFinding[] = [];
  const all: Instruction[] = [...df.globalArgs];
  for (const s of df.stages) all.push(s.from, ...s.instructions);
  all.sort((a, b) => a.range.start.line - b.range.start.line);

  for (const i of all) {
    if (i.emptyContinuation) {
      const end = i.range.end.line;
      out.push({ rule: rules.NoEmptyContinuation, range: { start: { line: end, column: 1 }, end: { line: end, column: 1 } }, args: [] });
    }
  }

  for (const s of df.stages) {
    const from = s.from;
    if (from.stageName !== null && from.stageName !== from.stageName.toLowerCase()) {
      out.push({ rule: rules.StageNameCasing, range: from.range, args: [from.stageName] });
    }
    if (from.asKeyword !== null) {
      const fromLower = from.keyword === from.keyword.toLowerCase();
      const ok = fromLower ? from.asKeyword === from.asKeyword.toLowerCase() : from.asKeyword === from.asKeyword.toUpperCase();
      if (!ok) out.push({ rule: rules.FromAsCasing, range: from.range, args: [from.keyword, from.asKeyword] });
    }
  }

  for (const s of df.stages) {
    const name = s.from.stageName?.toLowerCase();
    if (name === 'scratch' || name === 'context') out.push({ rule: rules.ReservedStageName, range: s.from.range, args: [name] });
  }

  // BuildKit counts only stages and their commands, not the ARGs before the first FROM.
  const counted: Instruction[] = df.stages.flatMap((s) => [s.from, ...s.instructions]);
  let upper = 0;
  let lower = 0;
  for (const i of counted) {
    if (!isSelfConsistent(i.keyword)) continue;
    if (i.keyword === i.keyword.toLowerCase()) lower++;
    else upper++;
  }
  const majorityLower = lower > upper;
  for (const i of counted) {
    const k = i.keyword;
    if (majorityLower && k !== k.toLowerCase()) out.push({ rule: rules.ConsistentInstructionCasing, range: i.range, args: [k, 'lowercase'] });
    else if (!majorityLower && k !== k.toUpperCase()) out.push({ rule: rules.ConsistentInstructionCasing, range: i.range, args: [k, 'uppercase'] });
  }
  return out;
}
