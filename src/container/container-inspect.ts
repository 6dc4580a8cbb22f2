// `inspect` of a container: docker's object shape, from config and state.
import type { ContainerRecord } from './containers.js';
import { liveState } from './container-state.js';
import { containerPaths } from './layout.js';
import { formatPort } from './port-spec.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';
const NS_PER_MS = 1_000_000;

export function inspectContainer(root: string, rec: ContainerRecord): Record<string, unknown> {
  const { config } = rec;
  const state = liveState(rec.state);
  const paths = containerPaths(root, config.id);
  const portMap: Record<string, Array<{ HostIp: string; HostPort: string }> | null> = {};
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
  for (const p of config.ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    (bindings[key] ??= []).push({ HostIp: p.hostIp, HostPort: p.hostPort === 0 ? '' : String(p.hostPort) });
  }
  if (state.status === 'running') {
    for (const p of state.ports) (portMap[`${p.containerPort}/${p.protocol}`] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.hostPort) });
  }
  for (const port of Object.keys(config.imageConfig.ExposedPorts ?? {})) {
    const key = port.includes('/') ? port : `${port}/tcp`;
    if (!(key in portMap)) portMap[key] = null;
  }
  const net = state.status === 'running' ? state.network : null;
  const hc = config.healthcheck;
  return {
    Id: config.id,
    Created: config.created,
    Path: [...config.entrypoint, ...config.cmd][0] ?? '',
    Args: [...config.entrypoint, ...config.cmd].slice(1),
    State: {
      Status: state.status,
      Running: state.status === 'running',
      Paused: false,
      Restarting: false,
      OOMKilled: state.oomKilled,
      Dead: false,
      Pid: state.status === 'running' ? (state.init?.pid ?? 0) : 0,
      ExitCode: state.exitCode ?? 0,
      Error: state.error,
      StartedAt: state.startedAt ?? ZERO_TIME,
      FinishedAt: state.finishedAt ?? ZERO_TIME,
      ...(state.health !== null
        ? {
            Health: {
              Status: state.health.status,
              FailingStreak: state.health.failingStreak,
              Log: state.health.log.map((l) => ({ Start: l.start, End: l.end, ExitCode: l.exitCode, Output: l.output })),
            },
          }
        : {}),
    },
    Image: config.image.id,
    ResolvConfPath: '',
    HostnamePath: '',
    HostsPath: '',
    LogPath: paths.log,
    Name: `/${config.name}`,
    Driver: 'overlay',
    Platform: 'linux',
    HostConfig: {
      Binds: config.mounts.filter((m) => !m.anonymous).map((m) => `${m.type === 'bind' ? m.source : m.name}:${m.target}${m.readonly ? ':ro' : ''}`),
      NetworkMode: config.network === 'default' ? 'bridge' : config.network,
      PortBindings: bindings,
      AutoRemove: config.autoRemove,
      Memory: config.limits.memory ?? 0,
      NanoCpus: config.limits.cpus !== undefined ? Math.round(config.limits.cpus * 1e9) : 0,
      PidsLimit: config.limits.pids ?? null,
      ReadonlyRootfs: config.readonly,
      Init: config.init,
      CgroupParent: config.cgroupParent,
    },
    GraphDriver: {
      Name: 'overlay',
      Data: { LowerDir: config.lowerDirs.join(':'), UpperDir: paths.upper, WorkDir: paths.work },
    },
    Mounts: config.mounts.map((m) => ({
      Type: m.type,
      ...(m.type === 'volume' ? { Name: m.name, Driver: 'local' } : {}),
      Source: m.source,
      Destination: m.target,
      Mode: m.readonly ? 'ro' : '',
      RW: !m.readonly,
    })),
    Config: {
      Hostname: config.hostname,
      User: config.user,
      AttachStdin: config.openStdin,
      Tty: config.tty,
      OpenStdin: config.openStdin,
      Env: config.env,
      Cmd: config.cmd,
      Entrypoint: config.entrypoint.length > 0 ? config.entrypoint : null,
      Image: config.image.text,
      Volumes: config.imageConfig.Volumes ?? null,
      WorkingDir: config.workdir,
      Labels: config.imageConfig.Labels ?? {},
      StopSignal: config.stopSignal,
      ExposedPorts: config.imageConfig.ExposedPorts ?? {},
      ...(hc !== null
        ? {
            Healthcheck: {
              Test: hc.test,
              Interval: hc.intervalMs * NS_PER_MS,
              Timeout: hc.timeoutMs * NS_PER_MS,
              StartPeriod: hc.startPeriodMs * NS_PER_MS,
              StartInterval: hc.startIntervalMs * NS_PER_MS,
              Retries: hc.retries,
            },
          }
        : {}),
    },
    NetworkSettings: {
      SandboxKey: net?.netnsPath ?? '',
      Ports: portMap,
      PortsText: (state.status === 'running' ? state.ports : []).map(formatPort),
      Gateway: net?.gateway ?? '',
      IPAddress: net?.ip ?? '',
      IPPrefixLen: net?.prefixLen ?? 0,
      MacAddress: net?.mac ?? '',
      Bridge: net?.bridge ?? '',
    },
  };
}
