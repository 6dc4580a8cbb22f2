// tsbuild run in the foreground, through bin/tsbuild: the container's exit
// status is ours, docker's override rules for the process, and every way a
// container can fail to start is a one-line TSB_RUN_* error with exit 125
// that leaves nothing behind.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { BIN, containerEnv, expectNothingLeft, NOTHING, type ContainerEnv } from '../helpers/containers.js';

const canRun = process.getuid?.() === 0;

describe.skipIf(!canRun)(`run in the foreground${canRun ? '' : ' (skipped: needs root)'}`, () => {
  let ctx: ContainerEnv;
  beforeAll(async () => {
    ctx = await containerEnv();
  }, 120_000);
  afterEach(async () => ctx.removeAll());
  afterAll(async () => ctx?.dispose());

  const containerDirs = async (): Promise<string[]> => (await ctx.tsb(['ps', '-aq'])).stdout.split('\n').filter(Boolean);

  test('the container exit status propagates, and --rm leaves nothing', async () => {
    const r = await ctx.tsb(['run', '--rm', 'busybox:test', 'sh', '-c', 'echo out; echo err >&2; exit 7']);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toBe('err\n');
    expect(await containerDirs()).toEqual([]);
    expect(await expectNothingLeft(ctx, [])).toEqual(NOTHING);
    const killed = await ctx.tsb(['run', '--rm', 'busybox:test', 'sh', '-c', 'kill -9 $$']);
    expect(killed.code).toBe(137);
  });

  test('without --rm the exited container stays, with its exit code, until rm', async () => {
    const r = await ctx.tsb(['run', '--name', 'keeper', 'busybox:test', 'sh', '-c', 'exit 3']);
    expect(r.code).toBe(3);
    const ps = await ctx.tsb(['ps', '-a']);
    expect(ps.stdout).toMatch(/keeper\n$/);
    expect(ps.stdout).toMatch(/Exited \(3\) /);
    const inspect = JSON.parse((await ctx.tsb(['inspect', 'keeper'])).stdout) as Array<{ Id: string; State: { ExitCode: number; Status: string }; Name: string }>;
    expect(inspect[0]?.State).toMatchObject({ Status: 'exited', ExitCode: 3 });
    expect(inspect[0]?.Name).toBe('/keeper');
    const id = inspect[0]?.Id as string;
    expect((await ctx.tsb(['rm', 'keeper'])).stdout).toBe('keeper\n');
    expect(await expectNothingLeft(ctx, [id])).toEqual(NOTHING);
    // The image path of inspect is untouched.
    const img = JSON.parse((await ctx.tsb(['inspect', 'busybox:test'])).stdout) as Array<{ RepoTags: string[] }>;
    expect(img[0]?.RepoTags).toEqual(['busybox:test']);
  });

  test('entrypoint, command, environment, working directory, user and hostname follow docker', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tsbuild-envfile-'));
    try {
      await writeFile(join(dir, 'env'), '# comment\nFROM_FILE=1\n\nSHARED=file\nCALLER\nUNSET_HERE\n');
      const r = await ctx.tsb(
        [
          'run', '--rm', '-e', 'SHARED=flag', '--env-file', join(dir, 'env'), '-w', '/tmp/work', '-u', 'app',
          '--hostname', 'box1', '--entrypoint', 'sh', 'busybox:test',
          '-c', 'echo "$FROM_FILE|$SHARED|$CALLER|${UNSET_HERE-unset}|$HOME"; pwd; id; hostname; echo $HOSTNAME',
        ],
        { env: { CALLER: 'from-caller' } },
      );
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe('1|flag|from-caller|unset|/home/app\n/tmp/work\nuid=1000(app) gid=1000(app) groups=2000(extra)\nbox1\nbox1\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // CMD args replace the image's Cmd; -u uid:gid needs no passwd entry.
    const numeric = await ctx.tsb(['run', '--rm', '-u', '65534:2000', 'busybox:test', 'id']);
    expect(numeric.stdout).toBe('uid=65534(nobody) gid=2000(extra)\n');
    // The image's CMD (sh) runs when none is given; stdin is empty without -i.
    const cmd = await ctx.tsb(['run', '--rm', 'busybox:test'], { input: 'echo should-not-run\n' });
    expect(cmd).toMatchObject({ code: 0, stdout: '' });
    const interactive = await ctx.tsb(['run', '--rm', '-i', 'busybox:test'], { input: 'echo from-stdin\n' });
    expect(interactive).toMatchObject({ code: 0, stdout: 'from-stdin\n' });
    const defaultHost = await ctx.tsb(['run', '--name', 'hn', 'busybox:test', 'hostname']);
    const id = (JSON.parse((await ctx.tsb(['inspect', 'hn'])).stdout) as Array<{ Id: string }>)[0]?.Id as string;
    expect(defaultHost.stdout).toBe(`${id.slice(0, 12)}\n`);
  });

  test('--read-only makes the root read-only but not volumes', async () => {
    const r = await ctx.tsb(['run', '--rm', '--read-only', '-v', 'rw-vol:/data', 'busybox:test', 'sh', '-c', 'touch /x 2>&1; touch /data/y && echo ok']);
    expect(r.stdout).toContain('Read-only file system');
    expect(r.stdout).toContain('ok');
    expect(r.code).toBe(0);
  });

  test('--memory, --cpus and --pids-limit reach the container cgroup', async () => {
    const r = await ctx.tsb(['run', '-d', '--name', 'limited', '--memory', '48m', '--cpus', '0.5', '--pids-limit', '20', 'busybox:test', 'sleep', '30']);
    expect(r.code).toBe(0);
    const id = r.stdout.trim();
    const state = JSON.parse(readFileSync(join(ctx.root, 'containers', id, 'state.json'), 'utf8')) as { cgroups: string[] };
    const read = (ctrl: string, file: string): string => {
      const dir = state.cgroups.find((c) => c.includes(`/${ctrl}/`) || !c.includes('/sys/fs/cgroup/memory/') && existsSync(join(c, file)));
      return readFileSync(join(dir as string, file), 'utf8').trim();
    };
    if (state.cgroups.some((c) => c.includes('/sys/fs/cgroup/memory/'))) {
      expect(read('memory', 'memory.limit_in_bytes')).toBe(String(48 * 1024 * 1024));
      expect(read('cpu', 'cpu.cfs_quota_us')).toBe('50000');
      expect(read('pids', 'pids.max')).toBe('20');
    } else {
      expect(read('', 'memory.max')).toBe(String(48 * 1024 * 1024));
      expect(read('', 'pids.max')).toBe('20');
    }
    const inspect = JSON.parse((await ctx.tsb(['inspect', 'limited'])).stdout) as Array<{ HostConfig: { Memory: number; NanoCpus: number; PidsLimit: number } }>;
    expect(inspect[0]?.HostConfig).toMatchObject({ Memory: 48 * 1024 * 1024, NanoCpus: 500_000_000, PidsLimit: 20 });
  });

  test.skipIf(spawnSync('script', ['--version']).status !== 0)('run -it: a pty sized like the terminal, keys from it, the exit status back', async () => {
    // script(1) gives the CLI a terminal; the container's shell reads the line typed into it.
    const inner = `stty rows 33 cols 77; exec ${BIN} --root ${ctx.root} run -it --rm busybox:test sh -c 'tty; stty size; read line; echo "typed:$line"; exit 6'`;
    const child = spawn('script', ['-qec', inner, '/dev/null'], { env: ctx.env });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const end = Date.now() + 15_000;
    while (!out.includes('33 77') && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    child.stdin.write('hello\r');
    const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
    const text = out.replace(/\r/g, '');
    expect(text).toContain('/dev/pts/0\n33 77\n');
    expect(text).toContain('typed:hello\n');
    expect(code).toBe(6);
  });

  describe('failures to start: exit 125, one line, nothing left', () => {
    const cases: Array<[string, string[], RegExp, string]> = [
      ['missing entrypoint binary', ['run', '--rm', 'busybox:test', 'nosuchbinary'], /exec "nosuchbinary": executable file not found/, 'TSB_RUN_EXEC'],
      ['unknown image', ['run', '--rm', '127.0.0.1:9/nosuch/image:1', 'true'], /unable to find image "127\.0\.0\.1:9\/nosuch\/image:1"/, 'TSB_RUN_IMAGE_NOT_FOUND'],
      ['invalid port', ['run', '--rm', '-p', '80:99999', 'busybox:test', 'true'], /invalid port specification "80:99999"/, 'TSB_RUN_INVALID_PORT'],
      ['invalid volume', ['run', '--rm', '-v', 'bad/name:/x', 'busybox:test', 'true'], /invalid volume specification "bad\/name:\/x"/, 'TSB_RUN_INVALID_VOLUME'],
      ['relative volume target', ['run', '--rm', '-v', 'vol:rel', 'busybox:test', 'true'], /invalid volume specification "vol:rel"/, 'TSB_RUN_INVALID_VOLUME'],
      ['unknown user', ['run', '--rm', '-u', 'nobodyhere', 'busybox:test', 'true'], /unable to find user nobodyhere/, 'TSB_RUN_UNKNOWN_USER'],
      ['relative working directory', ['run', '--rm', '-w', 'rel', 'busybox:test', 'true'], /working directory "rel" is invalid/, 'TSB_RUN_INVALID_OPTION'],
      ['invalid name', ['run', '--rm', '--name', 'bad name', 'busybox:test', 'true'], /invalid container name "bad name"/, 'TSB_RUN_INVALID_NAME'],
    ];
    test.each(cases)('%s', async (_what, args, message, code) => {
      const r = await ctx.tsb(args);
      expect(r.code).toBe(125);
      const lines = r.stderr.trimEnd().split('\n').filter((l) => !l.startsWith('Unable to find image'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
      expect(lines[0]).toContain(`(${code})`);
      expect(await containerDirs()).toEqual([]);
      expect(await expectNothingLeft(ctx, [])).toEqual(NOTHING);
    });

    test('a name already taken', async () => {
      expect((await ctx.tsb(['run', '--name', 'taken', 'busybox:test', 'true'])).code).toBe(0);
      const r = await ctx.tsb(['run', '--name', 'taken', 'busybox:test', 'true']);
      expect(r.code).toBe(125);
      expect(r.stderr).toMatch(/^ERROR: the container name "\/taken" is already in use.*\(TSB_RUN_NAME_IN_USE\)\n$/);
      expect(await containerDirs()).toHaveLength(1);
    });
  });
});
