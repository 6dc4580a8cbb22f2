// The registry cache through bin/tsbuild, as a CI fleet would use it: build
// in root A with --cache-to, then in an EMPTY root B with --cache-from.
// Every step of B is a cache hit (plain progress says CACHED) and the image
// digest (--metadata-file containerimage.digest) is identical. The same
// through an OCI layout directory (type=local).
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { isolatedEnv, pushBusybox, type SeededBase } from '../helpers/registry-build.js';

const BIN = new URL('../../bin/tsbuild', import.meta.url).pathname;

let registry: RegistryServer;
let work: string;
let env: NodeJS.ProcessEnv;
let base: SeededBase;
let n = 0;

async function dir(prefix: string): Promise<string> {
  return mkdtemp(join(work, `${prefix}${n++}-`));
}

async function context(): Promise<string> {
  const ctx = await dir('ctx');
  await writeFile(join(ctx, 'Dockerfile'), [`FROM ${base.ref}`, 'COPY app.txt /app/app.txt', 'RUN echo step-ran && cat /app/app.txt > /app/copy && echo built >> /app/copy', 'CMD ["cat", "/app/copy"]', ''].join('\n'));
  await writeFile(join(ctx, 'app.txt'), 'application\n');
  return ctx;
}

async function build(flags: string[]): Promise<{ stderr: string; digest: string; cached: number }> {
  const meta = join(await dir('meta'), 'metadata.json');
  const r = spawnSync(BIN, ['--root', await dir('root'), 'build', '--progress', 'plain', '--metadata-file', meta, ...flags, await context()], { env, encoding: 'utf8' });
  expect(r.stderr).toBe(r.status === 0 ? r.stderr : '');
  expect(r.status).toBe(0);
  const digest = (JSON.parse(await readFile(meta, 'utf8')) as Record<string, string>)['containerimage.digest'] as string;
  return { stderr: r.stderr, digest, cached: (r.stderr.match(/^#\d+ CACHED$/gm) ?? []).length };
}

beforeAll(async () => {
  registry = await startRegistry();
  work = await mkdtemp(join(tmpdir(), 'tsbuild-e2e-cache-'));
  env = isolatedEnv(work);
  base = await pushBusybox(registry.host, 'library/busybox', env);
});

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('build cache shared through a registry', () => {
  test('root A --cache-to, empty root B --cache-from: every step CACHED, same image digest', async () => {
    const ref = `${registry.host}/ci/app:cache`;
    const a = await build(['--cache-to', `type=registry,ref=${ref},mode=max`]);
    expect(a.cached).toBe(0);
    expect(a.stderr).toMatch(/^#\d+ step-ran$/m);
    const b = await build(['--cache-from', `type=registry,ref=${ref}`]);
    expect(b.cached).toBe(2); // COPY and RUN: every step that can be cached
    expect(b.stderr).not.toMatch(/^#\d+ step-ran$/m); // the RUN did not run
    expect(b.digest).toBe(a.digest);
  });

  test('the same through an OCI layout directory', async () => {
    const layout = join(await dir('cache'), 'layout');
    const a = await build(['--cache-to', `type=local,dest=${layout}`]);
    const b = await build(['--cache-from', `type=local,src=${layout}`]);
    expect(b.cached).toBe(2);
    expect(b.digest).toBe(a.digest);
  });
});
