// Small generated images in OCI layout directories (what `skopeo copy oci:`
// reads and writes), plus a BlobSink and a PushSource over such a directory.
// Layers are real tar files (a minimal ustar writer), gzip'd or plain;
// random layers are streamed to disk so the benchmark's 300 MB never sits in
// memory. Framework-free: bench/ uses it too.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { BlobSink, BlobSinkWriter, Descriptor, PushSource } from '../../registry/index.js';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
export const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar';
export const OCI_LAYER_GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

export function sha256(data: Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** One 512-byte ustar header for a regular file. */
export function tarHeader(name: string, size: number, mode = 0o644, mtime = 0): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(mode, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(mtime, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

function padding(size: number): Buffer {
  return Buffer.alloc((512 - (size % 512)) % 512);
}

/** A tar of small files, in memory (test-sized). */
export function tarOf(files: Record<string, string | Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const name of Object.keys(files).sort()) {
    const body = Buffer.from(files[name] ?? '');
    parts.push(tarHeader(name, body.length), body, padding(body.length));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export type LayerSpec =
  | { files: Record<string, string | Buffer>; gzip?: boolean }
  /** A plain tar holding one file of random (incompressible) bytes, streamed to disk. */
  | { randomBytes: number };

export interface OciImage {
  /** The OCI layout directory. */
  dir: string;
  tag: string;
  digest: string;
  mediaType: string;
  bytes: Buffer;
  config: Descriptor;
  layers: Descriptor[];
}

export function blobPath(dir: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  return join(dir, 'blobs', alg ?? 'sha256', hex ?? '');
}

async function writeBlob(dir: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(blobPath(dir, digest), data);
  return digest;
}

async function writeRandomLayer(dir: string, size: number): Promise<{ digest: string; size: number }> {
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const tmp = join(dir, `layer-${randomBytes(6).toString('hex')}.tmp`);
  const out = createWriteStream(tmp);
  const hash = createHash('sha256');
  let total = 0;
  const write = async (buf: Buffer): Promise<void> => {
    hash.update(buf);
    total += buf.length;
    if (!out.write(buf)) await new Promise<void>((r) => out.once('drain', () => r()));
  };
  await write(tarHeader('random.bin', size));
  for (let left = size; left > 0; ) {
    const n = Math.min(left, 1 << 20);
    await write(randomBytes(n));
    left -= n;
  }
  await write(padding(size));
  await write(Buffer.alloc(1024));
  await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  const digest = `sha256:${hash.digest('hex')}`;
  await rename(tmp, blobPath(dir, digest));
  return { digest, size: total };
}

export interface ManifestParts {
  config: Descriptor;
  layers: Descriptor[];
  mediaType: string;
  bytes: Buffer;
  digest: string;
}

/** Write layers + config + manifest blobs for one platform; no index.json. */
export async function writeImageBlobs(
  dir: string,
  layers: LayerSpec[],
  platform: { os: string; architecture: string; variant?: string } = { os: 'linux', architecture: 'amd64' },
  label = '',
): Promise<ManifestParts> {
  const layerDescs: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const spec of layers) {
    if ('randomBytes' in spec) {
      const { digest, size } = await writeRandomLayer(dir, spec.randomBytes);
      layerDescs.push({ mediaType: OCI_LAYER, digest, size });
      diffIds.push(digest);
    } else {
      const tar = tarOf(spec.files);
      const data = spec.gzip === false ? tar : gzipSync(tar);
      const digest = await writeBlob(dir, data);
      layerDescs.push({ mediaType: spec.gzip === false ? OCI_LAYER : OCI_LAYER_GZIP, digest, size: data.length });
      diffIds.push(sha256(tar));
    }
  }
  const config = Buffer.from(
    JSON.stringify({
      created: '2024-01-01T00:00:00Z',
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      config: { Cmd: ['/bin/sh'], Labels: { 'tsbuild.test': label } },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: diffIds.map(() => ({ created: '2024-01-01T00:00:00Z', created_by: 'tsbuild test' })),
    }),
  );
  const configDesc: Descriptor = { mediaType: OCI_CONFIG, digest: await writeBlob(dir, config), size: config.length };
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: configDesc, layers: layerDescs }));
  const digest = await writeBlob(dir, bytes);
  return { config: configDesc, layers: layerDescs, mediaType: OCI_MANIFEST, bytes, digest };
}

