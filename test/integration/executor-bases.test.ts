// FROM a local image: its layers, config and history carry over, and its
// ONBUILD triggers run in the child build.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { buildInline } from '../helpers/build-inline.js';
import { writeImage } from '../../src/image/write-image.js';
import { resolveLocalImage } from '../../src/image/resolve-local-image.js';

test('FROM a local tag inherits layers, config and history; ONBUILD triggers run once', async () => {
  const base = await buildInline({
    Dockerfile: 'FROM scratch\nCOPY a /a\nENV FROM_BASE=yes\nWORKDIR /srv\nONBUILD COPY trigger.txt /from-onbuild\nCMD ["/a"]\n',
    a: 'A',
  });
  const written = await writeImage(base.store, base.image);
  await base.store.setTag('docker.io/library/base:1', written.manifest);
  const resolved = await resolveLocalImage(base.store, 'base:1');
  expect(resolved?.config.OnBuild).toEqual(['COPY trigger.txt /from-onbuild']);

  const child = await buildInline(
    { Dockerfile: 'FROM base:1\nCOPY c rel-c\nENTRYPOINT ["/c"]\n', c: 'C', 'trigger.txt': 'T' },
    { root: base.root, images: { 'base:1': resolved! } },
  );
  const fs = await child.rootfs();
  expect(await readFile(join(fs, 'a'), 'utf8')).toBe('A');
  expect(await readFile(join(fs, 'from-onbuild'), 'utf8')).toBe('T');
  expect(await readFile(join(fs, 'srv/rel-c'), 'utf8')).toBe('C');
  expect(child.image.layers.slice(0, base.image.layers.length)).toEqual(base.image.layers);
  expect(child.image.config.Env).toContain('FROM_BASE=yes');
  expect(child.image.config.OnBuild ?? []).toEqual([]);
  // ENTRYPOINT in the child resets the CMD inherited from the base, as docker does
  expect(child.image.config.Cmd ?? null).toBeNull();
  expect(child.image.history.map((h) => h.created_by)).toEqual([
    ...base.image.history.map((h) => h.created_by),
    'COPY trigger.txt /from-onbuild # buildkit',
    'COPY c rel-c # buildkit',
    'ENTRYPOINT ["/c"]',
  ]);
});
