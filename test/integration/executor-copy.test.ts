// COPY/ADD/WORKDIR through the real executor and store, checked on the
// resulting filesystem.
import { lstat, readFile, readlink, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { buildInline } from '../helpers/build-inline.js';

describe('COPY semantics', () => {
  test('files, directories (contents), dest slash rules and created parents', async () => {
    const b = await buildInline({
      Dockerfile: [
        'FROM scratch',
        'COPY a.txt /file-as-name',
        'COPY a.txt /into/',
        'COPY dir /dircontents',
        'COPY a.txt b.txt /multi/',
        'WORKDIR /work',
        'COPY a.txt .',
        'COPY a.txt rel/',
      ].join('\n'),
      'a.txt': 'A',
      'b.txt': 'B',
      'dir/x/y.txt': 'Y',
      'dir/z.txt': 'Z',
    });
    const fs = await b.rootfs();
    expect(await readFile(join(fs, 'file-as-name'), 'utf8')).toBe('A');
    expect(await readFile(join(fs, 'into/a.txt'), 'utf8')).toBe('A');
    expect(await readFile(join(fs, 'dircontents/x/y.txt'), 'utf8')).toBe('Y');
    expect(await readFile(join(fs, 'dircontents/z.txt'), 'utf8')).toBe('Z');
    expect(await readFile(join(fs, 'multi/b.txt'), 'utf8')).toBe('B');
    expect(await readFile(join(fs, 'work/a.txt'), 'utf8')).toBe('A');
    expect(await readFile(join(fs, 'work/rel/a.txt'), 'utf8')).toBe('A');
    const into = await stat(join(fs, 'into'));
    expect(into.mode & 0o7777).toBe(0o755);
    expect(into.uid).toBe(0);
  });

  test('an existing directory in the parent receives a single file copied without slash', async () => {
    const b = await buildInline({ Dockerfile: 'FROM scratch\nCOPY d/ /etc/\nCOPY a.txt /etc\n', 'd/keep': 'k', 'a.txt': 'A' });
    const fs = await b.rootfs();
    expect(await readFile(join(fs, 'etc/a.txt'), 'utf8')).toBe('A');
  });

  test('globs, --exclude and .dockerignore (with an exception)', async () => {
    const b = await buildInline({
      Dockerfile: 'FROM scratch\nCOPY *.txt /t/\nCOPY --exclude=*.log src /s\nCOPY . /all\n',
      '.dockerignore': 'secret*\n*.md\n!README.md\n',
      'a.txt': 'a',
      'b.txt': 'b',
      'c.bin': 'c',
      'src/keep.c': 'k',
      'src/noise.log': 'n',
      'secret.key': 'nope',
      'notes.md': 'x',
      'README.md': 'readme',
    });
    const fs = await b.rootfs();
    expect(await (await import('node:fs/promises')).readdir(join(fs, 't'))).toEqual(['a.txt', 'b.txt']);
    await expect(lstat(join(fs, 's/noise.log'))).rejects.toThrow();
    expect(await readFile(join(fs, 's/keep.c'), 'utf8')).toBe('k');
    await expect(lstat(join(fs, 'all/secret.key'))).rejects.toThrow();
    await expect(lstat(join(fs, 'all/notes.md'))).rejects.toThrow();
    expect(await readFile(join(fs, 'all/README.md'), 'utf8')).toBe('readme');
  });

  test('--chmod octal and symbolic, --chown numeric; modes kept otherwise', async () => {
    const b = await buildInline({
      Dockerfile: [
        'FROM scratch',
        'COPY --chmod=0750 --chown=1000:1001 run.sh /a/run.sh',
        'COPY --chmod=u+x,go-r plain.txt /b/plain.txt',
        'COPY exec.sh private.key /c/',
        'COPY --chown=42 plain.txt /d/',
      ].join('\n'),
      'run.sh': { content: '#!/bin/sh\n', mode: 0o644 },
      'plain.txt': { content: 'p', mode: 0o644 },
      'exec.sh': { content: 'x', mode: 0o755 },
      'private.key': { content: 'k', mode: 0o600 },
    });
    const fs = await b.rootfs();
    const a = await stat(join(fs, 'a/run.sh'));
    expect([a.mode & 0o7777, a.uid, a.gid]).toEqual([0o750, 1000, 1001]);
    expect((await stat(join(fs, 'b/plain.txt'))).mode & 0o7777).toBe(0o700);
    expect((await stat(join(fs, 'c/exec.sh'))).mode & 0o7777).toBe(0o755);
    expect((await stat(join(fs, 'c/private.key'))).mode & 0o7777).toBe(0o600);
    const d = await stat(join(fs, 'd/plain.txt'));
    expect([d.uid, d.gid]).toEqual([42, 42]);
  });

  test('--chown by name is resolved from the stage /etc/passwd and /etc/group', async () => {
    const b = await buildInline({
      Dockerfile: 'FROM scratch\nCOPY passwd group /etc/\nCOPY --chown=app:staff a.txt /home/\nCOPY --chown=app a.txt /x/\n',
      passwd: 'root:x:0:0:root:/root:/bin/sh\napp:x:1234:4321::/home/app:/bin/sh\n',
      group: 'root:x:0:\nstaff:x:50:\n',
      'a.txt': 'a',
    });
    const fs = await b.rootfs();
    const h = await stat(join(fs, 'home/a.txt'));
    expect([h.uid, h.gid]).toEqual([1234, 50]);
    const x = await stat(join(fs, 'x/a.txt'));
    expect([x.uid, x.gid]).toEqual([1234, 4321]);
  });

  test('an unknown --chown user fails the step naming the Dockerfile line', async () => {
    await expect(buildInline({ Dockerfile: 'FROM scratch\nCOPY --chown=nobody a /a\n', a: 'a' })).rejects.toMatchObject({
      code: 'TSB_STEP_UNKNOWN_USER',
      range: { start: { line: 2 } },
    });
  });

  test('a missing source fails with TSB_STEP_SOURCE_NOT_FOUND at its line', async () => {
    await expect(buildInline({ Dockerfile: 'FROM scratch\n\nCOPY nope.txt /\n' })).rejects.toMatchObject({
      code: 'TSB_STEP_SOURCE_NOT_FOUND',
      range: { start: { line: 3 } },
    });
  });

  test('symlinks are copied as symlinks, hard links are kept', async () => {
    const { link } = await import('node:fs/promises');
    const b = await buildInline({ Dockerfile: 'FROM scratch\nCOPY tree /t\n', 'tree/f': 'F', 'tree/l': { symlink: 'f' } }, {});
    // add a hard link in the context of a second build
    await link(join(b.contextDir, 'tree/f'), join(b.contextDir, 'tree/h'));
    // a link whose name sorts before the original: the tar must still list the body first
    await link(join(b.contextDir, 'tree/f'), join(b.contextDir, 'tree/a'));
    const b2 = await buildInline({ Dockerfile: 'FROM scratch\nCOPY tree /t\n' }, { contextDir: b.contextDir, root: b.root });
    const fs = await b2.rootfs();
    expect(await readlink(join(fs, 't/l'))).toBe('f');
    const f = await stat(join(fs, 't/f'));
    const h = await stat(join(fs, 't/h'));
    expect(h.ino).toBe(f.ino);
    expect((await stat(join(fs, 't/a'))).ino).toBe(f.ino);
    expect(await readFile(join(fs, 't/a'), 'utf8')).toBe('F');
  });

  test('heredoc sources and COPY --from another stage, --link', async () => {
    const b = await buildInline({
      Dockerfile: [
        'FROM scratch AS build',
        'COPY <<EOF /out/hello.txt',
        'hello',
        'EOF',
        'FROM scratch',
        'COPY --from=build /out/hello.txt /app/',
        'COPY --link --from=build /out /linked',
      ].join('\n'),
    });
    const fs = await b.rootfs();
    expect(await readFile(join(fs, 'app/hello.txt'), 'utf8')).toBe('hello\n');
    expect(await readFile(join(fs, 'linked/hello.txt'), 'utf8')).toBe('hello\n');
    expect(b.image.layers).toHaveLength(2);
  });

  test('WORKDIR creates the directory once; an existing one adds no layer', async () => {
    const b = await buildInline({ Dockerfile: 'FROM scratch\nWORKDIR /app/sub\nWORKDIR /app\nCOPY a .\n', a: 'a' });
    const fs = await b.rootfs();
    expect((await stat(join(fs, 'app/sub'))).isDirectory()).toBe(true);
    expect(b.image.layers).toHaveLength(2);
    const workdirs = b.image.history.filter((h) => h.created_by?.startsWith('WORKDIR'));
    expect(workdirs.map((h) => Boolean(h.empty_layer))).toEqual([false, true]);
  });
});

describe('ADD', () => {
  test('a local tar.gz is extracted; --unpack=false keeps it', async () => {
    const ctx = await (await import('../helpers/build-inline.js')).tempDir();
    const { execFileSync } = await import('node:child_process');
    await writeFile(join(ctx, 'f.txt'), 'inside');
    execFileSync('tar', ['-czf', join(ctx, 'a.tar.gz'), '-C', ctx, 'f.txt']);
    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nADD a.tar.gz /x/\nADD --unpack=false a.tar.gz /y/\n');
    const b = await buildInline({ Dockerfile: 'FROM scratch\nADD a.tar.gz /x/\nADD --unpack=false a.tar.gz /y/\n' }, { contextDir: ctx });
    const fs = await b.rootfs();
    expect(await readFile(join(fs, 'x/f.txt'), 'utf8')).toBe('inside');
    expect((await stat(join(fs, 'y/a.tar.gz'))).isFile()).toBe(true);
  });

  test('ADD of a URL with --checksum; a wrong checksum fails', async () => {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      res.setHeader('Last-Modified', 'Wed, 21 Oct 2015 07:28:00 GMT');
      res.end('downloaded');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      const { createHash } = await import('node:crypto');
      const sum = 'sha256:' + createHash('sha256').update('downloaded').digest('hex');
      const b = await buildInline({ Dockerfile: `FROM scratch\nADD --checksum=${sum} http://127.0.0.1:${port}/files/data.bin /d/\n` });
      const fs = await b.rootfs();
      const st = await stat(join(fs, 'd/data.bin'));
      expect(await readFile(join(fs, 'd/data.bin'), 'utf8')).toBe('downloaded');
      expect(st.mode & 0o777).toBe(0o600);
      expect(st.mtime.toISOString()).toBe('2015-10-21T07:28:00.000Z');
      const bad = 'sha256:' + '0'.repeat(64);
      await expect(buildInline({ Dockerfile: `FROM scratch\nADD --checksum=${bad} http://127.0.0.1:${port}/x /d/\n` })).rejects.toMatchObject({
        code: 'TSB_STEP_CHECKSUM',
      });
    } finally {
      server.close();
    }
  });
});

