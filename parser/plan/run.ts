// RUN → ExecStep.
import { DockerfileError } from '../errors.js';
import { flagList, flagString, findFlag } from '../flags.js';
import type { ExecStep, FileSource, InlineFile, RunMount } from '../graph.js';
import type { RunInstruction } from '../instructions.js';
import type { Planner, StageState } from './context.js';
import { proxyEnv, shellArgs } from './metadata.js';
import { MountSpecError, parseMount } from './mounts.js';

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function planRun(p: Planner, state: StageState, instr: RunInstruction): void {
  let args = shellArgs(state, instr.command);
  const inlineFiles: InlineFile[] = [];
  if (instr.heredocs.length > 0) {
    if (instr.command.form !== 'shell') {
      throw new DockerfileError('TSB_DOCKERFILE_HEREDOC', 'heredocs can only be used with the shell form of RUN', instr.range);
    }
    const first = instr.heredocs[0]!;
    const onlyHeredoc = /^\d*<<-?\s*["']?[^\s"']+["']?\s*$/.test(instr.command.text.trim());
    if (onlyHeredoc && instr.heredocs.length === 1) {
      // Like BuildKit: a lone heredoc with a shebang becomes an executable
      // file; otherwise its body is the shell script.
      if (first.content.startsWith('#!')) {
        inlineFiles.push({ path: `/dev/pipes/${first.name}`, content: first.content, mode: 0o755 });
        args = [`/dev/pipes/${first.name}`];
      } else {
        args = [...args.slice(0, -1), first.content];
      }
    } else {
      // The shell handles the heredocs itself: hand it the whole text back.
      let full = args[args.length - 1] as string;
      for (const h of instr.heredocs) full += '\n' + h.content + h.name;
      args = [...args.slice(0, -1), full];
    }
  }

  const network = flagString(instr, 'network') ?? p.options.network ?? 'default';
  if (network !== 'default' && network !== 'none' && network !== 'host') {
    throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', `invalid --network=${network}: expected default, none or host`,
      findFlag(instr, 'network')?.range ?? instr.range);
  }
  const security = flagString(instr, 'security') ?? 'sandbox';
  if (security !== 'sandbox' && security !== 'insecure') {
    throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', `invalid --security=${security}: expected sandbox or insecure`,
      findFlag(instr, 'security')?.range ?? instr.range);
  }
  if (security === 'insecure' && !p.options.allowInsecure) {
    throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', 'RUN --security=insecure needs the build flag --allow security.insecure',
      findFlag(instr, 'security')?.range ?? instr.range);
  }

  const cwd = state.config.WorkingDir || '/';
  const mounts: RunMount[] = flagList(instr, 'mount').map((flag) => {
    const spec = p.expand(flag.value ?? '', state.scope, flag.range, state.envKnown);
    try {
      return parseMount(spec, {
        cwd,
        resolveFrom: (value): FileSource => {
          const r = p.resolveFrom(value, flag.range, state.index);
          return r.type === 'stage' ? { type: 'step', step: r.step, stage: r.index } : r;
        },
      });
    } catch (e) {
      if (e instanceof MountSpecError) {
        throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', `invalid --mount=${spec}: ${e.message}`, flag.range);
      }
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

  const env = [...state.scope.env.toList(), ...state.scope.argEnv()];
  if (!env.some((kv) => kv.startsWith('PATH='))) env.push(`PATH=${DEFAULT_PATH}`);
  const argHistory = state.scope.argEnv();
  const cmdString = (argHistory.length > 0 ? `|${argHistory.length} ${argHistory.join(' ')} ` : '') + args.join(' ');

  const step: Omit<ExecStep, 'id'> = {
    kind: 'exec',
    stage: state.index,
    range: instr.range,
    name: `RUN ${instr.command.form === 'exec' ? JSON.stringify(instr.command.args) : instr.command.text}`,
    input: state.current,
    args,
    env,
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
