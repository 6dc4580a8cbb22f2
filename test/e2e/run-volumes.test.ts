// Volumes through bin/tsbuild: bind mounts (rw and ro), named volumes that
// keep data across containers and are seeded from the image, anonymous
// volumes for the image's VOLUMEs (gone with rm -v and --rm), volume ls/rm.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { containerEnv, type ContainerEnv } from '../helpers/containers.js';

const canRun = process.getuid?.() === 0;

describe.skipIf(!canRun)(`volumes${canRun ? '' : ' (skipped: needs root)'}`, () => {
  let ctx: ContainerEnv;
  let host: string;
  beforeAll(async () => {
    ctx = await containerEnv();
    host = await mkdtemp(join(tmpdir(), 'tsbuild-vol-host-'));
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-vol-img-'));
    try {
      await writeFile(
        join(dir, 'Dockerfile'),
        'FROM busybox:test\nRUN mkdir /seed /anon && echo seeded > /seed/file && echo anon-content > /anon/f && chown 1000:1000 /seed/file\nVOLUME /anon\n',
      );
      const b = await ctx.tsb(['build', '-q', '-t', 'vol:test', dir], { timeoutMs: 120_000 });
      expect(b.code, b.stderr).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);
  afterEach(async () => {
    await ctx.removeAll();
    for (const v of (await ctx.tsb(['volume', 'ls'])).stdout.split('\n').slice(1)) {
      const name = v.split(/\s+/)[1];
      if (name) await ctx.tsb(['volume', 'rm', name]);
    }
  });
  afterAll(async () => {
    await ctx?.dispose();
    if (host) await rm(host, { recursive: true, force: true });
  });

  const volumeNames = async (): Promise<string[]> =>
    (await ctx.tsb(['volume', 'ls'])).stdout.split('\n').slice(1).map((l) => l.split(/\s+/)[1] ?? '').filter(Boolean);

  test('a named volume keeps data across two containers and outlives them until volume rm', async () => {
    expect((await ctx.tsb(['run', '--rm', '-v', 'keep:/data', 'busybox:test', 'sh', '-c', 'echo persisted > /data/x'])).code).toBe(0);
    expect(await volumeNames()).toEqual(['keep']);
    const second = await ctx.tsb(['run', '--name', 'reader', '-v', 'keep:/data:ro', 'busybox:test', 'sh', '-c', 'cat /data/x; echo more > /data/y']);
    expect(second.stdout).toBe('persisted\n');
    expect(second.stderr).toContain('Read-only file system');
    const inUse = await ctx.tsb(['volume', 'rm', 'keep']);
    expect(inUse.code).toBe(1);
    expect(inUse.stderr).toContain('TSB_VOLUME_IN_USE');
    expect((await ctx.tsb(['rm', 'reader'])).code).toBe(0);
    expect(await volumeNames()).toEqual(['keep']);
    expect(readFileSync(join(ctx.root, 'volumes', 'keep', '_data', 'x'), 'utf8')).toBe('persisted\n');
    expect((await ctx.tsb(['volume', 'rm', 'keep'])).stdout).toBe('keep\n');
    expect(existsSync(join(ctx.root, 'volumes', 'keep'))).toBe(false);
    expect((await ctx.tsb(['volume', 'rm', 'keep'])).stderr).toContain('TSB_VOLUME_NOT_FOUND');
  });

  test("a new named volume is seeded from the image's content at its mount point", async () => {
    const r = await ctx.tsb(['run', '--rm', '-v', 'seeded:/seed', 'vol:test', 'sh', '-c', 'cat /seed/file; stat -c %u /seed/file']);
    expect(r.stdout).toBe('seeded\n1000\n');
    const nocopy = await ctx.tsb(['run', '--rm', '-v', 'bare:/seed:nocopy', 'vol:test', 'ls', '/seed']);
    expect(nocopy.stdout).toBe('');
  });

  test("the image's VOLUMEs get anonymous volumes, removed by rm -v (kept by plain rm) and by --rm", async () => {
    const r = await ctx.tsb(['run', '--name', 'anon', 'vol:test', 'cat', '/anon/f']);
    expect(r.stdout).toBe('anon-content\n');
    const [anonVol] = await volumeNames();
    expect(anonVol).toMatch(/^[0-9a-f]{64}$/);
    expect((await ctx.tsb(['rm', '-v', 'anon'])).code).toBe(0);
    expect(await volumeNames()).toEqual([]);

    await ctx.tsb(['run', '--name', 'anon2', 'vol:test', 'true']);
    expect(await ctx.tsb(['rm', 'anon2'])).toMatchObject({ code: 0 });
    expect(await volumeNames()).toHaveLength(1);
    const [kept] = await volumeNames();
    await ctx.tsb(['volume', 'rm', kept as string]);

    expect((await ctx.tsb(['run', '--rm', 'vol:test', 'true'])).code).toBe(0);
    expect(await volumeNames()).toEqual([]);
    expect(readdirSync(join(ctx.root, 'volumes'))).toEqual([]);
  });

  test('bind mounts: writes land on the host; :ro refuses them', async () => {
    await writeFile(join(host, 'in'), 'from-host\n');
    const r = await ctx.tsb(['run', '--rm', '-v', `${host}:/mnt`, 'busybox:test', 'sh', '-c', 'cat /mnt/in; echo from-ctr > /mnt/out']);
    expect(r.stdout).toBe('from-host\n');
    expect(readFileSync(join(host, 'out'), 'utf8')).toBe('from-ctr\n');
    const ro = await ctx.tsb(['run', '--rm', '-v', `${host}:/mnt:ro`, 'busybox:test', 'sh', '-c', 'echo x > /mnt/out2']);
    expect(ro.code).not.toBe(0);
    expect(existsSync(join(host, 'out2'))).toBe(false);
    // A missing host directory is created, as docker does for -v.
    const made = join(host, 'made', 'here');
    expect((await ctx.tsb(['run', '--rm', '-v', `${made}:/m`, 'busybox:test', 'true'])).code).toBe(0);
    expect(existsSync(made)).toBe(true);
  });
});
