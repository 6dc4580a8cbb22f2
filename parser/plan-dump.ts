// A stable, human-readable dump of a BuildGraph for golden files: steps get
// short indices in order of first use instead of hashes, so goldens only
// change when the plan does.
import type { BuildGraph, FileSource, Step, StepId } from './graph.js';

export function formatPlan(graph: BuildGraph): string {
  const index = new Map<StepId, number>();
  const num = (id: StepId): string => {
    let n = index.get(id);
    if (n === undefined) {
      n = index.size;
      index.set(id, n);
    }
    return `#${n}`;
  };
  const src = (f: FileSource | null): string =>
    f === null ? 'none' : f.type === 'context' ? 'context' : f.type === 'step' ? `stage${f.stage}:${num(f.step)}` : `image:${f.ref}`;
  const out: string[] = [];
  out.push(`target: stage ${graph.target}`);
  const printed = new Set<StepId>();
  for (const stage of graph.stages) {
    const base = stage.base.type === 'stage' ? `stage ${stage.base.index}` : num(stage.base.step);
    out.push(`stage ${stage.index}${stage.name ? ` "${stage.name}"` : ''} base=${base} platform=${stage.platform} @${stage.range.start.line}`);
    const ids = stage.base.type === 'source' ? [stage.base.step, ...stage.steps] : stage.steps;
    for (const id of ids) {
      const step = graph.steps[id] as Step;
      if (printed.has(id)) {
        out.push(`  ${num(id)} (shared)`);
        continue;
      }
      printed.add(id);
      out.push(`  ${num(id)} ${describe(step, num, src)} @${step.range?.start.line ?? '-'}`);
    }
    out.push(`  result: ${num(stage.result)}`);
    out.push(`  config: ${JSON.stringify(stage.config)}`);
    if (stage.author !== null) out.push(`  author: ${stage.author}`);
    for (const h of stage.history) out.push(`  history: ${h.emptyLayer ? '(empty) ' : ''}${oneLine(h.createdBy)}`);
  }
  out.push(`output: ${num(graph.output)}`);
  if (graph.unusedBuildArgs.length > 0) out.push(`unused build args: ${graph.unusedBuildArgs.join(', ')}`);
  for (const w of graph.warnings) out.push(`${w.level}: ${w.rule}${w.range ? ` @${w.range.start.line}` : ''}: ${w.message}`);
  return out.join('\n') + '\n';
}

/** Keep one record per line: text with control characters is shown JSON-quoted. */
function oneLine(text: string): string {
  return /[\u0000-\u001f]/.test(text) ? JSON.stringify(text) : text;
}

function describe(step: Step, num: (id: StepId) => string, src: (f: FileSource | null) => string): string {
  switch (step.kind) {
    case 'source':
      return step.source.type === 'scratch'
        ? 'source scratch'
        : `source image ${step.source.ref}${step.source.platform ? ` platform=${step.source.platform}` : ''}`;
    case 'exec': {
      const parts = [`exec <- ${num(step.input)}`, `args=${JSON.stringify(step.args)}`, `env=${JSON.stringify(step.env)}`,
        `cwd=${step.cwd}`];
      if (step.user) parts.push(`user=${step.user}`);
      if (step.network !== 'default') parts.push(`network=${step.network}`);
      if (step.security !== 'sandbox') parts.push(`security=${step.security}`);
      if (step.proxyEnv.length) parts.push(`proxy=${JSON.stringify(step.proxyEnv)}`);
      for (const m of step.mounts) {
        const { type, ...rest } = m;
        const shown: Record<string, unknown> = { ...rest };
        if ('from' in rest) shown['from'] = src(rest.from);
        if ('mode' in rest) shown['mode'] = '0' + rest.mode.toString(8);
        parts.push(`mount=${type}${JSON.stringify(shown)}`);
      }
      for (const f of step.inlineFiles) parts.push(`file=${f.path}:${f.mode.toString(8)}:${JSON.stringify(f.content)}`);
      return parts.join(' ');
    }
    case 'copy': {
      const parts = [`${step.op} <- ${step.input === null ? 'scratch' : num(step.input)}`];
      if (step.op !== 'mkdir') parts.push(`from=${src(step.from)}`, `src=${JSON.stringify(step.sources)}`);
      parts.push(`dest=${step.dest}`);
      if (step.chown !== null) parts.push(`chown=${step.chown}`);
      if (step.chmod !== null) parts.push(`chmod=${step.chmod}`);
      if (step.link) parts.push('link');
      if (step.parents) parts.push('parents');
      if (step.exclude.length) parts.push(`exclude=${JSON.stringify(step.exclude)}`);
      if (step.checksum !== null) parts.push(`checksum=${step.checksum}`);
      if (step.keepGitDir) parts.push('keep-git-dir');
      if (step.unpack !== null) parts.push(`unpack=${step.unpack}`);
      return parts.join(' ');
    }
    case 'merge':
      return `merge ${step.inputs.map(num).join(' + ')}`;
  }
}