describe('cache', () => {
  test('a rebuild is all cache hits with the same layers; stat cache skips hashing', async () => {
    const files = { Dockerfile: 'FROM scratch\nCOPY a.txt /a\nCOPY b.txt /b\n', 'a.txt': 'a', 'b.txt': 'b' };
    const first = await buildInline(files);
    expect(first.stats.hashedFiles).toBe(2);
    const second = await buildInline(files, { root: first.root, contextDir: first.contextDir });
    expect(second.events.filter((e) => e.type === 'step-cached')).toHaveLength(2);
    expect(second.image.layers).toEqual(first.image.layers);
    expect(second.stats.hashedFiles).toBe(0);
  });

  test('a content change invalidates that step and its descendants only; mtime does not', async () => {
    const files = { Dockerfile: 'FROM scratch\nCOPY a.txt /a\nCOPY b.txt /b\n', 'a.txt': 'a', 'b.txt': 'b' };
    const first = await buildInline(files);
    await utimes(join(first.contextDir, 'a.txt'), new Date(1e9), new Date(1e9));
    const touched = await buildInline(files, { root: first.root, contextDir: first.contextDir });
    expect(touched.events.filter((e) => e.type === 'step-cached')).toHaveLength(2);
    await writeFile(join(first.contextDir, 'b.txt'), 'B');
    const changed = await buildInline(files, { root: first.root, contextDir: first.contextDir });
    const cachedNames = changed.events.filter((e) => e.type === 'step-cached').map((e) => (e as { name: string }).name);
    expect(cachedNames).toEqual([expect.stringContaining('COPY a.txt /a')]);
  });

  test('--no-cache rebuilds every step', async () => {
    const files = { Dockerfile: 'FROM scratch\nCOPY a.txt /a\n', 'a.txt': 'a' };
    const first = await buildInline(files);
    const again = await buildInline(files, { root: first.root, contextDir: first.contextDir, noCache: true });
    expect(again.events.filter((e) => e.type === 'step-cached')).toHaveLength(0);
    expect(again.image.layers).toEqual(first.image.layers);
  });

  test('the same context built in two empty roots gives the same layers and history', async () => {
    const files = { Dockerfile: 'FROM scratch\nWORKDIR /w\nCOPY . .\nENV A=1\n', 'a.txt': 'a', 'd/b': 'b' };
    const one = await buildInline(files);
    const two = await buildInline(files, { contextDir: one.contextDir });
    expect(two.image).toEqual(one.image);
  });
});

