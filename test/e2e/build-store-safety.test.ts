// The store under concurrent builds and under kill -9 of a build.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, onTestFinished, test } from 'vitest';

const BIN = new URL('../../bin/tsbuild', import.meta.url).pathname;

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-safety-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function run(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

function context(files: Record<string, string | Buffer>): string {
  const dir = tmp();
  for (const [name, data] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), data);
  }
  return dir;
}

test('two builds at once on one root both succeed, sharing steps', async () => {
  const root = tmp();
  const shared = randomBytes(2 << 20);
  const a = context({ Dockerfile: 'FROM scratch\nCOPY big /big\nCOPY a /a\n', big: shared, a: 'a' });
  const b = context({ Dockerfile: 'FROM scratch\nCOPY big /big\nCOPY b /b\n', big: shared, b: 'b' });
  const results = await Promise.all([
    run(['--root', root, 'build', '-t', 'one', a]),
    run(['--root', root, 'build', '-t', 'two', b]),
    run(['--root', root, 'build', '-t', 'three', a]),
  ]);
  for (const r of results) expect(r.code, r.stderr).toBe(0);
  const images = spawnSync(BIN, ['--root', root, 'images'], { encoding: 'utf8' });
  expect(images.stdout).toMatch(/one\s+latest/);
  expect(images.stdout).toMatch(/two\s+latest/);
  expect(images.stdout).toMatch(/three\s+latest/);
});

test('kill -9 of a build at any moment leaves a store the next build uses without repair', async () => {
  const root = tmp();
  const files: Record<string, string | Buffer> = { Dockerfile: 'FROM scratch\nCOPY data /data\nCOPY small /small\n', small: 's' };
  for (let i = 0; i < 40; i++) files[`data/f${i}`] = randomBytes(256 << 10);
  const ctx = context(files);
  for (const delay of [50, 150, 300, 600]) {
    const child = spawn(BIN, ['--root', root, 'build', '-t', 'victim', ctx], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, delay));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
  }
  const meta = join(tmp(), 'meta.json');
  const again = await run(['--root', root, 'build', '-t', 'victim', '--metadata-file', meta, ctx]);
  expect(again.code, again.stderr).toBe(0);
  const fresh = tmp();
  const meta2 = join(tmp(), 'meta.json');
  expect((await run(['--root', fresh, 'build', '--metadata-file', meta2, ctx])).code).toBe(0);
  const digest = (p: string): string => JSON.parse(readFileSync(p, 'utf8'))['containerimage.digest'];
  expect(digest(meta)).toBe(digest(meta2));
  const prune = spawnSync(BIN, ['--root', root, 'prune'], { encoding: 'utf8' });
  expect(prune.status, prune.stderr).toBe(0);
  const inspect = spawnSync(BIN, ['--root', root, 'inspect', 'victim'], { encoding: 'utf8' });
  expect(inspect.status, inspect.stderr).toBe(0);
});
