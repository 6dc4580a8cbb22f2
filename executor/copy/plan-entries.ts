// A CopyPlan straight to layer entries, without writing a staging tree:
// the tar reads the source files where they are. Parent directories on the
// way get the attributes they have in the parent filesystem (or, when the
// copy creates them, 0755 and the --chown owner), and entries come out in
// the walk order of executor/layer/walk.ts (depth first, names by bytes).
import { createReadStream, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import type { LayerEntry } from '../layer/index.js';
import { StepProblem } from '../errors.js';
import type { LayeredFs } from '../layered-fs.js';
import type { Attrs, CopyPlan, PlannedEntry } from './copy-plan.js';
import { readXattrs } from '../xattrs.js';

const SMALL_BODY = 1 << 20;

interface Node {
  name: string;
  entry: LayerEntry | null;
  children: Map<string, Node>;
}

export async function planToEntries(plan: CopyPlan, parent: LayeredFs, fixedTime: Date): Promise<LayerEntry[]> {
  if (plan.lazyXattrs.length > 0) {
    const scan = await readXattrs(plan.lazyXattrs.map(([, p]) => p));
    for (const [attrs, hostPath] of plan.lazyXattrs) {
      const x = scan.values.get(hostPath);
      if (x) attrs.xattrs = x;
    }
  }
  const root: Node = { name: '', entry: null, children: new Map() };
  const dirAttrs = async (rel: string): Promise<Attrs> => {
    const info = await parent.lstat(rel);
    if (info && info.type !== 'directory') {
      throw new StepProblem('TSB_STEP_BAD_SOURCE', `cannot copy to /${rel}: not a directory in the destination`);
    }
    return info ? { mode: info.mode, uid: info.uid, gid: info.gid, mtime: info.mtime } : { mode: 0o755, ...plan.createdOwner, mtime: fixedTime };
  };
  const dirEntry = (path: string, a: Attrs): LayerEntry => ({
    path,
    type: 'directory',
    mode: a.mode,
    uid: a.uid,
    gid: a.gid,
    mtime: a.mtime,
    size: 0,
    ...(a.xattrs ? { xattrs: a.xattrs } : {}),
  });

  /** The node for `rel`, creating ancestors (with their parent-view attributes) on the way. */
  const nodeFor = async (rel: string): Promise<Node> => {
    let node = root;
    const parts = rel.split('/');
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i] as string;
      let next = node.children.get(name);
      if (!next) {
        next = { name, entry: null, children: new Map() };
        node.children.set(name, next);
      }
      if (i < parts.length - 1) {
        if (next.entry === null) {
          const path = parts.slice(0, i + 1).join('/');
          next.entry = dirEntry(path, await dirAttrs(path));
        } else if (next.entry.type !== 'directory') {
          throw new StepProblem('TSB_STEP_BAD_SOURCE', `cannot copy below /${next.entry.path}: it is not a directory`);
        }
      }
      node = next;
    }
    return node;
  };

  const set = async (rel: string, entry: LayerEntry): Promise<void> => {
    const node = await nodeFor(rel);
    if (entry.type !== 'directory') node.children.clear();
    node.entry = entry;
  };

  for (const e of plan.entries) await add(e);

  async function add(e: PlannedEntry): Promise<void> {
    switch (e.kind) {
      case 'dir': {
        const node = await nodeFor(e.target);
        const a = e.attrs ?? (node.entry?.type === 'directory' ? null : await dirAttrs(e.target));
        if (a) node.entry = dirEntry(e.target, a);
        return;
      }
      case 'file': {
        const { hostPath, size } = e;
        const open = size <= SMALL_BODY ? () => Readable.from([readFileSync(hostPath)]) : () => createReadStream(hostPath);
        await set(e.target, { path: e.target, type: 'file', ...e.attrs, size, open });
        return;
      }
      case 'hardlink':
        await set(e.target, { path: e.target, type: 'hardlink', mode: 0, uid: 0, gid: 0, mtime: fixedTime, size: 0, linkname: e.linkTo });
        return;
      case 'symlink':
        await set(e.target, { path: e.target, type: 'symlink', ...e.attrs, size: 0, linkname: e.linkTarget });
        return;
      case 'inline': {
        const body = Buffer.from(e.content);
        await set(e.target, { path: e.target, type: 'file', ...e.attrs, size: body.length, open: () => Readable.from([body]) });
        return;
      }
      case 'archive':
        throw new StepProblem('TSB_STEP_BAD_SOURCE', 'internal: archives are extracted through a staging directory');
    }
  }

  const out: LayerEntry[] = [];
  const walk = (node: Node): void => {
    const names = [...node.children.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    for (const name of names) {
      const child = node.children.get(name) as Node;
      if (child.entry) out.push(child.entry);
      walk(child);
    }
  };
  walk(root);
  return fixHardlinkOrder(out);
}

/** A tar hard link must follow the entry it names: the first member of each
 * link group in output order carries the body, the others link to it. */
function fixHardlinkOrder(entries: LayerEntry[]): LayerEntry[] {
  const sources = new Map<string, LayerEntry>();
  for (const e of entries) if (e.type === 'file') sources.set(e.path, e);
  const members = new Set<string>();
  for (const e of entries) if (e.type === 'hardlink' && e.linkname) members.add(e.linkname);
  const carrier = new Map<string, string>();
  return entries.map((e) => {
    const group = e.type === 'hardlink' ? (e.linkname as string) : members.has(e.path) ? e.path : null;
    if (group === null) return e;
    const first = carrier.get(group);
    if (first === undefined) {
      carrier.set(group, e.path);
      const src = sources.get(group);
      return e.type === 'hardlink' && src ? { ...src, path: e.path } : e;
    }
    return { path: e.path, type: 'hardlink', mode: 0, uid: 0, gid: 0, mtime: e.mtime, size: 0, linkname: first };
  });
}