describe('scheduling', () => {
  test('independent stages run side by side', async () => {
    const big = 'x'.repeat(4 << 20);
    const b = await buildInline({
      Dockerfile: 'FROM scratch AS a\nCOPY a /a\nFROM scratch AS b\nCOPY b /b\nFROM scratch\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n',
      a: big,
      b: big + 'y',
    }, { jobs: 4 });
    const starts = new Map(b.events.filter((e) => e.type === 'step-start').map((e) => [e.step, e.time]));
    const dones = new Map(b.events.filter((e) => e.type === 'step-done').map((e) => [e.step, e.time]));
    const copyA = b.events.find((e) => e.type === 'step-start' && e.name.includes('COPY a /a'));
    const copyB = b.events.find((e) => e.type === 'step-start' && e.name.includes('COPY b /b'));
    expect(copyA && copyB).toBeTruthy();
    // both started before either finished
    const aStart = starts.get(copyA!.step)!;
    const bStart = starts.get(copyB!.step)!;
    expect(Math.max(aStart, bStart)).toBeLessThanOrEqual(Math.min(dones.get(copyA!.step)!, dones.get(copyB!.step)!));
  });
});

describe('COPY --parents', () => {
  test('keeps the source path below the context, or below a /./ pivot', async () => {
    const b = await buildInline({
      Dockerfile: 'FROM scratch\nCOPY --parents x/a.txt y/*.txt /p/\nCOPY --parents ./src/./app/main.c /q/\n',
      'x/a.txt': 'xa',
      'y/b.txt': 'yb',
      'src/app/main.c': 'main',
    });
    const fs = await b.rootfs();
    expect(await readFile(join(fs, 'p/x/a.txt'), 'utf8')).toBe('xa');
    expect(await readFile(join(fs, 'p/y/b.txt'), 'utf8')).toBe('yb');
    expect(await readFile(join(fs, 'q/app/main.c'), 'utf8')).toBe('main');
  });
});

describe('extended attributes', () => {
  test('COPY keeps user xattrs of context files and reports binary ones it cannot keep', async () => {
    const { execFileSync } = await import('node:child_process');
    const ctx = await (await import('../helpers/build-inline.js')).tempDir();
    await writeFile(join(ctx, 'f'), 'x');
    await writeFile(join(ctx, 'Dockerfile'), 'FROM scratch\nCOPY f /f\n');
    execFileSync('setfattr', ['-n', 'user.origin', '-v', 'context', join(ctx, 'f')]);
    execFileSync('setfattr', ['-n', 'user.blob', '-v', '0xff00', join(ctx, 'f')]);
    const b = await buildInline({ Dockerfile: 'FROM scratch\nCOPY f /f\n' }, { contextDir: ctx });
    const layer = b.image.layers[0]!;
    const tar = execFileSync('sh', ['-c', `gzip -dc < '${b.store.blobPath(layer.digest)}'`]).toString('latin1');
    expect(tar).toContain('SCHILY.xattr.user.origin=context');
    expect(b.events.some((e) => e.type === 'step-log' && e.data.includes('user.blob'))).toBe(true);
  });
});
