// What a container is made of (config.json), and the pure part of deriving
// it from the image config plus `run` options with docker's override rules:
//
//   --entrypoint X   replaces the image's Entrypoint and drops its Cmd
//                    ("" clears the Entrypoint); CMD args replace Cmd
//   -e / --env-file  override the image's Env per variable (--env-file
//                    first, then -e; `-e NAME` takes NAME from the caller's
//                    environment, and is dropped when it is unset)
//   -w               replaces WorkingDir (must be absolute)
//   -u               replaces User (resolved against the image's files)
//   --hostname       default: the first 12 characters of the ID
//
// PATH is docker's default when neither sets it, HOSTNAME is set, TERM=xterm
// with -t, HOME comes from the user's passwd entry when not given.
import type { HealthConfig, ImageConfig } from '../../parser/index.js';
import { ContainerError } from './errors.js';
import type { MountConfig } from './volume-spec.js';
import type { PortSpec } from './port-spec.js';
import { parseSignal } from './signals.js';

export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type NetworkMode = 'default' | 'none' | 'host';

export interface ContainerLimits {
  memory?: number;
  cpus?: number;
  pids?: number;
}

export interface ContainerImage {
  /** As typed on the command line (the IMAGE column of ps). */
  text: string;
  /** Canonical reference that matched. */
  ref: string;
  /** Config digest (docker's image ID). */
  id: string;
  manifestDigest: string;
}

export interface ContainerConfig {
  version: 1;
  id: string;
  name: string;
  /** ISO time. */
  created: string;
  image: ContainerImage;
  /** Layer snapshot directories, top first: the overlay's lower dirs. */
  lowerDirs: string[];
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workdir: string;
  /** As given (-u) or the image's USER; "" for root by default. */
  user: string;
  uid: number;
  gid: number;
  groups: number[];
  hostname: string;
  tty: boolean;
  openStdin: boolean;
  network: NetworkMode;
  ports: PortSpec[];
  mounts: MountConfig[];
  readonly: boolean;
  /** --init: recorded only (the sandbox's own init already reaps and forwards signals). */
  init: boolean;
  autoRemove: boolean;
  limits: ContainerLimits;
  stopSignal: NodeJS.Signals;
  healthcheck: Healthcheck | null;
  /** The image's config, for inspect. */
  imageConfig: ImageConfig;
  cgroupParent: string;
}

/** A HEALTHCHECK with docker's defaults applied; durations in ms. */
export interface Healthcheck {
  /** The command, exec form (CMD-SHELL becomes /bin/sh -c). */
  args: string[];
  /** The image's Test as stored, for inspect. */
  test: string[];
  intervalMs: number;
  timeoutMs: number;
  startPeriodMs: number;
  startIntervalMs: number;
  retries: number;
}

export interface ProcessOptions {
  args: string[];
  entrypoint?: string;
  env: string[];
  /** Lines read from --env-file files, in order. */
  envFileLines: string[];
  workdir?: string;
  user?: string;
  hostname?: string;
  tty: boolean;
  /** The caller's environment, for `-e NAME`. */
  callerEnv: NodeJS.ProcessEnv;
}

export interface ProcessConfig {
  entrypoint: string[];
  cmd: string[];
  env: string[];
  workdir: string;
  user: string;
  stopSignal: NodeJS.Signals;
  healthcheck: Healthcheck | null;
}

const NS_PER_MS = 1_000_000;

export function resolveHealthcheck(h: HealthConfig | undefined): Healthcheck | null {
  if (h === undefined || h.Test.length === 0) return null;
  const [kind, ...rest] = h.Test;
  let args: string[];
  if (kind === 'NONE') return null;
  if (kind === 'CMD') args = rest;
  else if (kind === 'CMD-SHELL') args = ['/bin/sh', '-c', rest.join(' ')];
  else return null;
  if (args.length === 0) return null;
  const ms = (ns: number | undefined, dflt: number): number => (ns !== undefined && ns > 0 ? Math.round(ns / NS_PER_MS) : dflt);
  return {
    args,
    test: h.Test,
    intervalMs: ms(h.Interval, 30_000),
    timeoutMs: ms(h.Timeout, 30_000),
    startPeriodMs: ms(h.StartPeriod, 0),
    startIntervalMs: ms(h.StartInterval, 5_000),
    retries: h.Retries !== undefined && h.Retries > 0 ? h.Retries : 3,
  };
}

/** Sets KEY=value, replacing an earlier KEY in place. */
function setEnv(env: string[], entry: string): void {
  const key = entry.slice(0, entry.indexOf('='));
  const at = env.findIndex((e) => e.slice(0, e.indexOf('=')) === key || e === key);
  if (at >= 0) env[at] = entry;
  else env.push(entry);
}

/** `-e` / --env-file entries: NAME=value as is; a bare NAME from the caller's environment. */
function envEntry(text: string, caller: NodeJS.ProcessEnv): string | null {
  if (text.includes('=')) {
    if (text.startsWith('=')) throw new ContainerError('TSB_RUN_INVALID_OPTION', `invalid environment variable "${text}"`);
    return text;
  }
  const v = caller[text];
  return v === undefined ? null : `${text}=${v}`;
}

export const envHas = (env: readonly string[], key: string): boolean => env.some((e) => e.startsWith(`${key}=`));

/** Entrypoint, command, environment and working directory: docker's rules (see above). */
export function resolveProcess(image: ImageConfig, opts: ProcessOptions, hostname: string): ProcessConfig {
  const entrypoint = opts.entrypoint !== undefined ? (opts.entrypoint === '' ? [] : [opts.entrypoint]) : (image.Entrypoint ?? []);
  const cmd = opts.args.length > 0 ? opts.args : opts.entrypoint !== undefined ? [] : (image.Cmd ?? []);
  if (entrypoint.length === 0 && cmd.length === 0) {
    throw new ContainerError('TSB_RUN_NO_COMMAND', 'no command specified: the image has no Entrypoint or Cmd and none was given');
  }
  const env: string[] = [];
  setEnv(env, `HOSTNAME=${hostname}`);
  for (const e of image.Env ?? []) if (e.includes('=')) setEnv(env, e);
  for (const line of opts.envFileLines) {
    const e = envEntry(line, opts.callerEnv);
    if (e !== null) setEnv(env, e);
  }
  for (const text of opts.env) {
    const e = envEntry(text, opts.callerEnv);
    if (e !== null) setEnv(env, e);
  }
  if (!envHas(env, 'PATH')) env.splice(0, 0, `PATH=${DEFAULT_PATH}`);
  if (opts.tty && !envHas(env, 'TERM')) env.push('TERM=xterm');

  const workdir = opts.workdir ?? (image.WorkingDir !== undefined && image.WorkingDir !== '' ? image.WorkingDir : '/');
  if (!workdir.startsWith('/')) {
    throw new ContainerError('TSB_RUN_INVALID_OPTION', `the working directory "${workdir}" is invalid: it needs to be an absolute path`);
  }
  let stopSignal: NodeJS.Signals = 'SIGTERM';
  if (image.StopSignal !== undefined && image.StopSignal !== '') stopSignal = parseSignal(image.StopSignal);
  return {
    entrypoint,
    cmd,
    env,
    workdir,
    user: opts.user ?? image.User ?? '',
    stopSignal,
    healthcheck: resolveHealthcheck(image.Healthcheck),
  };
}

/** --env-file: NAME=value or NAME lines; blank lines and # comments are skipped. */
export function parseEnvFile(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/\r$/, ''))
    .filter((l) => l.trim() !== '' && !l.trimStart().startsWith('#'))
    .map((l) => l.trimStart());
}
