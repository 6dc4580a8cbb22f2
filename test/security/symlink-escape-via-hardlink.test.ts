// Attack: a hard link that reaches a host file through a symlink, so that a
// later write to the link (or the link itself) touches the host inode. A
// hardlink target must be an existing regular file inside the root, found
// without following any symlink out of it.
import { readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { arena, expectRefused, hostileTar } from './helpers/hostile-tar.js';

const link = (name: string, linkname: string) => ({ name, type: 'symlink' as const, linkname, mode: 0o777 });
const hard = (name: string, linkname: string) => ({ name, type: 'link' as const, linkname });

describe('symlink-escape-via-hardlink', () => {
  test('a hardlink to a symlink that points at a host file is refused', async () => {
    const a = await arena();
    const tar = await hostileTar([link('s', a.sentinel), hard('h', 's'), { name: 'h', body: 'pwned' }]);
    await expectRefused(a, tar, 'TSB_LAYER_UNSAFE_LINK');
  });

  test('a hardlink through an absolute directory symlink finds nothing inside', async () => {
    const a = await arena();
    const tar = await hostileTar([link('d', a.outside), hard('h', 'd/sentinel'), { name: 'h', body: 'pwned' }]);
    await expectRefused(a, tar, 'TSB_LAYER_UNSAFE_LINK');
  });

  test('a hardlink through a planted relative symlink is refused', async () => {
    const a = await arena();
    // Planted by a lower layer (or a RUN step) before this layer is applied.
    await symlink('../outside', path.join(a.dest, 'd'));
    const tar = await hostileTar([hard('h', 'd/sentinel'), { name: 'h', body: 'pwned' }]);
    await expectRefused(a, tar, 'TSB_LAYER_UNSAFE_LINK');
    expect(await readFile(a.sentinel, 'utf8')).toBe('untouched\n');
  });

  test('a hardlink to a directory, or to nothing, is refused', async () => {
    const a = await arena();
    await expectRefused(a, await hostileTar([{ name: 'dir/', type: 'directory', mode: 0o755 }, hard('h', 'dir')]), 'TSB_LAYER_UNSAFE_LINK');
    await expectRefused(a, await hostileTar([hard('h2', 'missing')]), 'TSB_LAYER_UNSAFE_LINK');
  });
});
