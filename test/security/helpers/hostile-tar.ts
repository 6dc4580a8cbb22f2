// Building blocks for the named security regressions: craft archives with
// tar-stream's packer (which writes whatever names it is given), and an
// arena whose "outside" directory must never change.
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pack, type Header } from 'tar-stream';
import { expect } from 'vitest';
import { applyLayer, type ApplyOptions, type ApplyResult, type LayerErrorCode } from '../../../executor/layer/index.js';
import { snapshotTree, tempDir, type NodeInfo } from './tree.js';

export interface HostileEntry extends Partial<Omit<Header, 'name'>> {
  name: string;
  body?: string;
}

/** A tar holding exactly these headers, in this order, unvalidated. */
export async function hostileTar(entries: readonly HostileEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of p) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    const { body, ...header } = e;
    const mtime = header.mtime ?? new Date(1_000_000_000_000);
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve());
      if (body !== undefined) p.entry({ type: 'file', mode: 0o644, ...header, mtime }, body, cb);
      else p.entry({ mode: 0o644, ...header, mtime }, cb).end(undefined);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface Arena {
  /** Holds dest and outside; nothing else may appear in it. */
  base: string;
  /** The directory handed to applyLayer. */
  dest: string;
  /** A sibling of dest the archive tries to reach. */
  outside: string;
  /** A file in outside with known content. */
  sentinel: string;
}

export async function arena(): Promise<Arena> {
  const base = await tempDir('tsb-attack-');
  const dest = path.join(base, 'dest');
  const outside = path.join(base, 'outside');
  await mkdir(dest);
  await mkdir(outside);
  await chmod(outside, 0o755);
  const sentinel = path.join(outside, 'sentinel');
  await writeFile(sentinel, 'untouched\n');
  return { base, dest, outside, sentinel };
}

/** Everything in the arena except dest, with mtimes: must not change. */
export async function outsideState(a: Arena): Promise<Record<string, NodeInfo>> {
  return snapshotTree(a.base, { mtimes: true, skip: (rel) => rel === 'dest' });
}

export function apply(a: Arena, tar: Buffer, opts: Partial<ApplyOptions> = {}): Promise<ApplyResult> {
  return applyLayer(Readable.from([tar]), a.dest, { whiteouts: 'apply', ...opts });
}

/**
 * Apply `tar`, expect it to fail with `code`, and check that nothing outside
 * dest changed (including the sentinel's link count: no hard link to it).
 */
export async function expectRefused(a: Arena, tar: Buffer, code: LayerErrorCode, opts: Partial<ApplyOptions> = {}): Promise<void> {
  const before = await outsideState(a);
  await expect(apply(a, tar, opts)).rejects.toMatchObject({ name: 'LayerError', code });
  expect(await outsideState(a)).toEqual(before);
  expect((await stat(a.sentinel)).nlink).toBe(1);
}

/** Apply `tar`, expect success, and check that nothing outside dest changed. */
export async function expectContained(a: Arena, tar: Buffer, opts: Partial<ApplyOptions> = {}): Promise<ApplyResult> {
  const before = await outsideState(a);
  const result = await apply(a, tar, opts);
  expect(await outsideState(a)).toEqual(before);
  expect((await stat(a.sentinel)).nlink).toBe(1);
  return result;
}
