// `run` up to the start: everything is validated before anything is made
// (ports, volumes, name, command, user), then the volumes, then the record.
// A failure leaves nothing behind but named volumes made on first use.
import { mkdir, readFile } from 'node:fs/promises';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import {
  resolveProcess,
  envHas,
  parseEnvFile,
  type ContainerConfig,
  type ContainerLimits,
  type NetworkMode,
} from './container-config.js';
import { newContainerId, randomContainerName, validateContainerName } from './container-id.js';
import { createContainerRecord, findContainer } from './containers.js';
import { ContainerError, isContainerError } from './errors.js';
import type { ImageFiles, RunImage } from './run-image.js';
import { parsePortSpec, type PortSpec } from './port-spec.js';
import { parseVolumeSpec, type MountConfig, type VolumeSpec } from './volume-spec.js';
import { ensureVolume, removeVolumeDir } from './volumes.js';

export interface RunOptions {
  /** CMD override (positionals after IMAGE). */
  args: string[];
  name?: string;
  autoRemove: boolean;
  publish: string[];
  volumes: string[];
  env: string[];
  envFiles: string[];
  workdir?: string;
  user?: string;
  entrypoint?: string;
  hostname?: string;
  limits: ContainerLimits;
  network: NetworkMode;
  readonly: boolean;
  init: boolean;
  interactive: boolean;
  tty: boolean;
  cgroupParent: string;
  callerEnv: NodeJS.ProcessEnv;
  warn(message: string): void;
}

async function nameIsFree(root: string, name: string): Promise<boolean> {
  try {
    await findContainer(root, name);
    return false;
  } catch (err) {
    if (isContainerError(err, 'TSB_CONTAINER_NOT_FOUND')) return true;
    throw err;
  }
}

async function envFileLines(files: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    try {
      out.push(...parseEnvFile(await readFile(f, 'utf8')));
    } catch (err) {
      throw new ContainerError('TSB_RUN_INVALID_OPTION', `cannot read --env-file ${f}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  }
  return out;
}

export async function createContainer(root: string, image: RunImage, files: ImageFiles, opts: RunOptions): Promise<ContainerConfig> {
  // 1. Everything that can be wrong with the command line.
  let ports: PortSpec[] = opts.publish.flatMap(parsePortSpec);
  if (ports.length > 0 && opts.network !== 'default') {
    opts.warn(`Published ports are discarded when using ${opts.network} network mode`);
    ports = [];
  }
  const volumeSpecs: VolumeSpec[] = opts.volumes.map(parseVolumeSpec);
  const targets = new Set<string>();
  for (const v of volumeSpecs) {
    if (targets.has(v.target)) throw new ContainerError('TSB_RUN_INVALID_VOLUME', `duplicate mount point: ${v.target}`);
    targets.add(v.target);
  }
  let name: string;
  if (opts.name !== undefined) {
    name = validateContainerName(opts.name);
    if (!(await nameIsFree(root, name))) {
      throw new ContainerError('TSB_RUN_NAME_IN_USE', `the container name "/${name}" is already in use: remove (or rename) that container to reuse the name`);
    }
  } else {
    // A clash is caught when the name is reserved (then another is tried).
    name = randomContainerName();
  }
  const id = newContainerId();
  const hostname = opts.hostname ?? (opts.network === 'host' ? hostHostname() : id.slice(0, 12));
  const proc = resolveProcess(image.config, {
    args: opts.args,
    ...(opts.entrypoint !== undefined ? { entrypoint: opts.entrypoint } : {}),
    env: opts.env,
    envFileLines: await envFileLines(opts.envFiles),
    ...(opts.workdir !== undefined ? { workdir: opts.workdir } : {}),
    ...(opts.user !== undefined ? { user: opts.user } : {}),
    hostname,
    tty: opts.tty,
    callerEnv: opts.callerEnv,
  }, hostname);

  // 2. The user, from the image's /etc/passwd and /etc/group.
  const user = await files.user(proc.user);
  if (!envHas(proc.env, 'HOME')) proc.env.push(`HOME=${user.home}`);
  const groups = [...user.groups];

  // 3. Volumes: binds (host directories made when missing, like docker), named and anonymous ones.
  const mounts: MountConfig[] = [];
  const madeAnonymous: string[] = [];
  try {
    for (const v of volumeSpecs) {
      if (v.kind === 'bind') {
        await mkdir(v.source, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'EEXIST' && err.code !== 'ENOTDIR') {
            throw new ContainerError('TSB_RUN_INVALID_VOLUME', `bind source ${v.source}: ${err.message}`, { cause: err });
          }
        });
        mounts.push({ type: 'bind', source: v.source, target: v.target, readonly: v.readonly, anonymous: false });
        continue;
      }
      const volName = v.kind === 'named' ? v.name : newContainerId();
      if (v.kind === 'anonymous') madeAnonymous.push(volName);
      const data = await ensureVolume(root, volName, { anonymous: v.kind === 'anonymous', image: v.nocopy ? null : files.fs, target: v.target });
      mounts.push({ type: 'volume', source: data, name: volName, target: v.target, readonly: v.readonly, anonymous: v.kind === 'anonymous' });
    }
    // The image's VOLUMEs not covered by a -v get anonymous volumes.
    for (const target of Object.keys(image.config.Volumes ?? {})) {
      const norm = target.replace(/\/+$/, '') || '/';
      if (norm === '/' || targets.has(norm)) continue;
      targets.add(norm);
      const volName = newContainerId();
      madeAnonymous.push(volName);
      const data = await ensureVolume(root, volName, { anonymous: true, image: files.fs, target: norm });
      mounts.push({ type: 'volume', source: data, name: volName, target: norm, readonly: false, anonymous: true });
    }

    const config: ContainerConfig = {
      version: 1,
      id,
      name,
      created: new Date().toISOString(),
      image: { text: image.text, ref: image.ref, id: image.id, manifestDigest: image.manifestDigest },
      lowerDirs: files.lowerDirs,
      entrypoint: proc.entrypoint,
      cmd: proc.cmd,
      env: proc.env,
      workdir: proc.workdir,
      user: proc.user,
      uid: user.uid,
      gid: user.gid,
      groups,
      hostname,
      tty: opts.tty,
      openStdin: opts.interactive,
      network: opts.network,
      ports,
      mounts,
      readonly: opts.readonly,
      init: opts.init,
      autoRemove: opts.autoRemove,
      limits: opts.limits,
      stopSignal: proc.stopSignal,
      healthcheck: proc.healthcheck,
      imageConfig: image.config,
      cgroupParent: opts.cgroupParent,
    };
    for (let attempt = 0; ; attempt++) {
      try {
        await createContainerRecord(root, config);
        break;
      } catch (err) {
        if (opts.name !== undefined || attempt > 20 || !isContainerError(err, 'TSB_RUN_NAME_IN_USE')) throw err;
        config.name = randomContainerName();
      }
    }
    if (config.lowerDirs.length === 0) await mkdir(join(root, 'containers', id, 'empty'));
    return config;
  } catch (err) {
    for (const v of madeAnonymous) await removeVolumeDir(root, v);
    throw err;
  }
}
