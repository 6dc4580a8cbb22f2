// Attack: entry names (and hardlink targets) that are absolute host paths.
// Decision (docker's behaviour): a leading '/' is stripped, so the archive
// root is the rootfs root and `/x/y` lands in `<dest>/x/y`. Combined with
// '..' the entry is refused like any other '..' path.
import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { arena, expectContained, expectRefused, hostileTar } from './helpers/hostile-tar.js';

describe('absolute-path', () => {
  test('an absolute path naming a host directory lands inside dest', async () => {
    const a = await arena();
    const tar = await hostileTar([
      { name: `${a.outside}/pwned`, body: 'pwned' },
      { name: `${a.sentinel}`, body: 'overwritten' },
      { name: '//double//slash', body: 'x' },
    ]);
    await expectContained(a, tar);
    expect(await readFile(path.join(a.dest, a.outside, 'pwned'), 'utf8')).toBe('pwned');
    expect(await readFile(path.join(a.dest, a.sentinel), 'utf8')).toBe('overwritten');
    expect(await readFile(a.sentinel, 'utf8')).toBe('untouched\n');
    expect((await lstat(path.join(a.dest, 'double/slash'))).isFile()).toBe(true);
  });

  test('an absolute hardlink target is resolved inside dest', async () => {
    const a = await arena();
    const tar = await hostileTar([
      { name: 'etc/passwd', body: 'root:x:0:0\n' },
      { name: 'etc/passwd-', type: 'link', linkname: '/etc/passwd' },
    ]);
    await expectContained(a, tar);
    const [x, y] = await Promise.all([lstat(path.join(a.dest, 'etc/passwd')), lstat(path.join(a.dest, 'etc/passwd-'))]);
    expect(y.ino).toBe(x.ino);
  });

  test('an absolute hardlink target naming a host file is refused', async () => {
    const a = await arena();
    const tar = await hostileTar([{ name: 'h', type: 'link', linkname: a.sentinel }]);
    await expectRefused(a, tar, 'TSB_LAYER_UNSAFE_LINK');
  });

  test('an absolute path with .. is refused', async () => {
    const a = await arena();
    await expectRefused(a, await hostileTar([{ name: '/../outside/pwned', body: 'x' }]), 'TSB_LAYER_UNSAFE_PATH');
  });
});
