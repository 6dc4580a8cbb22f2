// Attack: symlinks whose target climbs above the root. Refused when the
// target, read from the link's own directory the way the container reads it
// (absolute targets from the root), needs a '..' above the root. Absolute
// targets are fine: they name rootfs paths, and the extractor never follows
// a symlink except inside the root (see write-through-planted-symlink).
import { lstat, readlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { arena, expectContained, expectRefused, hostileTar } from './helpers/hostile-tar.js';

const link = (name: string, linkname: string) => ({ name, type: 'symlink' as const, linkname, mode: 0o777 });

describe('symlink-escape', () => {
  for (const [name, target] of [
    ['esc', '../outside'],
    ['a/b/esc', '../../../outside/sentinel'],
    ['esc', '/../outside'],
    ['a/esc', 'x/../../../outside'],
  ] as const) {
    test(`${name} -> ${target} is refused`, async () => {
      const a = await arena();
      await expectRefused(a, await hostileTar([link(name, target)]), 'TSB_LAYER_UNSAFE_LINK');
      await expect(lstat(path.join(a.dest, name))).rejects.toMatchObject({ code: 'ENOENT' });
    });
  }

  test('links that stay inside, and absolute links, are created verbatim', async () => {
    const a = await arena();
    const tar = await hostileTar([
      link('a/b/up', '../../etc/passwd'),
      link('abs', '/etc/passwd'),
      link('host', a.sentinel),
      link('dot', '.'),
    ]);
    await expectContained(a, tar);
    expect(await readlink(path.join(a.dest, 'a/b/up'))).toBe('../../etc/passwd');
    expect(await readlink(path.join(a.dest, 'abs'))).toBe('/etc/passwd');
    expect(await readlink(path.join(a.dest, 'host'))).toBe(a.sentinel);
  });

  test('a symlink target longer than 4096 bytes is refused', async () => {
    const a = await arena();
    await expectRefused(a, await hostileTar([link('l', 'x/'.repeat(2100))]), 'TSB_LAYER_PATH_TOO_DEEP');
  });
});
