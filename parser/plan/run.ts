// RUN → ExecStep, after BuildKit's dispatchRun.
import { DockerfileError, TsbuildError } from '../errors.js';
import { flagList, flagString, findFlag } from '../flags.js';
import type { ExecStep, FileSource, InlineFile, RunMount } from '../graph.js';
import type { RunInstruction } from '../instructions.js';
import { chompHeredoc, parseHeredocWord } from '../heredoc.js';
import type { Planner, StageState } from './context.js';
import { proxyEnv, shellArgs } from './metadata.js';
import { MountSpecError, parseMount } from './mounts.js';

export function planRun(p: Planner, state: StageState, instr: RunInstruction): void {
  let args: string[];
  const inlineFiles: InlineFile[] = [];
  const command = instr.command;
  if (command.form === 'shell' && instr.heredocs.length > 0) {
    const first = instr.heredocs[0]!;
    let only: ReturnType<typeof parseHeredocWord> = null;
    try {
      only = parseHeredocWord(command.text);
    } catch {
      only = null;
    }
    if (only !== null) {
      // The whole command is one heredoc. With a shebang it becomes an
      // executable file the shell runs; otherwise its body is the script.
      // (Expansion is never applied: the shell does it when it runs.)
      const data = first.chomp ? chompHeredoc(first.content) : first.content;
      if (first.content.startsWith('#!')) {
        const path = `/dev/pipes/${first.name}`;
        inlineFiles.push({ path, content: data, mode: 0o755 });
        args = shellArgs(state.config, { form: 'shell', text: path });
      } else {
        args = shellArgs(state.config, { form: 'shell', text: data });
      }
    } else {
      // The shell reads the heredocs itself: hand it the text back, bodies as written.
      let full = command.text;
      for (const h of instr.heredocs) full += '\n' + h.content + h.name;
      args = shellArgs(state.config, { form: 'shell', text: full });
    }
  } else {
    args = shellArgs(state.config, command);
  }

  // `--network=default` means the build's network mode, as in BuildKit.
  const flagNetwork = flagString(instr, 'network');
  const network = flagNetwork === null || flagNetwork === 'default' ? (p.options.network ?? 'default') : (flagNetwork as ExecStep['network']);
  const security = (flagString(instr, 'security') ?? 'sandbox') as ExecStep['security'];
  if (security === 'insecure' && !p.options.allowInsecure) {
    throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', 'RUN --security=insecure needs the build flag --allow security.insecure',
      findFlag(instr, 'security')?.range ?? instr.range);
  }

  const cwd = state.config.WorkingDir || '/';
  const mounts: RunMount[] = flagList(instr, 'mount').map((flag) => {
    const spec = flag.value ?? '';
    try {
      return parseMount(spec, {
        cwd,
        expand: (value) => p.expand(value, state, flag.range),
        resolveFrom: (value): FileSource => {
          const r = p.resolveFrom(value, flag.range, state);
          return r.type === 'stage' ? { type: 'step', step: r.step, stage: r.index } : r;
        },
      });
    } catch (e) {
      if (e instanceof MountSpecError) {
        throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', `invalid --mount=${spec}: ${e.message}`, flag.range);
      }
      if (e instanceof TsbuildError) throw e;
      throw e;
    }
  });
  const targets = new Set<string>();
  for (const m of mounts) {
    const t = m.target;
    if (t === null) continue;
    if (targets.has(t)) throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', `two --mount flags use the target ${t}`, instr.range);
    targets.add(t);
  }

  const argHistory = state.scope.historyArgs();
  const cmdString = [...(argHistory.length > 0 ? [`|${argHistory.length}`, ...argHistory] : []), ...args].join(' ');

  const step: Omit<ExecStep, 'id'> = {
    kind: 'exec',
    stage: state.index,
    range: instr.range,
    name: `RUN ${command.form === 'exec' ? JSON.stringify(command.args) : command.text}`,
    input: state.current,
    args,
    env: state.scope.env.toList(),
    proxyEnv: proxyEnv(p),
    cwd,
    user: state.config.User ?? '',
    network,
    security,
    mounts,
    inlineFiles,
  };
  const id = p.addStep(step);
  state.current = id;
  state.steps.push(id);
  state.history.push({ createdBy: `RUN ${cmdString} # buildkit`, emptyLayer: false });
}
