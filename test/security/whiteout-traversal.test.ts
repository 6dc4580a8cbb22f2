// Attack: whiteouts that delete outside the root — `.wh...`, whiteouts and
// opaque markers under a planted symlink. Removal uses the same in-root
// resolution as writes.
import { readdir, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { arena, expectContained, expectRefused, hostileTar } from './helpers/hostile-tar.js';

describe('whiteout-traversal', () => {
  test('a whiteout of .. is refused', async () => {
    const a = await arena();
    await expectRefused(a, await hostileTar([{ name: 'x/.wh...', body: '' }]), 'TSB_LAYER_UNSAFE_PATH');
  });

  test('a whiteout reaching up with .. is refused', async () => {
    const a = await arena();
    await expectRefused(a, await hostileTar([{ name: '../outside/.wh.sentinel', body: '' }]), 'TSB_LAYER_UNSAFE_PATH');
  });

  for (const whiteouts of ['apply', 'overlay'] as const) {
    test(`${whiteouts}: whiteouts under a planted relative symlink are refused`, async () => {
      const a = await arena();
      await symlink('../outside', path.join(a.dest, 's'));
      await expectRefused(a, await hostileTar([{ name: 's/.wh.sentinel', body: '' }]), 'TSB_LAYER_UNSAFE_PATH', { whiteouts });
      await expectRefused(a, await hostileTar([{ name: 's/.wh..wh..opq', body: '' }]), 'TSB_LAYER_UNSAFE_PATH', { whiteouts });
      expect(await readFile(a.sentinel, 'utf8')).toBe('untouched\n');
    });
  }

  test('whiteouts under an absolute symlink only touch dest', async () => {
    const a = await arena();
    await symlink(a.outside, path.join(a.dest, 'abs'));
    await expectContained(a, await hostileTar([{ name: 'abs/.wh.sentinel', body: '' }, { name: 'abs/.wh..wh..opq', body: '' }]));
    expect(await readdir(a.outside)).toEqual(['sentinel']);
  });
});
