// COPY/ADD/WORKDIR, phase 2: write a CopyPlan into a staging directory that
// becomes the new layer's snapshot. Only what the step writes goes in, plus
// the parent directories on the way (with the attributes they have in the
// parent filesystem), so the layer scales with the copy, not the image.
import { chmodSync, copyFileSync, createReadStream, lchownSync, lstatSync, lutimesSync, mkdirSync, constants as fsc } from 'node:fs';
import { chmod, copyFile, lchown, link, lutimes, mkdir, mkdtemp, readdir, rename, rm, symlink, utimes, writeFile, lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { applyLayer, isLayerError } from '../layer/index.js';
import { StepProblem } from '../errors.js';
import type { LayeredFs } from '../layered-fs.js';
import type { Owner } from './owner.js';
import type { Attrs, CopyPlan, PlannedEntry } from './copy-plan.js';

export interface WriteInputs {
  plan: CopyPlan;
  parent: LayeredFs;
  staging: string;
  fixedTime: Date;
}

// Metadata calls are synchronous: a COPY of many small files would otherwise
// spend its time in thread-pool round trips rather than in the syscalls.
async function setAttrs(path: string, attrs: Attrs, isLink = false): Promise<void> {
  lchownSync(path, attrs.uid, attrs.gid);
  // chmod after chown: chown clears setuid/setgid bits.
  if (!isLink) chmodSync(path, attrs.mode);
  lutimesSync(path, attrs.mtime, attrs.mtime);
}

export async function writePlan(inp: WriteInputs): Promise<void> {
  const { staging, parent } = inp;
  const made = new Map<string, Attrs | null>();
  const dirTimes: Array<[string, Date]> = [];

  /** Make `rel` exist as a directory in staging, copying attributes from the parent view. */
  const ensureDir = async (rel: string, own: Attrs | null): Promise<void> => {
    if (rel === '' || made.has(rel)) {
      if (own && rel !== '') {
        made.set(rel, own);
        await setAttrs(join(staging, rel), own);
      }
      return;
    }
    await ensureDir(dirname(rel) === '.' ? '' : dirname(rel), null);
    const path = join(staging, rel);
    let attrs = own;
    if (!attrs) {
      const info = await parent.lstat(rel);
      if (info && info.type !== 'directory') {
        throw new StepProblem('TSB_STEP_BAD_SOURCE', `cannot copy to /${rel}: not a directory in the destination`);
      }
      attrs = info
        ? { mode: info.mode, uid: info.uid, gid: info.gid, mtime: info.mtime }
        : { mode: 0o755, ...inp.plan.createdOwner, mtime: inp.fixedTime };
    }
    const existing = lstatSync(path, { throwIfNoEntry: false });
    if (existing && !existing.isDirectory()) await rm(path, { force: true });
    if (!existing || !existing.isDirectory()) mkdirSync(path);
    await setAttrs(path, attrs);
    made.set(rel, attrs);
    dirTimes.push([path, attrs.mtime]);
  };

  const prepare = async (target: string): Promise<string> => {
    await ensureDir(dirname(target) === '.' ? '' : dirname(target), null);
    const path = join(staging, target);
    const existing = lstatSync(path, { throwIfNoEntry: false });
    if (existing) await rm(path, { recursive: true, force: true });
    return path;
  };

  for (const e of inp.plan.entries) {
    await writeEntry(e);
  }
  // Writing children bumped directory mtimes: restore them deepest first.
  for (const [path, mtime] of dirTimes.reverse()) await utimes(path, mtime, mtime);

  async function writeEntry(e: PlannedEntry): Promise<void> {
    switch (e.kind) {
      case 'dir':
        await ensureDir(e.target, e.attrs);
        return;
      case 'file': {
        const path = await prepare(e.target);
        if (e.attrs && (await fileSize(e.hostPath)) <= 8 << 20) copyFileSync(e.hostPath, path, fsc.COPYFILE_FICLONE);
        else await copyFile(e.hostPath, path, fsc.COPYFILE_FICLONE);
        await setAttrs(path, e.attrs);
        return;
      }
      case 'hardlink': {
        const path = await prepare(e.target);
        await link(join(staging, e.linkTo), path);
        return;
      }
      case 'symlink': {
        const path = await prepare(e.target);
        await symlink(e.linkTarget, path);
        await setAttrs(path, e.attrs, true);
        return;
      }
      case 'inline': {
        const path = await prepare(e.target);
        await writeFile(path, e.content);
        await setAttrs(path, e.attrs);
        return;
      }
      case 'archive': {
        await ensureDir(e.target, null);
        await extractArchive(e.hostPath, join(staging, e.target), e.owner, e.target);
        return;
      }
    }
  }
}

async function fileSize(path: string): Promise<number> {
  return lstatSync(path).size;
}

/** ADD of a local archive: extract beside, then merge in; a non-archive is copied as a file. */
async function extractArchive(hostPath: string, destDir: string, owner: Owner | null, target: string): Promise<void> {
  const tmp = await mkdtemp(join(dirname(destDir), '.add-'));
  try {
    try {
      await applyLayer(createReadStream(hostPath), tmp, { whiteouts: 'keep' });
    } catch (e) {
      if (isLayerError(e, 'TSB_LAYER_BAD_ARCHIVE')) {
        throw new StepProblem('TSB_STEP_BAD_SOURCE', `ADD: /${target}: ${(e as Error).message}`, { cause: e });
      }
      throw e;
    }
    if (owner) await chownTree(tmp, owner);
    await mergeInto(tmp, destDir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function chownTree(dir: string, owner: Owner): Promise<void> {
  for (const ent of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, ent.name);
    const st = await lstat(p);
    await lchown(p, owner.uid, owner.gid);
    if (!ent.isSymbolicLink()) await chmod(p, st.mode & 0o7777);
    if (ent.isDirectory()) await chownTree(p, owner);
  }
}

async function mergeInto(from: string, to: string): Promise<void> {
  for (const ent of await readdir(from, { withFileTypes: true })) {
    const src = join(from, ent.name);
    const dst = join(to, ent.name);
    const existing = await lstat(dst).catch(() => null);
    if (existing?.isDirectory() && ent.isDirectory()) {
      const st = await lstat(src);
      await mergeInto(src, dst);
      await utimes(dst, st.mtime, st.mtime);
      continue;
    }
    if (existing) await rm(dst, { recursive: true, force: true });
    await rename(src, dst);
  }
}
