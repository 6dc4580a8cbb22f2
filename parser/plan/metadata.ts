// Instructions that only change the image config (and history): they never
// create steps (STYLE practice 3).
import { DockerfileError } from '../errors.js';
import type {
  ArgInstruction, CmdInstruction, EntrypointInstruction, EnvInstruction, ExposeInstruction,
  HealthcheckInstruction, LabelInstruction, MaintainerInstruction, OnbuildInstruction, ShellInstruction,
  StopsignalInstruction, UserInstruction, VolumeInstruction, CommandLine,
} from '../instructions.js';
import type { HealthConfig } from '../graph.js';
import { flagString, findFlag } from '../flags.js';
import { rules } from '../lint/rules.js';
import type { Planner, StageState } from './context.js';
import { goDuration, goList, goQuoteList, goSetMap, parseGoDuration } from './go-format.js';
import { PROXY_ARGS } from './scope.js';

const SECRET_RE = /(?:api.?key|auth|credential|password|passphrase|passwd|pswd|secret|token)/i;
const NOT_SECRET_RE = /(?:public|file|path|dir|url|endpoint|user|name|id$)/i;

export function isSecretName(name: string): boolean {
  return SECRET_RE.test(name) && !NOT_SECRET_RE.test(name);
}

function history(state: StageState, createdBy: string): void {
  state.history.push({ createdBy, emptyLayer: true });
}

function countOnce(p: Planner, state: StageState, kind: string, range: import('../source-range.js').SourceRange): void {
  const n = (state.seen.get(kind) ?? 0) + 1;
  state.seen.set(kind, n);
  if (n > 1) p.report(rules.MultipleInstructionsDisallowed, range, kind);
}

export function shellArgs(state: StageState, command: CommandLine): string[] {
  if (command.form === 'exec') return command.args;
  return [...(state.config.Shell ?? ['/bin/sh', '-c']), command.text];
}

export function planEnv(p: Planner, state: StageState, instr: EnvInstruction): void {
  if (instr.legacyForm) p.report(rules.LegacyKeyValueFormat, instr.range, 'ENV');
  const lint = state.envKnown;
  const resolved = instr.pairs.map(({ key, value }) => ({
    key: p.expand(key, state.scope, instr.range, lint),
    value: p.expand(value, state.scope, instr.range, lint),
  }));
  for (const { key, value } of resolved) {
    if (key === '') throw new DockerfileError('TSB_DOCKERFILE_ARGS', 'ENV names can not be blank', instr.range);
    if (isSecretName(key)) p.report(rules.SecretsUsedInArgOrEnv, instr.range, 'ENV', key);
    state.scope.env.set(key, value);
  }
  state.config.Env = state.scope.env.toList();
  history(state, 'ENV ' + resolved.map(({ key, value }) => `${key}=${value}`).join(' '));
}

export function planLabel(p: Planner, state: StageState, instr: LabelInstruction): void {
  if (instr.legacyForm) p.report(rules.LegacyKeyValueFormat, instr.range, 'LABEL');
  const labels = { ...(state.config.Labels ?? {}) };
  const parts: string[] = [];
  for (const { key, value } of instr.pairs) {
    const k = p.expand(key, state.scope, instr.range, state.envKnown);
    const v = p.expand(value, state.scope, instr.range, state.envKnown);
    if (k === '') throw new DockerfileError('TSB_DOCKERFILE_ARGS', 'LABEL names can not be blank', instr.range);
    labels[k] = v;
    parts.push(`${JSON.stringify(k)}=${JSON.stringify(v)}`);
  }
  state.config.Labels = labels;
  history(state, 'LABEL ' + parts.join(' '));
}

