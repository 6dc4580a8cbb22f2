// Attack: a file entry whose path is an existing hard link, hoping the write
// lands in the shared inode (another file of a lower layer, or the host if a
// link ever got out). Existing paths are unlinked first and recreated with
// O_EXCL|O_NOFOLLOW, so the other links keep their content.
import { link, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, test } from 'vitest';
import { arena, expectContained, hostileTar } from './helpers/hostile-tar.js';

describe('overwrite-through-hardlink', () => {
  test('rewriting a hard-linked path leaves the other link alone', async () => {
    const a = await arena();
    await writeFile(path.join(a.dest, 'lower'), 'lower layer\n');
    await link(path.join(a.dest, 'lower'), path.join(a.dest, 'alias'));
    await expectContained(a, await hostileTar([{ name: 'alias', body: 'new' }]));
    expect(await readFile(path.join(a.dest, 'lower'), 'utf8')).toBe('lower layer\n');
    expect(await readFile(path.join(a.dest, 'alias'), 'utf8')).toBe('new');
  });

  test('a hardlink made in the archive and then overwritten splits the inode', async () => {
    const a = await arena();
    const tar = await hostileTar([
      { name: 'f', body: 'original' },
      { name: 'g', type: 'link', linkname: 'f' },
      { name: 'g', body: 'replaced' },
    ]);
    await expectContained(a, tar);
    expect(await readFile(path.join(a.dest, 'f'), 'utf8')).toBe('original');
    expect(await readFile(path.join(a.dest, 'g'), 'utf8')).toBe('replaced');
  });
});
