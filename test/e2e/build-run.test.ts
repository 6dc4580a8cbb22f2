// RUN through the CLI: output streaming, resource figures, failures and
// Ctrl-C leaving nothing behind.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { BUSYBOX_DOCKERFILE, GROUP, PASSWD } from '../helpers/busybox.js';

const BIN = new URL('../../bin/tsbuild', import.meta.url).pathname;
let root: string;

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-e2e-run-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function tsbuild(args: string[]) {
  const r = spawnSync(BIN, ['--root', root, ...args], { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ctx(dockerfile: string): string {
  const dir = tmp();
  writeFileSync(join(dir, 'Dockerfile'), dockerfile);
  return dir;
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'tsbuild-e2e-run-root-'));
  const bb = mkdtempSync(join(tmpdir(), 'tsbuild-e2e-bb-'));
  copyFileSync('/bin/busybox', join(bb, 'busybox'));
  writeFileSync(join(bb, 'passwd'), PASSWD);
  writeFileSync(join(bb, 'group'), GROUP);
  writeFileSync(join(bb, 'Dockerfile'), BUSYBOX_DOCKERFILE);
  execFileSync(BIN, ['--root', root, 'build', '-q', '-t', 'busybox:test', bb]);
  rmSync(bb, { recursive: true, force: true });
}, 120_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('RUN from the CLI', () => {
  test('output is streamed under the step, with peak memory and CPU time', () => {
    const r = tsbuild(['build', '--progress', 'plain', ctx('FROM busybox:test\nRUN echo hello-from-run && echo oops >&2\n')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/#\d+ hello-from-run/);
    expect(r.stderr).toMatch(/#\d+ oops/);
    expect(r.stderr).toMatch(/DONE \d+\.\ds \(peak [\d.]+ MiB, cpu [\d.]+s\)/);
  });

  test('a failing RUN exits 1 and names the line and the exit code', () => {
    const r = tsbuild(['build', '--progress', 'plain', ctx('FROM busybox:test\nRUN echo last words; exit 5\n')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Dockerfile:2:1');
    expect(r.stderr).toContain('exit code: 5');
    expect(r.stderr).toContain('last words');
    expect(r.stderr).toContain('>>> RUN echo last words; exit 5');
  });

  test('--memory OOM is reported as such', () => {
    const r = tsbuild(['build', '--memory', '48m', ctx('FROM busybox:test\nRUN dd if=/dev/zero of=/dev/null bs=200M count=1\n')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('out of memory, limit 48 MiB');
  });

  test('Ctrl-C stops the sandbox and leaves no process or staging directory behind', async () => {
    const marker = `tsbuild-sigint-${process.pid}-${Date.now()}`;
    const child = spawn(BIN, ['--root', root, 'build', '--progress', 'plain', ctx(`FROM busybox:test\nRUN sleep 300 # ${marker}\n`)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const running = (): boolean => spawnSync('pgrep', ['-f', 'sleep 300']).status === 0;
    const deadline = Date.now() + 20_000;
    while (!running() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(running()).toBe(true);
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    child.kill('SIGINT');
    const code = await exited;
    expect(code).toBe(130);
    expect(stderr).toContain('TSB_');
    // nothing of the build survives
    const gone = Date.now() + 5_000;
    while (running() && Date.now() < gone) await new Promise((r) => setTimeout(r, 100));
    expect(running()).toBe(false);
    expect(readdirSync(join(root, 'snapshots')).filter((n) => n.startsWith('tmp-'))).toEqual([]);
    expect(readFileMounts()).not.toContain(root);
  });
});

function readFileMounts(): string {
  return existsSync('/proc/mounts') ? execFileSync('cat', ['/proc/mounts'], { encoding: 'utf8' }) : '';
}
