// An image archive (docker-archive or OCI layout tar, plain or gzip) →
// a private scratch directory, so the importers work on one shape: a
// directory read by name. The archive is hostile: entry names with `..`
// or a leading `/` are refused, and only directories and regular files are
// created. Symlinks and hard links (docker's legacy format links repeated
// layers) are never created on disk; they are recorded as aliases and
// resolved by name inside the archive, so no link can point outside it.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract, type Header } from 'tar-stream';
import { detectCompression } from '../../executor/layer/index.js';
import { ImageError } from './errors.js';

export interface ExtractedArchive {
  dir: string;
  /** Archive name → the archive name it links to. */
  links: Map<string, string>;
  /** Regular files extracted, by archive name. */
  files: Set<string>;
  label: string;
}

const MAX_LINK_HOPS = 40;

function archiveError(label: string, why: string, cause?: unknown): ImageError {
  return new ImageError('TSB_IMAGE_ARCHIVE', `${label}: ${why}`, { path: label, ...(cause === undefined ? {} : { cause }) });
}

/** `./a//b/` → `a/b`; null for the archive root; throws for `..` or absolute names. */
export function normalizeArchiveName(name: string, label: string): string | null {
  if (name.startsWith('/')) throw archiveError(label, `entry ${JSON.stringify(name)} has an absolute name`);
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw archiveError(label, `entry ${JSON.stringify(name)} climbs out of the archive`);
    parts.push(part);
  }
  return parts.length === 0 ? null : parts.join('/');
}

/** Resolve `name` through the archive's links to a regular file name. */
export function resolveArchiveName(archive: ExtractedArchive, name: string): string {
  let current = normalizeArchiveName(name, archive.label);
  for (let hops = 0; current !== null && hops <= MAX_LINK_HOPS; hops++) {
    if (archive.files.has(current)) return current;
    const next = archive.links.get(current);
    if (next === undefined) break;
    current = next;
  }
  throw archiveError(archive.label, `the archive has no file ${JSON.stringify(name)}`);
}

/** The host path of archive file `name` (after links). */
export function archiveFile(archive: ExtractedArchive, name: string): string {
  return path.join(archive.dir, ...resolveArchiveName(archive, name).split('/'));
}

/** Peek at the first chunk without losing it. */
async function sniffHead(source: Readable): Promise<{ head: Buffer; stream: Readable }> {
  const it = (source as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const first = await it.next();
  const head = first.done === true ? Buffer.alloc(0) : Buffer.from(first.value);
  async function* replay(): AsyncGenerator<Buffer> {
    if (head.length > 0) yield head;
    for (;;) {
      const r = await it.next();
      if (r.done === true) return;
      yield r.value;
    }
  }
  return { head, stream: Readable.from(replay(), { objectMode: false }) };
}

interface TarEntry extends AsyncIterable<Buffer> {
  header: Header;
}

/**
 * Extract `source` into `dir` (created; must be private to the caller).
 * `label` names the archive in errors.
 */
export async function extractArchive(source: Readable, dir: string, label: string): Promise<ExtractedArchive> {
  await mkdir(dir, { recursive: true });
  const archive: ExtractedArchive = { dir, links: new Map(), files: new Set(), label };
  const { head, stream } = await sniffHead(source);
  if (head.length === 0) throw archiveError(label, 'the archive is empty');
  const compression = detectCompression(head);
  if (compression !== 'none' && compression !== 'gzip') {
    throw archiveError(label, `${compression}-compressed archives are not supported; decompress it first`);
  }
  const ex = extract();
  const consume = async (): Promise<void> => {
    for await (const entry of ex as unknown as AsyncIterable<TarEntry>) {
      await extractEntry(archive, entry);
      for await (const _ of entry) void _;
    }
  };
  try {
    const feed = compression === 'gzip' ? pipeline(stream, createGunzip(), ex) : pipeline(stream, ex);
    await Promise.all([feed, consume()]);
  } catch (err) {
    ex.destroy();
    stream.destroy();
    if (err instanceof ImageError) throw err;
    if ((err as NodeJS.ErrnoException | null)?.syscall !== undefined) throw err;
    throw archiveError(label, `not a valid tar archive: ${(err as Error).message}`, err);
  }
  return archive;
}

async function extractEntry(archive: ExtractedArchive, entry: TarEntry): Promise<void> {
  const { header } = entry;
  const name = normalizeArchiveName(header.name, archive.label);
  if (name === null) return;
  const host = path.join(archive.dir, ...name.split('/'));
  switch (header.type) {
    case 'directory':
      await mkdir(host, { recursive: true });
      return;
    case 'file':
    case 'contiguous-file':
    case undefined:
    case null: {
      await mkdir(path.dirname(host), { recursive: true });
      archive.links.delete(name);
      // 'w' not 'wx': a later entry of the same name replaces the earlier
      // one, as tar does. Nothing here can be a symlink: we never make any.
      await pipeline(entry as AsyncIterable<Buffer>, createWriteStream(host, { flags: 'w', mode: 0o600 }));
      archive.files.add(name);
      return;
    }
    case 'symlink': {
      const target = header.linkname ?? '';
      if (target.startsWith('/')) return; // cannot name anything inside the archive
      const resolved = normalizeArchiveName(path.posix.join(path.posix.dirname(name), target), archive.label);
      if (resolved !== null) archive.links.set(name, resolved);
      archive.files.delete(name);
      return;
    }
    case 'link': {
      const resolved = normalizeArchiveName(header.linkname ?? '', archive.label);
      if (resolved !== null) archive.links.set(name, resolved);
      archive.files.delete(name);
      return;
    }
    default:
      return; // devices, fifos, PAX globals: nothing an image archive needs
  }
}
