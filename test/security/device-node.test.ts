// Attack: device nodes in a layer (a world-writable /dev/sda, or kmem) are
// refused unless the caller opts in with allowDevices.
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { arena, expectRefused, hostileTar } from './helpers/hostile-tar.js';

describe('device-node', () => {
  for (const [name, type, devmajor, devminor] of [
    ['dev/sda', 'block-device', 8, 0],
    ['dev/kmem', 'character-device', 1, 2],
    ['etc/.wh-looking-whiteout', 'character-device', 0, 0],
  ] as const) {
    test(`${type} ${name} (${devmajor}:${devminor}) is refused`, async () => {
      const a = await arena();
      await expectRefused(a, await hostileTar([{ name, type, devmajor, devminor, mode: 0o666 }]), 'TSB_LAYER_DEVICE_NODE');
      await expect(lstat(path.join(a.dest, name))).rejects.toMatchObject({ code: 'ENOENT' });
    });
  }
});
