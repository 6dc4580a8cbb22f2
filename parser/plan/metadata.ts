// Instructions that only change the image config, the stage's variables and
// the history: they never create steps (STYLE practice 3). Each follows the
// matching dispatch* function of BuildKit's dockerfile2llb/convert.go,
// history text included.
import { DockerfileError } from '../errors.js';
import type {
  ArgInstruction, CmdInstruction, CommandLine, EntrypointInstruction, EnvInstruction, ExposeInstruction,
  HealthcheckInstruction, LabelInstruction, MaintainerInstruction, OnbuildInstruction, ShellInstruction,
  StopsignalInstruction, UserInstruction, VolumeInstruction,
} from '../instructions.js';
import type { HealthConfig, ImageConfig } from '../graph.js';
import { rules } from '../lint/rules.js';
import type { SourceRange } from '../source-range.js';
import type { Planner, StageState, Trackers } from './context.js';
import { goDuration, goList, goQuote, goQuoteList, goQuoteRune } from './go-format.js';

// BuildKit validateNoSecretKey: a whole word of the name (split on `_`) is a secret token.
const SECRET_RE = /(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)/i;
const ALLOW_RE = /(?:_|^)(?:public)(?:_|$)/i;

export function isSecretName(name: string): boolean {
  return SECRET_RE.test(name) && !ALLOW_RE.test(name);
}

function history(state: StageState, createdBy: string): void {
  state.history.push({ createdBy, emptyLayer: true });
}

/** MultipleInstructionsDisallowed points at the earlier instruction, the one that is ignored. */
function usedOnce(p: Planner, state: StageState, kind: keyof Trackers, range: SourceRange): void {
  const previous = state.trackers[kind];
  if (previous !== null) p.report(rules.MultipleInstructionsDisallowed, previous, kind);
  state.trackers[kind] = range;
}

/** withShell: the shell form runs under SHELL (or /bin/sh -c) as one string. */
export function shellArgs(config: ImageConfig, command: CommandLine): string[] {
  if (command.form === 'exec') return command.args;
  const shell = config.Shell && config.Shell.length > 0 ? config.Shell : ['/bin/sh', '-c'];
  return [...shell, command.text];
}

/** addEnv: replace in place, or append. */
function setConfigEnv(config: ImageConfig, key: string, value: string): void {
  const env = config.Env ?? [];
  const prefix = key + '=';
  const at = env.findIndex((kv) => kv.startsWith(prefix) || kv === key);
  if (at >= 0) env[at] = `${key}=${value}`;
  else env.push(`${key}=${value}`);
  config.Env = env;
}

export function planEnv(p: Planner, state: StageState, instr: EnvInstruction): void {
  // Expansion happens for all pairs first, against the environment before this ENV.
  const resolved = instr.pairs.map(({ key, value }) => ({
    key: p.expand(key, state, instr.range),
    value: p.expand(value, state, instr.range),
  }));
  const parts: string[] = [];
  for (const { key, value } of resolved) {
    if (instr.legacyForm) p.report(rules.LegacyKeyValueFormat, instr.range, 'ENV');
    if (key === '') throw new DockerfileError('TSB_DOCKERFILE_ARGS', 'ENV names can not be blank', instr.range);
    if (isSecretName(key)) p.report(rules.SecretsUsedInArgOrEnv, instr.range, 'ENV', key);
    parts.push(`${key}=${value}`);
    state.scope.env.set(key, value);
    setConfigEnv(state.config, key, value);
  }
  history(state, 'ENV ' + parts.join(' '));
}

export function planLabel(p: Planner, state: StageState, instr: LabelInstruction): void {
  const resolved = instr.pairs.map(({ key, value }) => ({
    key: p.expand(key, state, instr.range),
    value: p.expand(value, state, instr.range),
  }));
  // The stage owns its config (cloned from its base), so it is updated in place.
  const labels = (state.config.Labels ??= {});
  const parts: string[] = [];
  for (const { key, value } of resolved) {
    if (instr.legacyForm) p.report(rules.LegacyKeyValueFormat, instr.range, 'LABEL');
    if (key === '') throw new DockerfileError('TSB_DOCKERFILE_ARGS', 'LABEL names can not be blank', instr.range);
    labels[key] = value;
    parts.push(`${key}=${value}`);
  }
  history(state, 'LABEL ' + parts.join(' '));
}

/**
 * BuildKit dispatchArg: --build-arg wins, then the default (expanded now),
 * then the global ARG of the same name. A value goes into the stage's
 * environment (where it replaces an ENV of the same name until the next
 * ENV), never into the image config.
 */
export function planArg(p: Planner, state: StageState, instr: ArgInstruction): void {
  const parts: string[] = [];
  for (const { name, value } of instr.args) {
    if (isSecretName(name)) p.report(rules.SecretsUsedInArgOrEnv, instr.range, 'ARG', name);
    let v: string | undefined;
    if (p.buildArgs.has(name)) {
      v = p.buildArgs.get(name);
      p.usedBuildArgs.add(name);
    } else if (value !== null) {
      v = p.expand(value, state, instr.range);
    } else {
      v = p.globals.get(name);
    }
    if (v !== undefined && name !== 'BUILDKIT_SBOM_SCAN_CONTEXT' && name !== 'BUILDKIT_SBOM_SCAN_STAGE') state.scope.env.set(name, v);
    state.scope.declare(name, v);
    parts.push(v === undefined ? name : `${name}=${v}`);
  }
  history(state, 'ARG ' + parts.join(' '));
}

