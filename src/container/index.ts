// src/container: container lifecycle for `tsbuild run` and the container
// commands (ps, logs, stop, kill, rm, exec, inspect, volume). Public surface.
export { ContainerError, isContainerError, type ContainerErrorCode } from './errors.js';
export type { ContainerConfig, NetworkMode, ContainerLimits, Healthcheck } from './container-config.js';
export { liveState, LOST_EXIT_CODE, type ContainerState, type ContainerStatus } from './container-state.js';
export { shortContainerId } from './container-id.js';
export { findContainer, listContainers, readRecord, type ContainerRecord } from './containers.js';
export { containerPaths } from './layout.js';
export { createContainer, type RunOptions } from './create-container.js';
export { RunImageCache, resolveRunImage, imageFiles, type RunImage, type ImageFiles } from './run-image.js';
export { superviseContainer, type SupervisorIo, type SupervisorOutcome } from './supervisor.js';
export { launchSupervisor } from './launch.js';
export { removeContainer } from './remove-container.js';
export { isRunning, signalContainer, stopContainer, waitForEnd } from './container-control.js';
export { parseSignal } from './signals.js';
export { readLog, followLog, type LogEntry } from './log-file.js';
export { inspectContainer } from './container-inspect.js';
export { formatPort, parsePortSpec, type PortSpec } from './port-spec.js';
export { parseVolumeSpec, type VolumeSpec, type MountConfig } from './volume-spec.js';
export { listVolumes, volumeExists, removeVolumeDir, volumePaths, type VolumeMeta } from './volumes.js';
export { bridgeSettings, parseSubnet, type BridgeSettings } from './network-settings.js';
export { removeBridgeNetwork, namesFor, type NetworkAttachment } from './bridge-network.js';
export { mainProcessOf, isAlive, type ProcessRef } from './process-ref.js';
export { ProcRootFs } from './proc-root-fs.js';
