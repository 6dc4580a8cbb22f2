// Types that cross the executor boundary: what it needs resolved up front
// (base images) and what it hands back (an image as layers + config).
import type { Digest } from '../src/store/index.js';
import type { ImageConfig, StepId } from '../parser/index.js';

/** One layer of an image, as stored: blob digest and uncompressed diffID. */
export interface LayerRef {
  digest: Digest;
  diffID: Digest;
  size: number;
  mediaType: string;
}

/** An OCI image config `history` entry. */
export interface OciHistory {
  created?: string;
  created_by?: string;
  author?: string;
  comment?: string;
  empty_layer?: boolean;
}

export interface ImagePlatform {
  os: string;
  architecture: string;
  variant?: string;
}

/** A base image whose manifest and config are already local (resolved by src/). */
export interface ResolvedImage {
  /** Canonical reference (docker.io/library/busybox:latest, oci-layout://…). */
  ref: string;
  manifestDigest: Digest;
  layers: LayerRef[];
  config: ImageConfig;
  history: OciHistory[];
  platform: ImagePlatform;
  author?: string;
}

/** The result of a build: everything needed to write config + manifest. */
export interface BuiltImage {
  layers: LayerRef[];
  config: ImageConfig;
  history: OciHistory[];
  platform: ImagePlatform;
  author?: string;
  /** RFC 3339, only when SOURCE_DATE_EPOCH is set (reproducible by default). */
  created?: string;
}

/** Events the executor emits; renderers in src/render consume them. */
export type BuildEvent =
  | { type: 'step-start'; step: StepId; name: string; time: number }
  | { type: 'step-cached'; step: StepId; name: string; time: number }
  | { type: 'step-log'; step: StepId; stream: 'stdout' | 'stderr'; data: string; time: number }
  | {
      type: 'step-done';
      step: StepId;
      time: number;
      durationMs: number;
      /** RUN only: read from the step's cgroup. */
      memoryPeak?: number | null;
      cpuUsec?: number | null;
    }
  | { type: 'step-error'; step: StepId; message: string; time: number }
  | { type: 'pull-progress'; digest: string; current: number; total: number; time: number };
