// Where containers, volumes and the network's state live under the root.
//
//   containers/<id>/config.json      what was asked for (ContainerConfig)
//   containers/<id>/state.json       what is happening (ContainerState), atomic
//   containers/<id>/container.log    output, JSON lines {stream, time, data}
//   containers/<id>/supervisor.log   the detached supervisor's own stderr
//   containers/<id>/upper, work      the writable overlay layer
//   container-names/<name>           the owning container's ID (O_EXCL: names are unique)
//   volumes/<name>/_data             a volume's content; volumes/<name>/meta.json
//   network/<bridge>/leases/<ip>     IPAM: the owning container's ID
//   network/<bridge>/lock            mutual exclusion for IPAM and bridge setup
import { join } from 'node:path';

export interface ContainerPaths {
  dir: string;
  config: string;
  state: string;
  log: string;
  supervisorLog: string;
  upper: string;
  work: string;
  /** Lower dir for an image without layers (overlayfs needs one). */
  empty: string;
}

export const containersDir = (root: string): string => join(root, 'containers');
export const namesDir = (root: string): string => join(root, 'container-names');
export const volumesDir = (root: string): string => join(root, 'volumes');
export const networkDir = (root: string, bridge: string): string => join(root, 'network', bridge);

export function containerPaths(root: string, id: string): ContainerPaths {
  const dir = join(containersDir(root), id);
  return {
    dir,
    config: join(dir, 'config.json'),
    state: join(dir, 'state.json'),
    log: join(dir, 'container.log'),
    supervisorLog: join(dir, 'supervisor.log'),
    upper: join(dir, 'upper'),
    work: join(dir, 'work'),
    empty: join(dir, 'empty'),
  };
}
