// Attack: '..' components in entry names and hardlink targets. Any '..' is
// refused, even one that would stay inside (node-tar's rule; docker cleans
// the path and refuses only what escapes).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { arena, expectRefused, hostileTar } from './helpers/hostile-tar.js';

describe('dotdot-path', () => {
  for (const name of ['../outside/pwned', 'a/../../outside/pwned', './../outside/pwned', 'a/b/../c', '..', 'a/..']) {
    test(`entry ${JSON.stringify(name)} is refused`, async () => {
      const a = await arena();
      await expectRefused(a, await hostileTar([{ name, body: 'pwned' }]), 'TSB_LAYER_UNSAFE_PATH');
    });
  }

  test('a .. hidden in a PAX path record is refused', async () => {
    const a = await arena();
    const name = `${'x'.repeat(120)}/../../outside/pwned`; // too long for ustar: goes to PAX
    await expectRefused(a, await hostileTar([{ name, body: 'pwned' }]), 'TSB_LAYER_UNSAFE_PATH');
  });

  test('a directory entry with .. is refused', async () => {
    const a = await arena();
    await expectRefused(a, await hostileTar([{ name: '../outside/newdir/', type: 'directory', mode: 0o755 }]), 'TSB_LAYER_UNSAFE_PATH');
  });

  test('a hardlink target with .. is refused', async () => {
    const a = await arena();
    await expectRefused(a, await hostileTar([{ name: 'h', type: 'link', linkname: '../outside/sentinel' }]), 'TSB_LAYER_UNSAFE_LINK');
  });

  test('entries before the bad one stay extracted; nothing after it is', async () => {
    const a = await arena();
    const tar = await hostileTar([
      { name: 'first', body: '1' },
      { name: '../outside/pwned', body: 'x' },
      { name: 'third', body: '3' },
    ]);
    await expectRefused(a, tar, 'TSB_LAYER_UNSAFE_PATH');
    expect(await readFile(path.join(a.dest, 'first'), 'utf8')).toBe('1');
    await expect(readFile(path.join(a.dest, 'third'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