export function planArg(p: Planner, state: StageState, instr: ArgInstruction, globals: Map<string, string | undefined>): void {
  const parts: string[] = [];
  for (const { name, value } of instr.args) {
    if (isSecretName(name)) p.report(rules.SecretsUsedInArgOrEnv, instr.range, 'ARG', name);
    let v: string | undefined;
    if (p.buildArgs.has(name)) {
      v = p.buildArgs.get(name);
      p.usedBuildArgs.add(name);
    } else if (value !== null) {
      v = p.expand(value, state.scope, instr.range, state.envKnown);
    } else if (globals.has(name)) {
      v = globals.get(name);
    }
    state.scope.args.set(name, v);
    parts.push(v === undefined ? name : `${name}=${v}`);
  }
  history(state, 'ARG ' + parts.join(' '));
}

export function planCmd(p: Planner, state: StageState, instr: CmdInstruction | EntrypointInstruction): void {
  countOnce(p, state, instr.kind, instr.range);
  if (instr.command.form === 'shell') p.report(rules.JSONArgsRecommended, instr.range, instr.kind);
  const args = shellArgs(state, instr.command);
  if (instr.kind === 'CMD') {
    state.config.Cmd = args;
    state.cmdSet = true;
  } else {
    state.config.Entrypoint = args;
    if (!state.cmdSet) state.config.Cmd = null;
  }
  history(state, `${instr.kind} ${goQuoteList(args)}`);
}

export function planShell(_p: Planner, state: StageState, instr: ShellInstruction): void {
  state.config.Shell = instr.args;
  history(state, `SHELL ${goList(instr.args)}`);
}

export function parsePortSpec(p: Planner, spec: string, range: import('../source-range.js').SourceRange): string[] {
  let rest = spec;
  let proto = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    proto = rest.slice(slash + 1);
    rest = rest.slice(0, slash);
    if (proto !== proto.toLowerCase()) p.report(rules.ExposeProtoCasing, range, spec);
    proto = proto.toLowerCase();
  }
  if (!['tcp', 'udp', 'sctp'].includes(proto)) {
    throw new DockerfileError('TSB_DOCKERFILE_ARGS', `invalid proto "${proto}" in EXPOSE ${spec}: expected tcp, udp or sctp`, range);
  }
  if (rest.includes(':')) {
    p.report(rules.ExposeInvalidFormat, range, spec);
    rest = rest.slice(rest.lastIndexOf(':') + 1);
  }
  const m = /^(\d+)(?:-(\d+))?$/.exec(rest);
  const start = Number(m?.[1]);
  const end = m?.[2] === undefined ? start : Number(m[2]);
  if (!m || start < 1 || start > 65535 || end < start || end > 65535) {
    throw new DockerfileError('TSB_DOCKERFILE_ARGS', `invalid port "${spec}" in EXPOSE: expected PORT[-PORT][/PROTO] with ports 1-65535`, range);
  }
  const ports: string[] = [];
  for (let port = start; port <= end; port++) ports.push(`${port}/${proto}`);
  return ports;
}

export function planExpose(p: Planner, state: StageState, instr: ExposeInstruction): void {
  const exposed = { ...(state.config.ExposedPorts ?? {}) };
  const added: string[] = [];
  for (const word of instr.ports) {
    for (const spec of p.expandWords(word, state.scope, instr.range, state.envKnown)) {
      for (const port of parsePortSpec(p, spec, instr.range)) {
        exposed[port] = {};
        added.push(port);
      }
    }
  }
  state.config.ExposedPorts = exposed;
  history(state, `EXPOSE ${goSetMap([...new Set(added)])}`);
}

export function planVolume(p: Planner, state: StageState, instr: VolumeInstruction): void {
  const volumes = { ...(state.config.Volumes ?? {}) };
  const added: string[] = [];
  for (const word of instr.paths) {
    const path = p.expand(word, state.scope, instr.range, state.envKnown).trim();
    if (path === '') throw new DockerfileError('TSB_DOCKERFILE_ARGS', 'VOLUME specified can not be an empty string', instr.range);
    volumes[path] = {};
    added.push(path);
  }
  state.config.Volumes = volumes;
  history(state, `VOLUME ${goList(added)}`);
}

export function planUser(p: Planner, state: StageState, instr: UserInstruction): void {
  const user = p.expand(instr.user, state.scope, instr.range, state.envKnown);
  state.config.User = user;
  history(state, `USER ${user}`);
}

