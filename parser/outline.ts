// `--call=outline`: what a build of the target takes as input — build args
// with defaults and descriptions, secrets and ssh sockets — like BuildKit's
// outline subrequest. Descriptions come from the comment right above the
// instruction, BuildKit-style ("# NAME description").
import type { BuildGraph, Step } from './graph.js';
import type { Dockerfile, Instruction } from './instructions.js';

export interface Outline {
  target: string | null;
  description: string;
  args: { name: string; value: string | null; description: string }[];
  secrets: { id: string; required: boolean }[];
  ssh: { id: string; required: boolean }[];
}

function commentAbove(lines: readonly string[], instr: Instruction): string[] {
  const out: string[] = [];
  for (let l = instr.range.start.line - 2; l >= 0; l--) {
    const m = /^\s*#\s?(.*)$/.exec(lines[l] ?? '');
    if (!m) break;
    out.unshift((m[1] ?? '').trim());
  }
  return out;
}

function describe(lines: readonly string[], instr: Instruction, name: string): string {
  const comment = commentAbove(lines, instr);
  if (comment.length === 0) return '';
  const first = comment[0] as string;
  if (first.startsWith(name + ' ')) return [first.slice(name.length + 1), ...comment.slice(1)].join(' ').trim();
  return '';
}

export function outlineBuild(df: Dockerfile, graph: BuildGraph): Outline {
  const lines = df.text.split(/\r\n|\r|\n/);
  const target = graph.stages.find((s) => s.index === graph.target);
  const targetStage = df.stages[graph.target];
  const args: Outline['args'] = [];
  const seen = new Set<string>();
  const addArgs = (instr: Instruction): void => {
    if (instr.kind !== 'ARG') return;
    for (const a of instr.args) {
      if (seen.has(a.name)) continue;
      seen.add(a.name);
      args.push({ name: a.name, value: a.value, description: describe(lines, instr, a.name) });
    }
  };
  df.globalArgs.forEach(addArgs);
  for (const stage of graph.stages) df.stages[stage.index]?.instructions.forEach(addArgs);

  const secrets = new Map<string, boolean>();
  const ssh = new Map<string, boolean>();
  for (const stage of graph.stages) {
    for (const id of stage.steps) {
      const step = graph.steps[id] as Step;
      if (step.kind !== 'exec') continue;
      for (const m of step.mounts) {
        if (m.type === 'secret') secrets.set(m.id, (secrets.get(m.id) ?? false) || m.required);
        if (m.type === 'ssh') ssh.set(m.id, (ssh.get(m.id) ?? false) || m.required);
      }
    }
  }
  const name = target?.name ?? null;
  return {
    target: name,
    description: targetStage && name ? describe(lines, targetStage.from, name) : '',
    args,
    secrets: [...secrets].map(([id, required]) => ({ id, required })),
    ssh: [...ssh].map(([id, required]) => ({ id, required })),
  };
}
