// A container's life after the start, checked from outside through
// bin/tsbuild: logs (--tail, -f), exec, stop (STOPSIGNAL, then SIGKILL
// after -t), kill, HEALTHCHECK status in ps, OOM reporting, signals
// forwarded by a foreground run, and a supervisor killed with kill -9.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { BIN, containerEnv, expectNothingLeft, NOTHING, processesMentioning, waitFor, type ContainerEnv } from '../helpers/containers.js';

const canRun = process.getuid?.() === 0;

interface State {
  supervisor: { pid: number } | null;
  init: { pid: number } | null;
  cgroups: string[];
}

describe.skipIf(!canRun)(`container lifecycle${canRun ? '' : ' (skipped: needs root)'}`, () => {
  let ctx: ContainerEnv;
  beforeAll(async () => {
    ctx = await containerEnv();
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-hc-'));
    try {
      await writeFile(
        join(dir, 'Dockerfile'),
        'FROM busybox:test\nRUN mkdir -m 1777 /tmp\nHEALTHCHECK --interval=1s --timeout=3s --retries=2 CMD test -f /tmp/healthy\nSTOPSIGNAL SIGUSR1\nCMD ["sleep", "300"]\n',
      );
      const b = await ctx.tsb(['build', '-q', '-t', 'hc:test', dir], { timeoutMs: 120_000 });
      expect(b.code, b.stderr).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);
  afterEach(async () => ctx.removeAll());
  afterAll(async () => {
    if (ctx === undefined) return;
    await ctx.dispose();
    expect(processesMentioning(ctx.root)).toEqual([]);
  });

  const state = (id: string): State => JSON.parse(readFileSync(join(ctx.root, 'containers', id, 'state.json'), 'utf8')) as State;
  const psLine = async (name: string): Promise<string> =>
    (await ctx.tsb(['ps', '-a'])).stdout.split('\n').find((l) => l.endsWith(`   ${name}`)) ?? '';

  test('logs and logs --tail N; logs -f follows until the end', async () => {
    const r = await ctx.tsb(['run', '-d', '--name', 'talker', 'busybox:test', 'sh', '-c', 'for i in 1 2 3 4 5; do echo line $i; done; echo oops >&2; sleep 1; echo late']);
    expect(r.code).toBe(0);
    const follow = await ctx.tsb(['logs', '-f', 'talker'], { timeoutMs: 20_000 });
    expect(follow.stdout).toBe('line 1\nline 2\nline 3\nline 4\nline 5\nlate\n');
    expect(follow.stderr).toBe('oops\n');
    const all = await ctx.tsb(['logs', 'talker']);
    expect(all.stdout).toBe('line 1\nline 2\nline 3\nline 4\nline 5\nlate\n');
    const tail = await ctx.tsb(['logs', '--tail', '2', 'talker']);
    expect(tail.stdout).toBe('late\n');
    expect(tail.stderr).toBe('oops\n');
    const log = readFileSync(join(ctx.root, 'containers', r.stdout.trim(), 'container.log'), 'utf8').trim().split('\n');
    expect(JSON.parse(log[0] as string)).toMatchObject({ stream: 'stdout', data: 'line 1\n', time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
  });

  test('exec runs inside the running container: its hostname, files, environment and user', async () => {
    const r = await ctx.tsb(['run', '-d', '--name', 'box', '-e', 'FROM_RUN=1', 'busybox:test', 'sh', '-c', 'mkdir -p /tmp && echo made-by-main > /tmp/mark; exec sleep 300']);
    const id = r.stdout.trim();
    await waitFor(async () => (await ctx.tsb(['exec', 'box', 'test', '-f', '/tmp/mark'])).code === 0, 5000, '/tmp/mark');
    const e = await ctx.tsb(['exec', '-e', 'EXTRA=2', '-w', '/tmp', 'box', 'sh', '-c', 'hostname; cat mark; echo $FROM_RUN$EXTRA; pwd; ps -o pid,comm | grep -c sleep']);
    expect(e).toMatchObject({ code: 0, stdout: `${id.slice(0, 12)}\nmade-by-main\n12\n/tmp\n1\n` });
    expect((await ctx.tsb(['exec', '-u', 'app', 'box', 'id', '-u'])).stdout).toBe('1000\n');
    expect((await ctx.tsb(['exec', 'box', 'sh', '-c', 'exit 5'])).code).toBe(5);
    expect((await ctx.tsb(['exec', '-i', 'box', 'cat'], { input: 'piped\n' })).stdout).toBe('piped\n');
    const missing = await ctx.tsb(['exec', 'box', 'nosuchcmd']);
    expect(missing.code).toBe(125);
    expect(missing.stderr).toContain('TSB_RUN_EXEC');
    expect((await ctx.tsb(['stop', '-t', '0', 'box'])).code).toBe(0);
    const stopped = await ctx.tsb(['exec', 'box', 'true']);
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toContain('TSB_CONTAINER_NOT_RUNNING');
  });

  test('stop: a container handling SIGTERM ends at once, one ignoring it is killed after -t', async () => {
    await ctx.tsb(['run', '-d', '--name', 'polite', 'busybox:test', 'sh', '-c', 'trap "echo bye; exit 3" TERM; echo ready; while true; do sleep 0.1; done']);
    await ctx.tsb(['run', '-d', '--name', 'stubborn', 'busybox:test', 'sh', '-c', 'trap "" TERM; echo ready; while true; do sleep 0.1; done']);
    await waitFor(async () => (await ctx.tsb(['logs', 'polite'])).stdout === 'ready\n' && (await ctx.tsb(['logs', 'stubborn'])).stdout === 'ready\n');
    let t0 = Date.now();
    expect((await ctx.tsb(['stop', '-t', '5', 'polite'])).stdout).toBe('polite\n');
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(await psLine('polite')).toMatch(/Exited \(3\) /);
    expect((await ctx.tsb(['logs', 'polite'])).stdout).toBe('ready\nbye\n');
    t0 = Date.now();
    expect((await ctx.tsb(['stop', '-t', '1', 'stubborn'])).code).toBe(0);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThanOrEqual(1000);
    expect(took).toBeLessThan(4000);
    expect(await psLine('stubborn')).toMatch(/Exited \(137\) /);
    // stop of a stopped container is fine, as in docker.
    expect((await ctx.tsb(['stop', 'stubborn'])).code).toBe(0);
  });

  test("stop sends the image's STOPSIGNAL; kill -s sends any signal", async () => {
    const r = await ctx.tsb(['run', '-d', '--name', 'usr1', 'hc:test', 'sh', '-c', 'trap "echo got USR1; exit 0" USR1; trap "echo got HUP" HUP; echo ready; while true; do sleep 0.1; done']);
    expect(r.code).toBe(0);
    await waitFor(async () => (await ctx.tsb(['logs', 'usr1'])).stdout === 'ready\n');
    expect((await ctx.tsb(['kill', '-s', 'HUP', 'usr1'])).stdout).toBe('usr1\n');
    await waitFor(async () => (await ctx.tsb(['logs', 'usr1'])).stdout.includes('got HUP'));
    expect((await ctx.tsb(['stop', '-t', '10', 'usr1'])).code).toBe(0);
    expect((await ctx.tsb(['logs', 'usr1'])).stdout).toBe('ready\ngot HUP\ngot USR1\n');
    expect(await psLine('usr1')).toMatch(/Exited \(0\) /);
    const notRunning = await ctx.tsb(['kill', 'usr1']);
    expect(notRunning.code).toBe(1);
    expect(notRunning.stderr).toContain('TSB_CONTAINER_NOT_RUNNING');
    expect((await ctx.tsb(['kill', '-s', 'NOSUCH', 'usr1'])).stderr).toContain('TSB_CONTAINER_BAD_SIGNAL');
  });

  test('HEALTHCHECK: starting, then healthy or unhealthy, shown by ps and inspect', async () => {
    await ctx.tsb(['run', '-d', '--name', 'good', 'hc:test']);
    await ctx.tsb(['run', '-d', '--name', 'bad', 'hc:test']);
    expect(await psLine('good')).toMatch(/Up .* \(health: starting\)/);
    expect((await ctx.tsb(['exec', 'good', 'touch', '/tmp/healthy'])).code).toBe(0);
    await waitFor(async () => /\(healthy\)/.test(await psLine('good')), 10_000, 'healthy');
    await waitFor(async () => /\(unhealthy\)/.test(await psLine('bad')), 10_000, 'unhealthy');
    const bad = (JSON.parse((await ctx.tsb(['inspect', 'bad'])).stdout) as Array<{ State: { Health: { Status: string; FailingStreak: number; Log: Array<{ ExitCode: number }> } } }>)[0];
    expect(bad?.State.Health.Status).toBe('unhealthy');
    expect(bad?.State.Health.FailingStreak).toBeGreaterThanOrEqual(2);
    expect(bad?.State.Health.Log.at(-1)?.ExitCode).toBe(1);
  });

  test('--memory: an OOM kill is reported by ps and inspect', async () => {
    const r = await ctx.tsb(['run', '--name', 'hog', '--memory', '32m', 'busybox:test', 'dd', 'if=/dev/zero', 'of=/dev/null', 'bs=128M', 'count=1']);
    expect(r.code).toBe(137);
    const info = (JSON.parse((await ctx.tsb(['inspect', 'hog'])).stdout) as Array<{ State: { OOMKilled: boolean; ExitCode: number } }>)[0];
    expect(info?.State).toMatchObject({ OOMKilled: true, ExitCode: 137 });
    expect(await psLine('hog')).toMatch(/Exited \(137\) .*\(OOMKilled\)/);
  });

  test('a foreground run forwards SIGINT and SIGTERM to the container and exits with its status', async () => {
    for (const [sig, code] of [['SIGINT', 4], ['SIGTERM', 5]] as const) {
      const child = spawn(BIN, ['--root', ctx.root, 'run', '--rm', 'busybox:test', 'sh', '-c', `trap "echo got ${sig}; exit ${code}" ${sig.slice(3)}; echo ready; while true; do sleep 0.1; done`], { env: ctx.env });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      await waitFor(() => out === 'ready\n', 10_000, 'ready');
      child.kill(sig);
      const exit = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
      expect(exit).toBe(code);
      expect(out).toBe(`ready\ngot ${sig}\n`);
    }
    expect((await ctx.tsb(['ps', '-aq'])).stdout).toBe('');
  });

  test('kill -9 of the supervisor: ps shows the container exited, rm removes everything', async () => {
    const r = await ctx.tsb(['run', '-d', '--name', 'orphan', '-p', '0:80', 'busybox:test', 'sleep', '300']);
    const id = r.stdout.trim();
    const s = state(id);
    expect(s.cgroups.length).toBeGreaterThan(0);
    expect(s.cgroups.every((c) => existsSync(c))).toBe(true);
    process.kill(s.supervisor?.pid as number, 'SIGKILL');
    await waitFor(async () => /Exited \(137\)/.test(await psLine('orphan')), 10_000, 'exited in ps');
    expect((await ctx.tsb(['ps', '-q'])).stdout).toBe('');
    expect(existsSync(`/proc/${s.init?.pid}`) && readFileSync(`/proc/${s.init?.pid}/comm`, 'utf8').startsWith('tsbuild-init')).toBe(false);
    expect((await ctx.tsb(['rm', 'orphan'])).code).toBe(0);
    expect(s.cgroups.filter((c) => existsSync(c))).toEqual([]);
    expect(await expectNothingLeft(ctx, [id])).toEqual(NOTHING);
  });

  test('run -d --rm: the supervisor removes the container after its end', async () => {
    const r = await ctx.tsb(['run', '-d', '--rm', 'busybox:test', 'sh', '-c', 'sleep 0.3']);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    expect((await ctx.tsb(['ps', '-q'])).stdout).toBe(`${id.slice(0, 12)}\n`);
    await waitFor(async () => (await ctx.tsb(['ps', '-aq'])).stdout === '', 10_000, 'removal');
    expect(await expectNothingLeft(ctx, [id])).toEqual(NOTHING);
    await waitFor(() => processesMentioning(id).length === 0, 5000, 'the supervisor to exit');
  });

  test('rm refuses a running container without -f; rm -f removes it', async () => {
    const r = await ctx.tsb(['run', '-d', '--name', 'busy', 'busybox:test', 'sleep', '300']);
    const id = r.stdout.trim();
    const refused = await ctx.tsb(['rm', 'busy']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('TSB_CONTAINER_RUNNING');
    expect((await ctx.tsb(['rm', '-f', id.slice(0, 6)])).stdout).toBe(`${id.slice(0, 6)}\n`);
    expect(await expectNothingLeft(ctx, [id])).toEqual(NOTHING);
    expect((await ctx.tsb(['rm', 'busy'])).stderr).toContain('TSB_CONTAINER_NOT_FOUND');
  });
});