const SIGNALS = new Set([
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF', 'PWR',
  'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'URG', 'USR1', 'USR2', 'VTALRM', 'WINCH',
  'XCPU', 'XFSZ',
]);

export function planStopsignal(p: Planner, state: StageState, instr: StopsignalInstruction): void {
  const signal = p.expand(instr.signal, state.scope, instr.range, state.envKnown);
  const name = signal.toUpperCase().replace(/^SIG/, '');
  const rt = /^RTM(IN|AX)([+-]\d+)?$/.test(name);
  const num = /^\d+$/.test(signal) && Number(signal) > 0 && Number(signal) < 65;
  if (!SIGNALS.has(name) && !rt && !num) {
    throw new DockerfileError('TSB_DOCKERFILE_ARGS', `invalid signal: ${signal}`, instr.range);
  }
  state.config.StopSignal = signal;
  history(state, `STOPSIGNAL ${signal}`);
}

export function planHealthcheck(p: Planner, state: StageState, instr: HealthcheckInstruction): void {
  countOnce(p, state, 'HEALTHCHECK', instr.range);
  if (instr.command === null) {
    state.config.Healthcheck = { Test: ['NONE'] };
    history(state, `HEALTHCHECK &{["NONE"] "0s" "0s" "0s" "0s" '\\x00'}`);
    return;
  }
  const test = instr.command.form === 'exec' ? ['CMD', ...instr.command.args] : ['CMD-SHELL', instr.command.text];
  const hc: HealthConfig = { Test: test };
  const durations: Array<[string, 'Interval' | 'Timeout' | 'StartPeriod' | 'StartInterval']> = [
    ['interval', 'Interval'], ['timeout', 'Timeout'], ['start-period', 'StartPeriod'], ['start-interval', 'StartInterval'],
  ];
  const values: number[] = [];
  for (const [flag, field] of durations) {
    const raw = flagString(instr, flag);
    let ns = 0;
    if (raw !== null) {
      const parsed = parseGoDuration(raw);
      const range = findFlag(instr, flag)?.range ?? instr.range;
      if (parsed === null) throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', `invalid duration for --${flag}: ${raw}`, range);
      if (parsed < 0) throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', `--${flag} cannot be negative`, range);
      if (parsed > 0 && parsed < 1e6) throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', `--${flag} cannot be less than 1ms`, range);
      ns = parsed;
      if (ns > 0) hc[field] = ns;
    }
    values.push(ns);
  }
  const retriesRaw = flagString(instr, 'retries');
  let retries = 0;
  if (retriesRaw !== null) {
    if (!/^-?\d+$/.test(retriesRaw)) {
      throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', `invalid --retries: ${retriesRaw}`, findFlag(instr, 'retries')?.range ?? instr.range);
    }
    retries = Number(retriesRaw);
    if (retries < 0) throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', '--retries cannot be negative', findFlag(instr, 'retries')?.range ?? instr.range);
    if (retries > 0) hc.Retries = retries;
  }
  state.config.Healthcheck = hc;
  const q = values.map((v) => JSON.stringify(goDuration(v))).join(' ');
  history(state, `HEALTHCHECK &{${goQuoteList(test)} ${q} '\\x${retries.toString(16).padStart(2, '0')}'}`);
}

export function planOnbuild(_p: Planner, state: StageState, instr: OnbuildInstruction): void {
  state.config.OnBuild = [...(state.config.OnBuild ?? []), instr.expression];
  history(state, `ONBUILD ${instr.expression}`);
}

export function planMaintainer(p: Planner, state: StageState, instr: MaintainerInstruction): void {
  p.report(rules.MaintainerDeprecated, instr.range);
  state.author = instr.name;
  history(state, `MAINTAINER ${instr.name}`);
}

export function proxyEnv(p: Planner): string[] {
  const out: string[] = [];
  for (const name of PROXY_ARGS) {
    const v = p.buildArgs.get(name);
    if (v !== undefined) {
      out.push(`${name}=${v}`);
      p.usedBuildArgs.add(name);
    }
  }
  return out;
}