async function writeLayoutIndex(dir: string, manifests: Descriptor[]): Promise<void> {
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }));
}

/** A one-platform image in an OCI layout at `dir`, tagged `tag` in index.json. */
export async function writeOciImage(dir: string, layers: LayerSpec[], opts: { tag?: string; label?: string } = {}): Promise<OciImage> {
  const tag = opts.tag ?? 'latest';
  const m = await writeImageBlobs(dir, layers, undefined, opts.label ?? dir);
  await writeLayoutIndex(dir, [
    { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length, annotations: { 'org.opencontainers.image.ref.name': tag } },
  ]);
  return { dir, tag, digest: m.digest, mediaType: m.mediaType, bytes: m.bytes, config: m.config, layers: m.layers };
}

export interface OciIndexImage {
  dir: string;
  tag: string;
  digest: string;
  bytes: Buffer;
  children: (ManifestParts & { platform: { os: string; architecture: string; variant?: string } })[];
}

/** A multi-platform image: an OCI index over one manifest per platform. */
export async function writeOciIndexImage(
  dir: string,
  platforms: { os: string; architecture: string; variant?: string }[],
  opts: { tag?: string } = {},
): Promise<OciIndexImage> {
  const tag = opts.tag ?? 'latest';
  const children: OciIndexImage['children'] = [];
  for (const p of platforms) {
    const m = await writeImageBlobs(dir, [{ files: { [`etc/${p.architecture}${p.variant ?? ''}`]: `built for ${JSON.stringify(p)}\n` } }], p, JSON.stringify(p));
    children.push({ ...m, platform: p });
  }
  const bytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: children.map((c) => ({ mediaType: c.mediaType, digest: c.digest, size: c.bytes.length, platform: c.platform })),
    }),
  );
  const digest = await writeBlob(dir, bytes);
  await writeLayoutIndex(dir, [{ mediaType: OCI_INDEX, digest, size: bytes.length, annotations: { 'org.opencontainers.image.ref.name': tag } }]);
  return { dir, tag, digest, bytes, children };
}

/** A PushSource reading blobs out of an OCI layout directory. */
export function layoutSource(dir: string, manifest: { mediaType: string; bytes: Buffer }): PushSource {
  return {
    manifest,
    open: (digest: string): Readable => createReadStream(blobPath(dir, digest)),
  };
}

export interface LayoutSink extends BlobSink {
  readonly dir: string;
  /** Digests committed, in order. */
  readonly commits: string[];
  readonly aborts: number;
  read(digest: string): Promise<Buffer>;
  /** Files left in the temp directory (should be none after any pull). */
  temps(): Promise<string[]>;
}

/** A BlobSink writing `blobs/<alg>/<hex>` into a directory: temp file, then rename on commit. */
export async function layoutSink(dir: string): Promise<LayoutSink> {
  const tmpDir = join(dir, 'tmp');
  await mkdir(tmpDir, { recursive: true });
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  const commits: string[] = [];
  let aborts = 0;
  let counter = 0;
  const sink: LayoutSink = {
    dir,
    commits,
    get aborts() {
      return aborts;
    },
    has: async (digest) => {
      try {
        await stat(blobPath(dir, digest));
        return true;
      } catch {
        return false;
      }
    },
    create: async (): Promise<BlobSinkWriter> => {
      const tmp = join(tmpDir, `blob-${process.pid}-${counter++}`);
      const stream: Writable = createWriteStream(tmp);
      return {
        stream,
        commit: async (expected: string) => {
          await mkdir(join(dir, 'blobs', expected.split(':')[0] ?? 'sha256'), { recursive: true });
          await rename(tmp, blobPath(dir, expected));
          commits.push(expected);
        },
        abort: async () => {
          aborts++;
          stream.destroy();
          await rm(tmp, { force: true });
        },
      };
    },
    read: (digest) => readFile(blobPath(dir, digest)),
    temps: () => readdir(tmpDir),
  };
  return sink;
}

/** The manifest a layout's index.json tags `tag` (skopeo's output), with its bytes. */
export async function readLayoutManifest(dir: string, tag?: string): Promise<{ digest: string; mediaType: string; bytes: Buffer }> {
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const d = index.manifests.find((m) => tag === undefined || m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (d === undefined) throw new Error(`no manifest tagged ${String(tag)} in ${dir}`);
  return { digest: d.digest, mediaType: d.mediaType, bytes: await readFile(blobPath(dir, d.digest)) };
}
