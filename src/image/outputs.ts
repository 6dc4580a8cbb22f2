// `build --output` (buildx syntax) → a typed list of outputs, and writing a
// built image to them.
//
//   type=image[,name=REF…]          the local store (the default output)
//   type=oci,dest=PATH|-[,tar=B]    an OCI layout: a directory, or a tar of one
//                                   (tar when tar=true, dest=-, or PATH ends in .tar)
//   type=docker,dest=FILE|-         a docker archive (`docker load`, `podman load`)
//   type=local,dest=DIR             the final filesystem as a directory
//   type=tar,dest=FILE|-            the final filesystem as one tar
//   type=cacheonly                  nothing
//   DIR / -                         shorthands for type=local,dest=DIR / type=tar,dest=-
//
// name= (repeatable, or comma-separated inside quotes) names the image in
// image/oci/docker outputs instead of -t. type=image,push=true (and its
// buildx alias type=registry) also pushes every name to its registry,
// through the `push` function the caller passes (src/image does not talk
// to registries).
import path from 'node:path';
import type { Writable } from 'node:stream';
import { parseReference, isInvalidReferenceError } from '../../registry/index.js';
import { assertNever } from '../../parser/index.js';
import type { LayerRef } from '../../executor/types.js';
import { CliError } from '../errors.js';
import type { ContentStore } from '../store/index.js';
import { writeDockerArchive } from './docker-archive.js';
import { keepUntagged, dropUntagged } from './local-images.js';
import { writeOciLayoutDir, writeOciLayoutTar, type ExportImage } from './oci-layout.js';
import { withOutputTarget } from './output-target.js';
import { readImage } from './read-image.js';
import { exportRootfsDir, exportRootfsTar } from './rootfs-export.js';
import type { WrittenImage } from './write-image.js';

/** `dest` is an absolute path, or '-' for stdout. */
export type OutputSpec =
  | { type: 'image'; names: string[]; push: boolean }
  | { type: 'oci'; dest: string; tar: boolean; names: string[] }
  | { type: 'docker'; dest: string; names: string[] }
  | { type: 'local'; dest: string }
  | { type: 'tar'; dest: string }
  | { type: 'cacheonly' };

const ALLOWED_KEYS: Record<OutputSpec['type'], readonly string[]> = {
  image: ['type', 'name', 'push'],
  oci: ['type', 'dest', 'name', 'tar'],
  docker: ['type', 'dest', 'name'],
  local: ['type', 'dest'],
  tar: ['type', 'dest'],
  cacheonly: ['type'],
};

function usage(spec: string, why: string): CliError {
  return new CliError('TSB_CLI_USAGE', `invalid --output "${spec}": ${why}`);
}

/** Split buildx's CSV: fields separated by commas, double quotes group. */
function splitCsv(spec: string): string[] {
  const fields: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < spec.length; i++) {
    const c = spec[i] as string;
    if (c === '"') {
      if (quoted && spec[i + 1] === '"') {
        cur += '"';
        i++;
      } else quoted = !quoted;
    } else if (c === ',' && !quoted) {
      fields.push(cur);
      cur = '';
    } else cur += c;
  }
  if (quoted) throw usage(spec, 'unterminated quote');
  fields.push(cur);
  return fields;
}

function parseBool(spec: string, key: string, value: string): boolean {
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw usage(spec, `${key}=${value}: expected true or false`);
}

function parseNames(spec: string, values: readonly string[]): string[] {
  const out: string[] = [];
  for (const v of values.flatMap((n) => n.split(','))) {
    const name = v.trim();
    if (name === '') continue;
    try {
      const ref = parseReference(name);
      if (ref.digest !== null) throw usage(spec, `name "${name}" must not have a digest`);
      out.push(ref.canonical());
    } catch (err) {
      if (isInvalidReferenceError(err)) throw usage(spec, err.message);
      throw err;
    }
  }
  return out;
}

