// The helper's C unit tests (TAP), its small subcommands, its command line,
// and the status stream parser fed one byte at a time.
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { listOpaque, SandboxError, setOpaque, StatusReader, type StatusMessage } from '../../executor/sandbox/index.js';
import { BINARY, NATIVE, buildHelper, cannotRun, removeTree } from './fixtures/sandbox-rootfs.js';

const run = promisify(execFile);

describe('status stream', () => {
  test('parses every message kind whatever the chunking, and rejects malformed lines', () => {
    const text =
      '{"cgroup":["/sys/fs/cgroup/x/a"]}\n{"ok":true,"pid":7}\n' +
      '{"exited":true,"status":137,"signal":9,"oom":true,"memory_peak":67108864,"cpu_usec":null}\n' +
      '{"ok":false,"stage":"exec","syscall":"execve","errno":2,"message":"exec x: No such file or directory"}\n';
    const bytes = Buffer.from(text);
    const reader = new StatusReader();
    const got: StatusMessage[] = [];
    for (const b of bytes) got.push(...reader.push(Uint8Array.of(b)));
    reader.end();
    expect(got).toEqual([
      { kind: 'cgroup', paths: ['/sys/fs/cgroup/x/a'] },
      { kind: 'started', pid: 7 },
      { kind: 'exited', status: 137, signal: 9, oom: true, memoryPeak: 67108864, cpuUsec: null },
      { kind: 'failed', stage: 'exec', syscall: 'execve', errno: 2, message: 'exec x: No such file or directory' },
    ]);
    expect(() => new StatusReader().push(Buffer.from('{"ok":true}\n'))).toThrow(SandboxError);
    expect(() => new StatusReader().push(Buffer.from('nope\n'))).toThrow(/not JSON/);
    const partial = new StatusReader();
    partial.push(Buffer.from('{"ok":true,'));
    expect(() => partial.end()).toThrow(/truncated/);
  });
});

describe.skipIf(cannotRun !== null)(`native helper${cannotRun !== null ? ` (skipped: ${cannotRun})` : ''}`, () => {
  let base = '';
  beforeAll(() => {
    buildHelper();
    base = mkdtempSync(path.join(os.tmpdir(), 'tsb-sbx-native-'));
  });
  afterAll(() => removeTree(base));

  test('C unit tests of the pure helpers pass (TAP, ASan + UBSan)', () => {
    const tap = execFileSync('flock', [path.join(NATIVE, '.build-lock'), 'make', '-s', '-C', NATIVE, 'check'], { encoding: 'utf8' });
    const lines = tap.split('\n');
    const plan = lines.find((l) => /^1\.\.\d+$/.test(l));
    expect(plan).toBeDefined();
    const results = lines.filter((l) => /^(not )?ok \d+/.test(l));
    expect(results.length).toBe(Number(plan?.slice(3)));
    expect(results.filter((l) => l.startsWith('not ok'))).toEqual([]);
  });

  test('opaque-set / opaque-list round trip, relative paths, symlinks not followed', async () => {
    const root = path.join(base, 'upper');
    for (const d of ['a/b/c', 'x y', 'plain', 'target/inner']) mkdirSync(path.join(root, d), { recursive: true });
    symlinkSync(path.join(root, 'target'), path.join(root, 'link'));
    expect(await listOpaque(root)).toEqual([]);
    await setOpaque([path.join(root, 'a/b'), path.join(root, 'x y'), path.join(root, 'target/inner')]);
    expect(await listOpaque(root)).toEqual(['a/b', 'target/inner', 'x y']);
    const getfattr = await run('getfattr', ['--absolute-names', '-n', 'trusted.overlay.opaque', '--only-values', path.join(root, 'a/b')]).catch(() => null);
    if (getfattr !== null) expect(getfattr.stdout).toBe('y');
  });

  test('opaque-set refuses what is not a directory, with TSB_SANDBOX_OPAQUE', async () => {
    await expect(setOpaque([path.join(base, 'missing')])).rejects.toMatchObject({ code: 'TSB_SANDBOX_OPAQUE' });
    await expect(listOpaque(path.join(base, 'missing'))).rejects.toMatchObject({ code: 'TSB_SANDBOX_OPAQUE' });
  });

  test('command-line errors exit 125 with a message', async () => {
    const err = (await run(BINARY, ['--bogus']).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(err.code).toBe(125);
    expect(err.stderr).toMatch(/unknown argument "--bogus"/);
    const none = (await run(BINARY, []).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(none.code).toBe(125);
    expect(none.stderr).toMatch(/--spec-fd/);
  });
});
