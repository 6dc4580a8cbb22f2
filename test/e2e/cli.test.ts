// The CLI as a user runs it: bin/tsbuild in a child process.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';

const BIN = new URL('../../bin/tsbuild', import.meta.url).pathname;
const HELLO = new URL('../../fixtures/examples/hello', import.meta.url).pathname;

function tsbuild(args: string[], opts: { input?: string; env?: Record<string, string> } = {}) {
  const r = spawnSync(BIN, args, { encoding: 'utf8', input: opts.input ?? '', env: { ...process.env, ...opts.env } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function context(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-cli-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

const CONTRACT_BUILD_FLAGS = [
  '--file', '--tag', '--build-arg', '--target', '--no-cache', '--push', '--output', '--progress', '--network',
  '--memory', '--cpus', '--pids-limit', '--secret', '--cache-to', '--cache-from', '--call', '--platform',
];
const CONTRACT_COMMANDS = ['build', 'run', 'ps', 'logs', 'stop', 'rm', 'images', 'rmi', 'tag', 'pull', 'push', 'inspect', 'prune'];
const CONTRACT_RUN_FLAGS = ['--detach', '--rm', '--name', '--publish', '--volume', '--env', '--workdir', '--user', '--entrypoint',
  '--memory', '--cpus', '--network'];

describe('help', () => {
  test('tsbuild --help lists every command of the contract', () => {
    const r = tsbuild(['--help']);
    expect(r.code).toBe(0);
    for (const c of CONTRACT_COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  });

  test('tsbuild build --help lists every flag of the contract', () => {
    const r = tsbuild(['build', '--help']);
    expect(r.code).toBe(0);
    for (const f of CONTRACT_BUILD_FLAGS) expect(r.stdout).toContain(f + ' ');
    expect(r.stdout).toContain('-f, --file');
    expect(r.stdout).toContain('-t, --tag');
  });

  test('tsbuild run --help lists every flag of the contract', () => {
    const r = tsbuild(['run', '--help']);
    expect(r.code).toBe(0);
    for (const f of CONTRACT_RUN_FLAGS) expect(r.stdout).toContain(f);
  });
});

describe('build', () => {
  test('builds the example into the store; a rebuild is all cache hits', () => {
    const root = context({});
    const r = tsbuild(['--root', root, 'build', '-t', 'hello', '--progress', 'plain', HELLO]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('naming to docker.io/library/hello:latest done');
    const again = tsbuild(['--root', root, 'build', '-t', 'hello', '-q', HELLO]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    expect(r.stderr).toContain(again.stdout.trim());
    const plain = tsbuild(['--root', root, 'build', '--progress', 'plain', HELLO]);
    expect(plain.stderr.match(/CACHED/g)?.length).toBe(3);
  });

  test('a base image that is neither in the store nor reachable in a registry is a clear error', () => {
    const root = context({});
    // Not in the store, so it is pulled; nothing listens on loopback port 1,
    // so the pull fails without leaving the machine.
    const dir = context({ Dockerfile: 'FROM 127.0.0.1:1/nosuchimage:1\n' });
    const r = tsbuild(['--root', root, 'build', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('127.0.0.1:1/v2/nosuchimage/manifests/1');
    expect(r.stderr).toContain('(TSB_REGISTRY_UNREACHABLE)');
  });


  test('an unknown flag is a usage error naming the flag', () => {
    const r = tsbuild(['build', '--frobnicate', HELLO]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("'--frobnicate'");
  });

  test('a bad flag value names the flag and the accepted values', () => {
    const r = tsbuild(['build', '--progress', 'fancy', HELLO]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('invalid --progress "fancy"');
  });

  test('a Dockerfile error names file:line:column, quotes the line, exits 1, no stack', () => {
    const dir = context({ Dockerfile: 'FROM scratch\nCOPY a b\nFROBNICATE x\n' });
    const r = tsbuild(['build', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Dockerfile:3:1: unknown instruction: FROBNICATE');
    expect(r.stderr).toContain('>>> FROBNICATE x');
    expect(r.stderr).toContain('TSB_DOCKERFILE_UNKNOWN_INSTRUCTION');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('--debug adds the stack trace', () => {
    const dir = context({ Dockerfile: 'FROM scratch\nFROBNICATE x\n' });
    const r = tsbuild(['build', '--debug', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\n\s+at /);
  });

  test('missing context and missing Dockerfile are clear errors', () => {
    const r = tsbuild(['build', '/nonexistent/ctx']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('path "/nonexistent/ctx" not found');
    const dir = context({});
    const r2 = tsbuild(['build', dir]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain('failed to read the Dockerfile');
  });

  test('-f - reads the Dockerfile from stdin; --build-arg NAME takes the environment', () => {
    const dir = context({});
    const r = tsbuild(['--root', context({}), 'build', '-f', '-', '--build-arg', 'V', '--call=outline,format=json', dir], {
      input: 'FROM scratch\nARG V\nLABEL v=$V\n',
      env: { V: 'from-env' },
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).args).toEqual([{ name: 'V', value: null, description: '' }]);
    const built = tsbuild(['--root', context({}), 'build', '-q', '-f', '-', '--build-arg', 'V', dir], {
      input: 'FROM scratch\nARG V\nLABEL v=$V\n',
      env: { V: 'from-env' },
    });
    expect(built.code).toBe(0);
  });

  test('CONTEXT "-" takes a context tar (plain or gzip) or a bare Dockerfile on stdin', () => {
    const root = context({});
    const dirBuild = tsbuild(['--root', root, 'build', '-q', HELLO]);
    const tar = spawnSync('tar', ['-C', HELLO, '-czf', '-', '.']).stdout;
    const r = spawnSync(BIN, ['--root', root, 'build', '-q', '-'], { input: tar, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    // same context, same image, whichever way it arrives
    expect(r.stdout).toBe(dirBuild.stdout);
    const bare = tsbuild(['--root', root, 'build', '-q', '-'], { input: 'FROM scratch\nLABEL from=stdin\n' });
    expect(bare.code).toBe(0);
    const bad = tsbuild(['--root', root, 'build', '-q', '-'], { input: 'FROM scratch\nCOPY missing /\n' });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('not found in build context');
  });

  test('--target selects a stage and an unknown target fails', () => {
    const dir = context({ Dockerfile: 'FROM scratch AS a\nLABEL a=1\nFROM scratch AS b\nLABEL b=1\n' });
    const r = tsbuild(['--root', context({}), 'build', '--progress', 'plain', '--target', 'a', dir]);
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('LABEL b');
    const bad = tsbuild(['build', '--target', 'zz', dir]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('target stage "zz" could not be found');
  });
});

describe('--call', () => {
  test('outline lists args with defaults and descriptions, and secrets', () => {
    const dir = context({
      Dockerfile: [
        '# GO_VERSION sets the Go toolchain version',
        'ARG GO_VERSION=1.22',
        'FROM scratch AS build',
        'ARG FLAVOR',
        'RUN --mount=type=secret,id=token,required=true make',
      ].join('\n'),
    });
    const r = tsbuild(['build', '--call=outline', dir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/GO_VERSION\s+1\.22\s+sets the Go toolchain version/);
    expect(r.stdout).toMatch(/FLAVOR\s+<null>/);
    expect(r.stdout).toMatch(/token\s+true/);
    const json = tsbuild(['build', '--call=outline,format=json', dir]);
    expect(JSON.parse(json.stdout).secrets).toEqual([{ id: 'token', required: true }]);
  });

  test('check reports rule violations with their lines; warnings exit 0, errors exit 1', () => {
    const df = 'FROM scratch AS Build\nCMD echo hi\nMAINTAINER me\n';
    const r = tsbuild(['build', '--call=check', context({ Dockerfile: df })]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('StageNameCasing');
    expect(r.stdout).toContain('JSONArgsRecommended');
    expect(r.stdout).toContain('MaintainerDeprecated');
    const strict = tsbuild(['build', '--call=check', context({ Dockerfile: '# check=error=true\n' + df })]);
    expect(strict.code).toBe(1);
    const clean = tsbuild(['build', '--call=check', context({ Dockerfile: 'FROM scratch\nCMD ["true"]\n' })]);
    expect(clean.code).toBe(0);
    expect(clean.stdout).toContain('no warnings found');
  });

  test('targets lists the stages', () => {
    const r = tsbuild(['build', '--call=targets', context({ Dockerfile: 'FROM scratch AS a\nFROM scratch AS b\n' })]);
    expect(r.stdout).toContain('a\nb (default)');
  });
});

describe('every command of the contract', () => {
  test('is implemented: help lists nothing as "not implemented yet"', () => {
    const r = tsbuild(['--help']);
    expect(r.stdout).not.toContain('not implemented yet');
    for (const c of CONTRACT_COMMANDS) expect(tsbuild([c, '--help']).stdout).not.toContain('not implemented yet');
  });
});
