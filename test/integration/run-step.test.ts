// RUN through the real executor, sandbox and store, on a busybox image that
// tsbuild builds itself. Isolation details of the helper are covered by
// sandbox-*.test.ts; these check what a Dockerfile author sees.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import type { ResolvedImage } from '../../executor/index.js';
import { createSandboxRunner } from '../../executor/sandbox/index.js';
import { buildInline, tempDir } from '../helpers/build-inline.js';
import { busyboxImage } from '../helpers/busybox.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll } from 'vitest';
import { gunzipSync } from 'node:zlib';

let root: string;
let busybox: ResolvedImage;
const sandbox = createSandboxRunner();

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'tsbuild-run-root-'));
  busybox = await busyboxImage(root);
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const build = (files: Record<string, string>, opts: Parameters<typeof buildInline>[1] = {}) =>
  buildInline(files, { root, images: { 'busybox:test': busybox }, sandbox, ...opts });

function layerNames(blob: string): string[] {
  return execFileSync('tar', ['-tzf', blob], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('RUN', () => {
  test('a RUN that deletes a base file produces a whiteout; output files land in the layer', async () => {
    const b = await build({ Dockerfile: 'FROM busybox:test\nRUN rm /bin/wget && echo hi > /hello && mkdir -p /d/e\n' });
    const added = b.image.layers[b.image.layers.length - 1]!;
    const names = layerNames(b.store.blobPath(added.digest));
    expect(names).toContain('bin/.wh.wget');
    expect(names).toContain('hello');
    // only what the command changed: not the rest of /bin, and no mount stubs
    expect(names.filter((n) => n.startsWith('bin/') && n !== 'bin/' && n !== 'bin/.wh.wget')).toEqual([]);
    expect(names.some((n) => n.startsWith('etc/'))).toBe(false);
    const fs = await b.rootfs();
    expect(existsSync(join(fs, 'bin/wget'))).toBe(false);
    expect(await readFile(join(fs, 'hello'), 'utf8')).toBe('hi\n');
  });

  test('the command runs as pid 1 child in its own namespaces with ENV, WORKDIR, USER and build args', async () => {
    const b = await build({
      Dockerfile: [
        'FROM busybox:test',
        'ARG FLAVOUR=plain',
        'ENV GREETING=hello',
        'WORKDIR /work/dir',
        'USER root',
        'RUN mkdir -m 1777 /scratch',
        'USER app',
        'RUN echo "$GREETING|$FLAVOUR|$(id -u):$(id -g)|$(id -G)|$(pwd)|$HOME|$$|$(hostname)" > /scratch/out',
      ].join('\n'),
    }, { buildArgs: { FLAVOUR: 'spicy' } });
    const fs = await b.rootfs();
    const [greeting, flavour, ids, groups, cwd, home, pid, host] = (await readFile(join(fs, 'scratch/out'), 'utf8')).trim().split('|');
    expect([greeting, flavour, ids, cwd, home, host]).toEqual(['hello', 'spicy', '1000:1000', '/work/dir', '/home/app', 'tsbuild']);
    expect(groups?.split(' ')).toEqual(['1000', '2000']);
    expect(Number(pid)).toBeLessThan(10);
    expect((await stat(join(fs, 'scratch/out'))).uid).toBe(1000);
  });

  test('a failing RUN names the line, the exit code and the last output lines', async () => {
    await expect(build({ Dockerfile: 'FROM busybox:test\nRUN echo before-failing && exit 3\n' })).rejects.toMatchObject({
      code: 'TSB_STEP_FAILED',
      exitCode: 3,
      range: { start: { line: 2 } },
      message: expect.stringMatching(/exit code: 3[\s\S]*before-failing/),
    });
  });

  test('an unknown USER is an error before anything runs', async () => {
    await expect(build({ Dockerfile: 'FROM busybox:test\nUSER ghost\nRUN true\n' })).rejects.toMatchObject({
      code: 'TSB_STEP_UNKNOWN_USER',
    });
  });

  test('a memory hog is OOM-killed and reported as such', async () => {
    await expect(
      build({ Dockerfile: 'FROM busybox:test\nRUN dd if=/dev/zero of=/dev/null bs=300M count=1\n' }, { limits: { memory: 64 * 1024 * 1024 } }),
    ).rejects.toMatchObject({ code: 'TSB_STEP_FAILED', message: expect.stringContaining('out of memory, limit 64 MiB') });
  });

  test('--pids-limit contains a fork bomb', async () => {
    await expect(
      build({ Dockerfile: 'FROM busybox:test\nRUN for i in $(seq 1 200); do sleep 5 & done; wait\n' }, { limits: { pids: 20 } }),
    ).rejects.toMatchObject({ code: 'TSB_STEP_FAILED' });
  });

  test('cache mounts persist between builds and stay out of the image', async () => {
    const df = 'FROM busybox:test\nRUN --mount=type=cache,target=/cache,id=c1 echo x >> /cache/log && wc -l < /cache/log > /count\n';
    const one = await build({ Dockerfile: df });
    const two = await build({ Dockerfile: df }, { noCache: true });
    expect((await readFile(join(await one.rootfs(), 'count'), 'utf8')).trim()).toBe('1');
    expect((await readFile(join(await two.rootfs(), 'count'), 'utf8')).trim()).toBe('2');
    expect(existsSync(join(await two.rootfs(), 'cache/log'))).toBe(false);
  });

  test('secrets reach the command but no blob, config or history', async () => {
    const dir = await tempDir();
    const secretFile = join(dir, 'token');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(secretFile, 'S3CR3T-VALUE-123');
    const b = await build(
      { Dockerfile: 'FROM busybox:test\nRUN --mount=type=secret,id=tok,required=true --mount=type=secret,id=tok,env=TOK,target=/run/s2 sh -c \'cat /run/secrets/tok | wc -c > /len; echo ${#TOK} >> /len\'\n' },
      { secrets: new Map([['tok', { file: secretFile }]]) },
    );
    expect((await readFile(join(await b.rootfs(), 'len'), 'utf8')).split('\n').map((s) => s.trim())).toEqual(['16', '16', '']);
    for (const blob of readdirSync(join(root, 'blobs/sha256'))) {
      const bytes = readFileSync(join(root, 'blobs/sha256', blob));
      const text = (bytes[0] === 0x1f ? gunzipSync(bytes) : bytes).toString('latin1');
      expect(text).not.toContain('S3CR3T-VALUE-123');
    }
    expect(JSON.stringify(b.image)).not.toContain('S3CR3T');
  });

  test('a missing required secret fails before running', async () => {
    await expect(build({ Dockerfile: 'FROM busybox:test\nRUN --mount=type=secret,id=nope,required=true true\n' })).rejects.toMatchObject({
      code: 'TSB_STEP_BAD_SOURCE',
      message: expect.stringContaining('secret "nope" is required'),
    });
  });

  test('bind mounts from another stage are read-only unless rw, writes discarded', async () => {
    const b = await build({
      Dockerfile: [
        'FROM busybox:test AS src',
        'RUN mkdir /out && echo data > /out/file',
        'FROM busybox:test',
        'RUN --mount=type=bind,from=src,source=/out,target=/in cat /in/file > /copied && (touch /in/x 2>/dev/null && echo writable || echo readonly) > /ro',
        'RUN --mount=type=bind,from=src,source=/out,target=/in,rw touch /in/new && ls /in > /listing',
      ].join('\n'),
    });
    const fs = await b.rootfs();
    expect(await readFile(join(fs, 'copied'), 'utf8')).toBe('data\n');
    expect((await readFile(join(fs, 'ro'), 'utf8')).trim()).toBe('readonly');
    expect(await readFile(join(fs, 'listing'), 'utf8')).toContain('new');
    expect(existsSync(join(fs, 'in'))).toBe(false);
  });

  test('network none has only loopback', async () => {
    const b = await build({ Dockerfile: 'FROM busybox:test\nRUN --network=none ls /sys/class/net > /ifaces\n' });
    expect((await readFile(join(await b.rootfs(), 'ifaces'), 'utf8')).trim()).toBe('lo');
  });

  test('a directory replaced by a RUN hides the old content in later RUNs, from a fresh snapshot or an unpacked blob', async () => {
    const steps = ['FROM busybox:test', 'RUN mkdir -p /d && touch /d/old', 'RUN rm -rf /d && mkdir /d && touch /d/new'];
    const first = await build({ Dockerfile: [...steps, 'RUN ls /d > /listing'].join('\n') });
    expect((await readFile(join(await first.rootfs(), 'listing'), 'utf8')).trim()).toBe('new');
    // Drop every snapshot: the next build unpacks the cached layers from their blobs.
    rmSync(join(root, 'snapshots'), { recursive: true, force: true });
    const second = await build({ Dockerfile: [...steps, 'RUN ls /d > /listing2'].join('\n') });
    expect((await readFile(join(await second.rootfs(), 'listing2'), 'utf8')).trim()).toBe('new');
  });

  test('RUN results are cached; a changed build arg re-runs', async () => {
    const files = { Dockerfile: 'FROM busybox:test\nARG V=1\nRUN echo $V > /v\n' };
    await build(files);
    const again = await build(files);
    expect(again.events.some((e) => e.type === 'step-cached' && e.name.includes('RUN'))).toBe(true);
    const changed = await build(files, { buildArgs: { V: '2' } });
    expect(changed.events.some((e) => e.type === 'step-cached' && e.name.includes('RUN'))).toBe(false);
    expect((await readFile(join(await changed.rootfs(), 'v'), 'utf8')).trim()).toBe('2');
  });
});