/** Parse one --output value; relative paths resolve against `cwd`. */
export function parseOutputSpec(spec: string, cwd: string = process.cwd()): OutputSpec {
  if (spec === '') throw usage(spec, 'empty');
  if (spec === '-') return { type: 'tar', dest: '-' };
  if (!spec.includes('=')) return { type: 'local', dest: path.resolve(cwd, spec) };

  const values = new Map<string, string[]>();
  for (const field of splitCsv(spec)) {
    const eq = field.indexOf('=');
    if (eq <= 0) throw usage(spec, `"${field}" is not key=value`);
    const key = field.slice(0, eq).trim().toLowerCase();
    const value = field.slice(eq + 1).trim();
    values.set(key, [...(values.get(key) ?? []), value]);
  }
  const one = (key: string): string | undefined => {
    const v = values.get(key);
    if (v !== undefined && v.length > 1) throw usage(spec, `${key}= given ${v.length} times`);
    return v?.[0];
  };
  const type = one('type');
  if (type === undefined) throw usage(spec, 'missing type= (image, oci, docker, local, tar, cacheonly)');
  if (type === 'registry') {
    for (const key of values.keys()) if (!['type', 'name', 'push'].includes(key)) throw usage(spec, `type=registry does not take ${key}=`);
    const push = one('push');
    if (push !== undefined && !parseBool(spec, 'push', push)) throw usage(spec, 'type=registry always pushes; use type=image for push=false');
    return { type: 'image', names: parseNames(spec, values.get('name') ?? []), push: true };
  }
  if (!(type in ALLOWED_KEYS)) throw usage(spec, `unknown type "${type}": expected image, oci, docker, local, tar or cacheonly`);
  const kind = type as OutputSpec['type'];
  for (const key of values.keys()) {
    if (!ALLOWED_KEYS[kind].includes(key)) {
      throw usage(spec, `type=${kind} does not take ${key}= (it takes ${ALLOWED_KEYS[kind].filter((k) => k !== 'type').join(', ') || 'nothing else'})`);
    }
  }
  const dest = (): string => {
    const d = one('dest');
    if (d === undefined || d === '') throw usage(spec, `type=${kind} needs dest=`);
    if (d === '-') {
      if (kind === 'local') throw usage(spec, 'type=local cannot write to stdout; use type=tar,dest=-');
      return '-';
    }
    return path.resolve(cwd, d);
  };
  const names = (): string[] => parseNames(spec, values.get('name') ?? []);

  switch (kind) {
    case 'image': {
      const push = one('push');
      return { type: 'image', names: names(), push: push !== undefined && parseBool(spec, 'push', push) };
    }
    case 'oci': {
      const d = dest();
      const tarText = one('tar');
      const tar = tarText !== undefined ? parseBool(spec, 'tar', tarText) : d === '-' || d.endsWith('.tar');
      if (!tar && d === '-') throw usage(spec, 'tar=false cannot write to stdout');
      return { type: 'oci', dest: d, tar, names: names() };
    }
    case 'docker':
      return { type: 'docker', dest: dest(), names: names() };
    case 'local':
      return { type: 'local', dest: dest() };
    case 'tar':
      return { type: 'tar', dest: dest() };
    case 'cacheonly':
      return { type: 'cacheonly' };
    default:
      return assertNever(kind);
  }
}

/** Parse every --output value; at most one may write to stdout. */
export function parseOutputSpecs(specs: readonly string[], cwd: string = process.cwd()): OutputSpec[] {
  const outputs = specs.map((s) => parseOutputSpec(s, cwd));
  const toStdout = outputs.filter((o) => 'dest' in o && o.dest === '-');
  if (toStdout.length > 1) throw new CliError('TSB_CLI_USAGE', 'invalid --output: only one output can write to stdout');
  return outputs;
}

export interface WriteOutputsOptions {
  /** Where dest=- goes (binary, never ended). */
  stdout: Writable;
  /** Push the image under these canonical names (type=image,push=true). */
  push?(names: readonly string[]): Promise<void>;
}

export interface WriteOutputsResult {
  /** The names the image now has in the local store (canonical). */
  tagged: string[];
}

/**
 * Write the built image to every output. With no outputs at all, the image
 * goes to the local store (docker's default): tagged with `tags`, or kept
 * untagged when there are none. `tags` must be canonical references.
 */
export async function writeOutputs(
  store: ContentStore,
  image: WrittenImage,
  outputs: readonly OutputSpec[],
  tags: readonly string[],
  opts: WriteOutputsOptions,
): Promise<WriteOutputsResult> {
  const result: WriteOutputsResult = { tagged: [] };
  const list: readonly OutputSpec[] = outputs.length === 0 ? [{ type: 'image', names: [], push: false }] : outputs;
  const named = (names: readonly string[]): string[] => (names.length > 0 ? [...names] : [...tags]);
  const exportImage = (names: readonly string[]): ExportImage[] => [{ target: image.manifest, names: named(names) }];
  let layers: LayerRef[] | null = null;
  const imageLayers = async (): Promise<LayerRef[]> => (layers ??= (await readImage(store, image.manifest)).layers);

  for (const out of list) {
    switch (out.type) {
      case 'image': {
        const names = named(out.names);
        for (const name of names) await store.setTag(name, image.manifest);
        if (names.length === 0) await keepUntagged(store, image.manifest);
        else await dropUntagged(store, image.manifest.digest);
        result.tagged.push(...names.filter((n) => !result.tagged.includes(n)));
        if (out.push) {
          if (names.length === 0) throw new CliError('TSB_CLI_USAGE', 'push=true needs a name: give -t or name=');
          if (opts.push === undefined) throw new CliError('TSB_CLI_NOT_IMPLEMENTED', 'push=true: no registry access in this context');
          await opts.push(names);
        }
        break;
      }
      case 'oci':
        if (!out.tar) await writeOciLayoutDir(store, exportImage(out.names), out.dest);
        else await withOutputTarget(out.dest, opts.stdout, (w) => writeOciLayoutTar(store, exportImage(out.names), w));
        break;
      case 'docker':
        await withOutputTarget(out.dest, opts.stdout, (w) => writeDockerArchive(store, exportImage(out.names), w));
        break;
      case 'local':
        await exportRootfsDir(store, await imageLayers(), out.dest);
        break;
      case 'tar': {
        const l = await imageLayers();
        await withOutputTarget(out.dest, opts.stdout, (w) => exportRootfsTar(store, l, w));
        break;
      }
      case 'cacheonly':
        break;
    }
  }
  return result;
}
