// Attack: absurdly deep or long paths (resource exhaustion, ENAMETOOLONG
// half-way through an extraction) and symlink loops in parent paths.
import { mkdir, stat, symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { arena, expectContained, expectRefused, hostileTar } from './helpers/hostile-tar.js';

describe('deep-path', () => {
  test('more than 256 components is refused', async () => {
    const a = await arena();
    await expectRefused(a, await hostileTar([{ name: `${'a/'.repeat(300)}f`, body: 'x' }]), 'TSB_LAYER_PATH_TOO_DEEP');
  });

  test('more than 4096 bytes is refused', async () => {
    const a = await arena();
    await expectRefused(a, await hostileTar([{ name: `${'d'.repeat(200)}/`.repeat(21) + 'f', body: 'x' }]), 'TSB_LAYER_PATH_TOO_DEEP');
  });

  test('250 components are fine', async () => {
    const a = await arena();
    const name = `${'a/'.repeat(249)}f`;
    await expectContained(a, await hostileTar([{ name, body: 'deep' }]));
    expect((await stat(path.join(a.dest, name))).size).toBe(4);
  });

  test('a symlink loop in the parent path is refused', async () => {
    const a = await arena();
    await symlink('loop', path.join(a.dest, 'loop'));
    await expectRefused(a, await hostileTar([{ name: 'loop/x', body: 'x' }]), 'TSB_LAYER_UNSAFE_PATH');
  });

  test('a symlink chain that never ends is cut off after 40 hops', async () => {
    const a = await arena();
    await mkdir(path.join(a.dest, 'r'));
    // r/s -> ../r/../r/…/s re-enters itself without ever leaving dest.
    await symlink(`${'../r/'.repeat(10)}s`, path.join(a.dest, 'r/s'));
    await expectRefused(a, await hostileTar([{ name: 'r/s/x', body: 'x' }]), 'TSB_LAYER_UNSAFE_PATH');
  });
});