export function planCmd(p: Planner, state: StageState, instr: CmdInstruction | EntrypointInstruction): void {
  usedOnce(p, state, instr.kind, instr.range);
  if (instr.command.form === 'shell' && !(state.config.Shell && state.config.Shell.length > 0)) {
    p.report(rules.JSONArgsRecommended, instr.range, instr.kind);
  }
  const args = shellArgs(state.config, instr.command);
  if (instr.kind === 'CMD') {
    // Go's omitempty: `CMD []` leaves no Cmd in the config.
    if (args.length === 0) delete state.config.Cmd;
    else state.config.Cmd = args;
    state.config.ArgsEscaped = true;
  } else {
    // `ENTRYPOINT []` clears it; an ENTRYPOINT drops a CMD not set in this stage.
    if (instr.command.form === 'exec' && args.length === 0) delete state.config.Entrypoint;
    else state.config.Entrypoint = args;
    if (state.trackers.CMD === null) delete state.config.Cmd;
  }
  history(state, `${instr.kind} ${goQuoteList(instr.kind === 'ENTRYPOINT' && args.length === 0 ? null : args)}`);
}

export function planShell(_p: Planner, state: StageState, instr: ShellInstruction): void {
  state.config.Shell = instr.args;
  history(state, `SHELL ${goList(instr.args)}`);
}

const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function isIp(ip: string): boolean {
  if (IPV4.test(ip)) return true;
  // IPv6: hex groups with at most one "::", optionally ending in IPv4.
  if (!/^[0-9a-fA-F:.]+$/.test(ip) || !ip.includes(':')) return false;
  const double = ip.split('::').length - 1;
  if (double > 1) return false;
  const groups = ip.split(':').filter((g) => g !== '');
  return groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g) || IPV4.test(g)) && groups.length <= 8 && (double === 1 || groups.length >= 7);
}

/** strconv.ParseUint(v, 10, 16) */
function parsePort(text: string): number | null {
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return n <= 65535 ? n : null;
}

function parsePortRange(text: string): [number, number] | null {
  if (text === '') return null;
  if (!text.includes('-')) {
    const n = parsePort(text);
    return n === null ? null : [n, n];
  }
  const parts = text.split('-');
  if (parts.length !== 2) return null;
  const start = parsePort(parts[0] as string);
  const end = parsePort(parts[1] as string);
  if (start === null || end === null || end < start) return null;
  return [start, end];
}

/** BuildKit parsePortSpec: `[[ip:]host:]port[-port][/proto]` → `port/proto` entries. */
export function parsePortSpec(p: Planner, spec: string, range: SourceRange): string[] {
  const bad = (why: string): never => {
    throw new DockerfileError('TSB_DOCKERFILE_ARGS', `invalid EXPOSE ${spec}: ${why}`, range);
  };
  const parts = spec.split(':');
  let ip = '';
  let hostPort = '';
  const containerRaw = parts[parts.length - 1] as string;
  if (parts.length === 2) hostPort = parts[0] as string;
  else if (parts.length >= 3) {
    ip = parts.slice(0, -2).join(':');
    hostPort = parts[parts.length - 2] as string;
  }
  if (parts.length > 1) p.report(rules.ExposeInvalidFormat, range, spec);
  const slash = containerRaw.indexOf('/');
  const port = slash < 0 ? containerRaw : containerRaw.slice(0, slash);
  const protoRaw = slash < 0 ? '' : containerRaw.slice(slash + 1);
  if (port === '') bad('no port specified');
  if (protoRaw !== protoRaw.toLowerCase()) p.report(rules.ExposeProtoCasing, range, spec);
  const proto = protoRaw.toLowerCase() || 'tcp';
  if (!['tcp', 'udp', 'sctp'].includes(proto)) bad(`invalid proto: ${proto}`);
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  if (ip !== '' && !isIp(ip)) bad(`invalid IP address: ${ip}`);
  const range_ = parsePortRange(port);
  if (range_ === null) return bad(`invalid containerPort: ${port}`);
  const [start, end] = range_;
  if (hostPort !== '') {
    const host = parsePortRange(hostPort);
    if (host === null) return bad(`invalid hostPort: ${hostPort}`);
    if (end - start !== host[1] - host[0] && end !== start) bad(`invalid ranges specified for container and host Ports: ${port} and ${hostPort}`);
  }
  const ports: string[] = [];
  for (let n = start; n <= end; n++) ports.push(`${n}/${proto}`);
  return ports;
}

