// COPY/ADD/WORKDIR, phase 1: decide every path the step writes, with its
// effective owner and mode, without writing anything. The same plan feeds
// the cache key (via `digestLines`) and, on a miss, the writer.
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import { createIgnoreMatcher, type CopyStep, type IgnoreMatcher } from '../../parser/index.js';
import type { ContextHasher } from '../context-hasher.js';
import { StepProblem } from '../errors.js';
import type { LayeredFs } from '../layered-fs.js';
import { joinRel, resolveInRoot, type FileInfo, type SourceFs } from '../source-fs.js';
import { expandPattern, hasWildcard } from './glob.js';
import { applyChmod, resolveOwner, type Owner } from './owner.js';
import { readXattrs } from '../xattrs.js';

export interface Attrs {
  mode: number;
  uid: number;
  gid: number;
  mtime: Date;
  /** Extended attributes carried over from the source. */
  xattrs?: Record<string, string>;
}

export type PlannedEntry =
  | { kind: 'dir'; target: string; attrs: Attrs | null }
  | { kind: 'file'; target: string; attrs: Attrs; hostPath: string; size: number; digest: string }
  | { kind: 'hardlink'; target: string; linkTo: string }
  | { kind: 'symlink'; target: string; attrs: Attrs; linkTarget: string }
  | { kind: 'inline'; target: string; attrs: Attrs; content: string }
  | { kind: 'archive'; target: string; hostPath: string; owner: Owner | null; digest: string };

export interface CopyPlan {
  entries: PlannedEntry[];
  /** Owner for directories the step has to create. */
  createdOwner: Owner;
  /** Nothing to write (WORKDIR of an existing directory). */
  empty: boolean;
  /** Things the copy could not carry over (e.g. binary xattr values). */
  warnings: string[];
  /** Files from a stage/image whose xattrs are read only if the layer is written
   * (their cache key already covers them through the layer's content id). */
  lazyXattrs: Array<[Attrs, string]>;
}

export interface PlanInputs {
  step: CopyStep;
  /** Where sources come from: the context, or a stage/image filesystem. */
  source: SourceFs | null;
  sourceIsContext: boolean;
  /** The destination's current filesystem (empty for scratch and --link). */
  parent: LayeredFs;
  hasher: ContextHasher | null;
  fixedTime: Date;
  /** ADD <url>: fetch to a local file, returning its path, digest and mtime. */
  fetchUrl(url: string): Promise<{ hostPath: string; digest: string; mtime: Date | null; name: string; size: number }>;
}

const TAR_MAGIC_OFFSET = 257;

async function looksLikeArchive(hostPath: string): Promise<boolean> {
  const fh = await open(hostPath, 'r');
  try {
    const buf = Buffer.alloc(512);
    const { bytesRead } = await fh.read(buf, 0, 512, 0);
    const head = buf.subarray(0, bytesRead);
    if (head[0] === 0x1f && head[1] === 0x8b) return true;
    if (head.subarray(0, 3).toString('latin1') === 'BZh') return true;
    if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true;
    return bytesRead >= 262 && head.subarray(TAR_MAGIC_OFFSET, TAR_MAGIC_OFFSET + 5).toString('latin1') === 'ustar';
  } finally {
    await fh.close();
  }
}

/** Source path as written → cleaned path relative to the source root (never above it). */
function cleanSource(p: string): string {
  return posix.normalize('/' + p).slice(1).replace(/\/$/, '');
}

/** --parents keeps the path below a `/./` pivot, or the whole relative path. */
function parentsPath(pattern: string, match: string): string {
  const pivot = pattern.indexOf('/./');
  if (pivot < 0) return match;
  const prefix = cleanSource(pattern.slice(0, pivot));
  return prefix && match.startsWith(prefix + '/') ? match.slice(prefix.length + 1) : match;
}

