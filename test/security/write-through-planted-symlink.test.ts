// Attack: an earlier entry (or a lower layer) plants a symlink, and a later
// entry writes "through" it. Parent components are resolved with lstat and
// symlinks are followed only inside the root (chroot semantics): an
// absolute target restarts at dest, a '..' above dest is refused, and the
// final component is replaced, never followed.
import { lstat, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { arena, expectContained, expectRefused, hostileTar } from './helpers/hostile-tar.js';

const link = (name: string, linkname: string) => ({ name, type: 'symlink' as const, linkname, mode: 0o777 });

describe('write-through-planted-symlink', () => {
  test('an absolute symlink planted in the same archive is followed inside dest only', async () => {
    const a = await arena();
    const tar = await hostileTar([link('evil', a.outside), { name: 'evil/pwned', body: 'pwned' }, { name: 'evil/sentinel', body: 'pwned' }]);
    await expectContained(a, tar);
    expect(await readFile(path.join(a.dest, a.outside, 'pwned'), 'utf8')).toBe('pwned');
    expect(await readFile(a.sentinel, 'utf8')).toBe('untouched\n');
  });

  test('a relative escaping symlink in the archive is refused before anything uses it', async () => {
    const a = await arena();
    await expectRefused(a, await hostileTar([link('evil', '../outside'), { name: 'evil/pwned', body: 'x' }]), 'TSB_LAYER_UNSAFE_LINK');
  });

  test('a symlink planted by a lower layer is not written through', async () => {
    const a = await arena();
    await symlink('../outside', path.join(a.dest, 'evil'));
    await expectRefused(a, await hostileTar([{ name: 'evil/pwned', body: 'x' }]), 'TSB_LAYER_UNSAFE_PATH');
    await expectRefused(a, await hostileTar([{ name: 'evil/sub/deeper', body: 'x' }]), 'TSB_LAYER_UNSAFE_PATH');
    await expectRefused(a, await hostileTar([{ name: 'evil/newdir/', type: 'directory', mode: 0o755 }]), 'TSB_LAYER_UNSAFE_PATH');
  });

  test('a chain of planted symlinks is followed and refused when it leaves dest', async () => {
    const a = await arena();
    await symlink('b', path.join(a.dest, 'a'));
    await symlink('c/../..', path.join(a.dest, 'b'));
    await symlink('.', path.join(a.dest, 'c'));
    await expectRefused(a, await hostileTar([{ name: 'a/outside/pwned', body: 'x' }]), 'TSB_LAYER_UNSAFE_PATH');
  });

  test('a planted symlink as the final component is replaced, not followed', async () => {
    const a = await arena();
    await symlink('../outside/sentinel', path.join(a.dest, 'evil'));
    await symlink(a.outside, path.join(a.dest, 'evil-dir'));
    const tar = await hostileTar([{ name: 'evil', body: 'pwned' }, { name: 'evil-dir/', type: 'directory', mode: 0o755 }]);
    await expectContained(a, tar);
    expect(await readFile(a.sentinel, 'utf8')).toBe('untouched\n');
    expect((await lstat(path.join(a.dest, 'evil'))).isFile()).toBe(true);
    expect((await lstat(path.join(a.dest, 'evil-dir'))).isDirectory()).toBe(true);
  });

  test('a directory replaced by a symlink mid-archive does not redirect later entries', async () => {
    const a = await arena();
    const tar = await hostileTar([
      { name: 'd/', type: 'directory', mode: 0o755 },
      { name: 'd/x', body: 'x' },
      link('d', a.outside),
      { name: 'd/pwned', body: 'pwned' },
    ]);
    await expectContained(a, tar);
    expect(await readFile(path.join(a.dest, a.outside, 'pwned'), 'utf8')).toBe('pwned');
  });
});