export function planExpose(p: Planner, state: StageState, instr: ExposeInstruction): void {
  const specs = instr.ports.flatMap((word) => p.expandWords(word, state, instr.range));
  const added = specs.flatMap((spec) => parsePortSpec(p, spec, instr.range));
  const exposed = (state.config.ExposedPorts ??= {});
  for (const port of added) exposed[port] = {};
  history(state, `EXPOSE ${goList(added)}`);
}

export function planVolume(p: Planner, state: StageState, instr: VolumeInstruction): void {
  const added = instr.paths.map((word) => p.expand(word, state, instr.range));
  for (const path of added) {
    if (path === '') throw new DockerfileError('TSB_DOCKERFILE_ARGS', 'VOLUME specified can not be an empty string', instr.range);
  }
  const volumes = (state.config.Volumes ??= {});
  for (const path of added) volumes[path] = {};
  history(state, `VOLUME ${goList(added)}`);
}

export function planUser(p: Planner, state: StageState, instr: UserInstruction): void {
  const user = p.expand(instr.user, state, instr.range);
  state.config.User = user;
  history(state, `USER ${user}`);
}

// moby/sys/signal SignalMap for Linux.
const SIGNALS = new Set([
  'ABRT', 'ALRM', 'BUS', 'CHLD', 'CLD', 'CONT', 'FPE', 'HUP', 'ILL', 'INT', 'IO', 'IOT', 'KILL', 'PIPE', 'POLL', 'PROF', 'PWR',
  'QUIT', 'SEGV', 'STKFLT', 'STOP', 'SYS', 'TERM', 'TRAP', 'TSTP', 'TTIN', 'TTOU', 'UNUSED', 'URG', 'USR1', 'USR2', 'VTALRM',
  'WINCH', 'XCPU', 'XFSZ', 'RTMIN', 'RTMAX',
  ...Array.from({ length: 15 }, (_, i) => `RTMIN+${i + 1}`),
  ...Array.from({ length: 14 }, (_, i) => `RTMAX-${14 - i}`),
]);

/** moby/sys/signal ParseSignal: a non-zero number, or a name with or without SIG. */
export function isValidSignal(signal: string): boolean {
  if (/^[+-]?\d+$/.test(signal)) {
    const n = Number(signal);
    return n !== 0 && Math.abs(n) <= 2 ** 63;
  }
  return SIGNALS.has(signal.toUpperCase().replace(/^SIG/, ''));
}

export function planStopsignal(p: Planner, state: StageState, instr: StopsignalInstruction): void {
  const signal = p.expand(instr.signal, state, instr.range);
  if (!isValidSignal(signal)) throw new DockerfileError('TSB_DOCKERFILE_ARGS', `Invalid signal: ${signal}`, instr.range);
  state.config.StopSignal = signal;
  history(state, `STOPSIGNAL ${signal}`);
}

export function planHealthcheck(p: Planner, state: StageState, instr: HealthcheckInstruction): void {
  usedOnce(p, state, 'HEALTHCHECK', instr.range);
  // Not expanded, like BuildKit: the test runs in the container's shell.
  const test = instr.command === null ? ['NONE'] : instr.command.form === 'exec' ? ['CMD', ...instr.command.args] : ['CMD-SHELL', instr.command.text];
  const hc: HealthConfig = { Test: test };
  if (instr.interval) hc.Interval = instr.interval;
  if (instr.timeout) hc.Timeout = instr.timeout;
  if (instr.startPeriod) hc.StartPeriod = instr.startPeriod;
  if (instr.startInterval) hc.StartInterval = instr.startInterval;
  if (instr.retries) hc.Retries = instr.retries;
  state.config.Healthcheck = hc;
  // fmt.Sprintf("HEALTHCHECK %q", &HealthcheckConfig{…})
  const durations = [instr.interval, instr.timeout, instr.startPeriod, instr.startInterval].map((ns) => goQuote(goDuration(ns)));
  history(state, `HEALTHCHECK &{${goQuoteList(test)} ${durations.join(' ')} ${goQuoteRune(instr.retries)}}`);
}

/** ONBUILD only records the trigger; BuildKit adds no history entry for it. */
export function planOnbuild(_p: Planner, state: StageState, instr: OnbuildInstruction): void {
  state.config.OnBuild = [...(state.config.OnBuild ?? []), instr.expression];
}

export function planMaintainer(p: Planner, state: StageState, instr: MaintainerInstruction): void {
  p.report(rules.MaintainerDeprecated, instr.range);
  state.author = instr.name;
  history(state, `MAINTAINER ${instr.name}`);
}

/**
 * Proxy --build-args (any case) for RUN: passed to the command in both
 * spellings, like BuildKit's ProxyEnv, but kept out of the cache key and the
 * history unless the Dockerfile declares them with ARG.
 */
export function proxyEnv(p: Planner): string[] {
  const out: string[] = [];
  for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'FTP_PROXY', 'NO_PROXY', 'ALL_PROXY']) {
    let value: string | undefined;
    for (const [k, v] of p.buildArgs) {
      if (k.toUpperCase() === name) {
        value = v;
        p.usedBuildArgs.add(k);
      }
    }
    if (value !== undefined) out.push(`${name}=${value}`, `${name.toLowerCase()}=${value}`);
  }
  return out;
}