export async function planCopyStep(inp: PlanInputs): Promise<CopyPlan> {
  const { step, parent } = inp;
  const chownOwner = step.chown ? await resolveOwner(step.chown, parent) : null;
  const createdOwner = chownOwner ?? { uid: 0, gid: 0 };
  const entries: PlannedEntry[] = [];
  const destRel = step.dest.replace(/^\/+/, '').replace(/\/+$/, '');
  const destResolved = destRel === '' ? '' : await resolveInRoot(parent, destRel, true);
  const destInfo = await parent.lstat(destResolved);

  if (step.op === 'mkdir') {
    if (destInfo?.type === 'directory' || destResolved === '') return { entries, createdOwner, empty: true, warnings: [], lazyXattrs: [] };
    if (destInfo) throw new StepProblem('TSB_STEP_BAD_SOURCE', `cannot create directory ${step.dest}: a file exists there`);
    entries.push({ kind: 'dir', target: destResolved, attrs: { mode: 0o755, ...createdOwner, mtime: inp.fixedTime } });
    return { entries, createdOwner, empty: false, warnings: [], lazyXattrs: [] };
  }

  const exclude: IgnoreMatcher | null = step.exclude.length ? createIgnoreMatcher(step.exclude) : null;
  const excluded = (rel: string): boolean => exclude !== null && rel !== '' && exclude.excludes(rel);
  // xattrs are carried for regular files: context files through the stat
  // cache (read with getfattr only when a file's stat changed), stage and
  // image files when the layer is written.
  const contextFiles: Array<[Attrs, string, string]> = [];
  const lazyXattrs: Array<[Attrs, string]> = [];
  const effective = (info: FileInfo, rel?: string): Attrs => {
    const owner = chownOwner ?? (inp.sourceIsContext ? { uid: 0, gid: 0 } : { uid: info.uid, gid: info.gid });
    const mode = step.chmod ? applyChmod(step.chmod, info.mode, info.type === 'directory') : info.mode;
    const attrs: Attrs = { mode, ...owner, mtime: info.mtime };
    if (rel !== undefined && info.type === 'file') {
      if (inp.sourceIsContext) contextFiles.push([attrs, info.hostPath, rel]);
      else lazyXattrs.push([attrs, info.hostPath]);
    }
    return attrs;
  };

  // Expand every source first: the number of matches decides whether dest is a directory.
  interface Match { pattern: string; rel: string }
  const matches: Match[] = [];
  for (const src of step.sources) {
    if (src.type !== 'path') continue;
    if (!inp.source) throw new StepProblem('TSB_STEP_BAD_SOURCE', 'no source filesystem for path sources');
    const pattern = cleanSource(src.path);
    const found = hasWildcard(pattern) ? await expandPattern(inp.source, pattern) : [pattern];
    const kept = found.filter((rel) => !excluded(rel));
    if (kept.length === 0 || (!hasWildcard(pattern) && (await inp.source.lstat(pattern)) === null)) {
      const where = inp.sourceIsContext ? 'build context' : 'source image';
      throw new StepProblem('TSB_STEP_SOURCE_NOT_FOUND', `"/${pattern}" not found in ${where}${hasWildcard(pattern) ? ': no files match the pattern' : ''}`);
    }
    for (const rel of kept) matches.push({ pattern: src.path, rel });
  }
  const others = step.sources.filter((s) => s.type !== 'path').length;
  const destIsDir = step.dest.endsWith('/') || matches.length + others > 1 || destInfo?.type === 'directory';
  const into = (name: string): string => (destIsDir ? joinRel(destResolved, name) : destResolved);

  const seenInodes = new Map<string, string>();
  // --exclude patterns match below the copied directory (BuildKit/fsutil
  // semantics): `COPY --exclude=*.log src /s` drops src/x.log.
  const walk = async (fs: SourceFs, rel: string, target: string, info: FileInfo, top = false, under = ''): Promise<void> => {
    switch (info.type) {
      case 'directory': {
        const exists = (await parent.lstat(target))?.type === 'directory';
        // An existing top-level target keeps its own attributes; everything the
        // copy creates or replaces gets the source's.
        entries.push({ kind: 'dir', target, attrs: top && exists ? null : effective(info) });
        for (const name of await fs.readdir(rel)) {
          const childRel = joinRel(rel, name);
          const childUnder = joinRel(under, name);
          if (excluded(childUnder)) continue;
          const child = await fs.lstat(childRel);
          if (child) await walk(fs, childRel, joinRel(target, name), child, false, childUnder);
        }
        return;
      }
      case 'file': {
        const inode = `${info.dev}:${info.ino}`;
        const first = seenInodes.get(inode);
        if (first !== undefined) {
          entries.push({ kind: 'hardlink', target, linkTo: first });
          return;
        }
        seenInodes.set(inode, target);
        const digest = inp.hasher
          ? await inp.hasher.digest(rel, info)
          : ((await fs.contentId?.(rel)) ?? `inode:${inode}:${info.size}:${info.mtime.getTime()}`);
        if (step.op === 'add' && step.unpack !== false && inp.sourceIsContext && (await looksLikeArchive(info.hostPath))) {
          entries.push({ kind: 'archive', target: destResolved, hostPath: info.hostPath, owner: chownOwner, digest });
          return;
        }
        entries.push({ kind: 'file', target, attrs: effective(info, rel), hostPath: info.hostPath, size: info.size, digest });
        return;
      }
      case 'symlink':
        entries.push({ kind: 'symlink', target, attrs: effective(info), linkTarget: await fs.readlink(rel) });
        return;
      default:
        throw new StepProblem('TSB_STEP_BAD_SOURCE', `cannot copy /${rel}: unsupported file type ${info.type}`);
    }
  };

  for (const m of matches) {
    const fs = inp.source as SourceFs;
    const resolved = await resolveInRoot(fs, m.rel, true);
    const info = await fs.lstat(resolved);
    if (!info) throw new StepProblem('TSB_STEP_SOURCE_NOT_FOUND', `"/${m.rel}" not found: it is a dangling symbolic link`);
    const keep = step.parents ? parentsPath(m.pattern, m.rel) : null;
    if (info.type === 'directory') {
      await walk(fs, resolved, keep !== null ? joinRel(destResolved, keep) : destResolved, info, true);
    } else {
      await walk(fs, resolved, keep !== null ? joinRel(destResolved, keep) : into(posix.basename(m.rel)), info, true);
    }
  }

  for (const src of step.sources) {
    if (src.type === 'inline') {
      const mode = step.chmod ? applyChmod(step.chmod, 0o644, false) : 0o644;
      entries.push({ kind: 'inline', target: into(src.name), attrs: { mode, ...createdOwner, mtime: inp.fixedTime }, content: src.content });
    } else if (src.type === 'url') {
      const got = await inp.fetchUrl(src.url);
      if (step.unpack === true) {
        entries.push({ kind: 'archive', target: destResolved, hostPath: got.hostPath, owner: chownOwner, digest: got.digest });
      } else {
        const mode = step.chmod ? applyChmod(step.chmod, 0o600, false) : 0o600;
        entries.push({
          kind: 'file',
          target: into(got.name),
          attrs: { mode, ...createdOwner, mtime: got.mtime ?? inp.fixedTime },
          hostPath: got.hostPath,
          size: got.size,
          digest: got.digest,
        });
      }
    } else if (src.type === 'git') {
      throw new StepProblem('TSB_STEP_UNSUPPORTED', `ADD of a git repository (${src.url}) is not implemented yet`);
    }
  }
  const warnings: string[] = [];
  const hasher = inp.hasher;
  if (hasher && contextFiles.length > 0) {
    const unknown = contextFiles.filter(([, , rel]) => hasher.xattrs(rel) === undefined);
    if (unknown.length > 0) {
      const scan = await readXattrs(unknown.map(([, p]) => p));
      for (const [, hostPath, rel] of unknown) hasher.setXattrs(rel, scan.values.get(hostPath) ?? null);
      warnings.push(...scan.skipped.map((s) => `extended attribute not preserved (binary value): ${s}`));
    }
    for (const [attrs, , rel] of contextFiles) {
      const x = hasher.xattrs(rel);
      if (x) attrs.xattrs = x;
    }
  }
  return { entries, createdOwner, empty: entries.length === 0, warnings, lazyXattrs };
}

/** Canonical lines for the cache key: what is written where, with which attributes. */
export function digestLines(plan: CopyPlan): string[] {
  const a = (x: Attrs | null): string =>
    x ? `${x.mode.toString(8)} ${x.uid}:${x.gid}${x.xattrs ? ' ' + JSON.stringify(Object.entries(x.xattrs).sort()) : ''}` : '-';
  return plan.entries.map((e) => {
    switch (e.kind) {
      case 'dir':
        return `dir ${e.target} ${a(e.attrs)}`;
      case 'file':
        return `file ${e.target} ${a(e.attrs)} ${e.digest}`;
      case 'hardlink':
        return `link ${e.target} ${e.linkTo}`;
      case 'symlink':
        return `symlink ${e.target} ${a(e.attrs)} ${e.linkTarget}`;
      case 'inline':
        return `inline ${e.target} ${a(e.attrs)}`;
      case 'archive':
        return `archive ${e.target} ${e.owner ? `${e.owner.uid}:${e.owner.gid}` : '-'} ${e.digest}`;
    }
  });
}
