// OCI whiteouts in the three applyLayer modes, and the upperdir walk that
// produces them.
import { execFile } from 'node:child_process';
import { lstat, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { walkDirectory, type LayerEntry } from '../../executor/layer/index.js';
import { apply, hostileTar, type Arena } from '../security/helpers/hostile-tar.js';
import { tempDir } from '../security/helpers/tree.js';

const run = promisify(execFile);
const isRoot = process.getuid?.() === 0;

/** A dest that already holds a "lower layer". */
async function lower(): Promise<Arena> {
  const base = await tempDir('tsb-wh-');
  const dest = path.join(base, 'dest');
  const files: Record<string, string> = {
    'etc/passwd': 'root\n',
    'etc/group': 'root\n',
    'var/cache/a': 'a',
    'var/cache/sub/b': 'b',
    'var/cache/.hidden': 'h',
    'opt/tool/bin/x': 'x',
    'keep/x': 'x',
  };
  for (const [rel, body] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dest, rel)), { recursive: true });
    await writeFile(path.join(dest, rel), body);
  }
  return { base, dest, outside: path.join(base, 'none'), sentinel: path.join(base, 'none/x') };
}

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function visit(d: string, rel: string): Promise<void> {
    for (const name of (await readdir(d)).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      out.push(r);
      if ((await lstat(path.join(d, name))).isDirectory()) await visit(path.join(d, name), r);
    }
  }
  await visit(dir, '');
  return out;
}

const dir = (name: string) => ({ name, type: 'directory' as const, mode: 0o755 });

describe("whiteouts: 'apply'", () => {
  test('removes whited-out files and directories and empties opaque directories', async () => {
    const a = await lower();
    const tar = await hostileTar([
      dir('etc/'),
      { name: 'etc/.wh.passwd', body: '' },
      { name: 'opt/.wh.tool', body: '' },
      { name: 'missing/.wh.nothing', body: '' },
      dir('var/cache/'),
      // Same-layer entries before the marker: a naive "empty on sight"
      // extractor would delete them; OCI says the marker hides lower layers only.
      { name: 'var/cache/-early', body: 'same layer' },
      { name: 'var/cache/.wh..wh..opq', body: '' },
      { name: 'var/cache/new', body: 'new' },
      dir('var/cache/sub/'),
      { name: 'var/cache/sub/c', body: 'c' },
    ]);
    const result = await apply(a, tar);
    expect(result.entries).toBe(10);
    expect(await tree(a.dest)).toEqual([
      'etc',
      'etc/group',
      'keep',
      'keep/x',
      'opt',
      'var',
      'var/cache',
      'var/cache/-early',
      'var/cache/new',
      'var/cache/sub',
      'var/cache/sub/c',
    ]);
    expect(await readFile(path.join(a.dest, 'var/cache/-early'), 'utf8')).toBe('same layer');
  });

  test('a whiteout never removes an entry of its own layer', async () => {
    const a = await lower();
    await apply(a, await hostileTar([{ name: 'keep/y', body: 'y' }, { name: 'keep/.wh.y', body: '' }, { name: 'keep/.wh.x', body: '' }]));
    expect(await tree(path.join(a.dest, 'keep'))).toEqual(['y']);
  });

  test('an opaque marker at the top level hides the whole lower tree', async () => {
    const a = await lower();
    await apply(a, await hostileTar([{ name: '.wh..wh..opq', body: '' }, { name: 'only', body: 'o' }]));
    expect(await tree(a.dest)).toEqual(['only']);
  });

  test('aufs metadata entries (.wh..wh.plnk) are ignored', async () => {
    const a = await lower();
    const before = await tree(a.dest);
    await apply(a, await hostileTar([dir('.wh..wh.plnk/'), { name: '.wh..wh.plnk/123.456', body: 'x' }]));
    expect(await tree(a.dest)).toEqual(before);
  });
});

describe("whiteouts: 'keep'", () => {
  test('writes whiteout markers as ordinary files and removes nothing', async () => {
    const a = await lower();
    await apply(a, await hostileTar([{ name: 'etc/.wh.passwd', body: '' }, { name: 'var/cache/.wh..wh..opq', body: '' }]), { whiteouts: 'keep' });
    const t = await tree(a.dest);
    expect(t).toContain('etc/passwd');
    expect(t).toContain('etc/.wh.passwd');
    expect(t).toContain('var/cache/a');
    expect(t).toContain('var/cache/.wh..wh..opq');
    expect((await lstat(path.join(a.dest, 'etc/.wh.passwd'))).isFile()).toBe(true);
  });
});

describe.skipIf(!isRoot)("whiteouts: 'overlay' (needs root for mknod)", () => {
  test('creates char 0/0 whiteouts and reports opaque directories', async () => {
    const base = await tempDir('tsb-wh-');
    const a: Arena = { base, dest: path.join(base, 'upper'), outside: '', sentinel: '' };
    const layer = [
      dir('etc/'),
      { name: 'etc/.wh.passwd', body: '' },
      { name: 'etc/hostname', body: 'box\n' },
      dir('var/'),
      dir('var/cache/'),
      { name: 'var/cache/.wh..wh..opq', body: '' },
      { name: 'var/cache/new', body: 'new' },
    ];
    const result = await apply(a, await hostileTar(layer), { whiteouts: 'overlay' });
    expect(result.opaqueDirs).toEqual(['var/cache']);
    const wh = await lstat(path.join(a.dest, 'etc/passwd'));
    expect(wh.isCharacterDevice()).toBe(true);
    expect(wh.rdev).toBe(0);
    expect(await tree(a.dest)).toEqual(['etc', 'etc/hostname', 'etc/passwd', 'var', 'var/cache', 'var/cache/new']);

    // Walking the result as an upperdir gives the layer back.
    const walked: LayerEntry[] = [];
    for await (const e of walkDirectory(a.dest, { upperdir: true, opaqueDirs: new Set(result.opaqueDirs) })) walked.push(e);
    expect(walked.map((e) => [e.path, e.type])).toEqual([
      ['etc', 'directory'],
      ['etc/.wh.passwd', 'file'],
      ['etc/hostname', 'file'],
      ['var', 'directory'],
      ['var/cache', 'directory'],
      ['var/cache/.wh..wh..opq', 'file'],
      ['var/cache/new', 'file'],
    ]);
    expect(walked[1]).toMatchObject({ size: 0, mode: 0, uid: 0, gid: 0 });
  });

  test('walk without upperdir reports a 0/0 device as a device', async () => {
    const d = await tempDir();
    await run('mknod', [path.join(d, 'gone'), 'c', '0', '0']);
    const plain: LayerEntry[] = [];
    for await (const e of walkDirectory(d)) plain.push(e);
    expect(plain).toMatchObject([{ path: 'gone', type: 'char', devmajor: 0, devminor: 0 }]);
    const upper: LayerEntry[] = [];
    for await (const e of walkDirectory(d, { upperdir: true })) upper.push(e);
    expect(upper).toMatchObject([{ path: '.wh.gone', type: 'file', size: 0 }]);
  });
});
