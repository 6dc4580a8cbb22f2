// Interop with real tools, both ways, through Debian's docker-registry:
//   tsbuild build --push → podman pulls and runs it;
//   buildah commits (docker schema2) and pushes → tsbuild pulls it and
//   builds FROM it (a RUN on its filesystem), and podman runs the result.
// podman and buildah keep all their state in temp dirs (vfs, runc).
import { execFile, spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { BUSYBOX } from '../helpers/busybox.js';
import { startRegistry, type RegistryServer } from '../helpers/registry.js';
import { isolatedEnv, pushBusybox, type SeededBase } from '../helpers/registry-build.js';
import { skopeoInspect } from '../helpers/skopeo.js';

const execFileP = promisify(execFile);
const BIN = new URL('../../bin/tsbuild', import.meta.url).pathname;

let registry: RegistryServer;
let work: string;
let env: NodeJS.ProcessEnv;
let base: SeededBase;
let n = 0;

async function dir(prefix: string): Promise<string> {
  return mkdtemp(join(work, `${prefix}${n++}-`));
}

function tsbuild(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(BIN, args, { env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `podman run --rm IMAGE` with all state under a temp dir; returns stdout. */
async function podmanRun(image: string): Promise<string> {
  // podman refuses a runroot longer than 50 characters: keep it short, and out of `work`.
  const state = await mkdtemp('/tmp/tsp-');
  try {
    const { stdout } = await execFileP(
      'podman',
      [
        '--root', join(state, 'root'), '--runroot', join(state, 'run'), '--storage-driver', 'vfs', '--runtime', 'runc',
        'run', '--rm', '--ulimit', 'nofile=1024:1024', '--ulimit', 'nproc=4096:4096', '--tls-verify=false', image,
      ],
      { timeout: 120_000, maxBuffer: 16 << 20 },
    );
    return stdout;
  } finally {
    await rm(state, { recursive: true, force: true });
  }
}

async function buildah(state: string, args: string[]): Promise<string> {
  const { stdout } = await execFileP('buildah', ['--root', join(state, 'root'), '--runroot', join(state, 'runroot'), '--storage-driver', 'vfs', ...args], {
    timeout: 120_000,
    maxBuffer: 16 << 20,
  });
  return stdout.trim();
}

beforeAll(async () => {
  registry = await startRegistry();
  work = await mkdtemp(join(tmpdir(), 'tsbuild-e2e-interop-'));
  env = isolatedEnv(work);
  base = await pushBusybox(registry.host, 'library/busybox', env);
});

afterAll(async () => {
  await registry?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

describe('interop', () => {
  test('what tsbuild builds and pushes, podman pulls and runs', async () => {
    const ctx = await dir('ctx');
    await writeFile(join(ctx, 'Dockerfile'), [`FROM ${base.ref}`, 'COPY greeting.txt /srv/greeting.txt', 'RUN echo "built by tsbuild" >> /srv/greeting.txt', 'CMD ["cat", "/srv/greeting.txt"]', ''].join('\n'));
    await writeFile(join(ctx, 'greeting.txt'), 'hello from the context\n');
    const image = `${registry.host}/interop/tsbuild-app:1`;
    const r = tsbuild(['--root', await dir('root'), 'build', '--progress', 'plain', '-t', image, '--push', ctx]);
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : '');
    expect(r.code).toBe(0);
    expect(await podmanRun(image)).toBe('hello from the context\nbuilt by tsbuild\n');
  }, 180_000);

  test('what buildah pushes (docker schema2), tsbuild pulls and builds FROM; podman runs the result', async () => {
    const state = await dir('buildah');
    const files = await dir('files');
    await copyFile(BUSYBOX, join(files, 'busybox'));
    await writeFile(join(files, 'hello.txt'), 'made by buildah\n');
    const ctr = await buildah(state, ['from', 'scratch']);
    await buildah(state, ['copy', ctr, join(files, 'busybox'), '/bin/busybox']);
    await buildah(state, ['copy', ctr, join(files, 'hello.txt'), '/hello.txt']);
    await buildah(state, ['config', '--cmd', '["/bin/busybox","cat","/hello.txt"]', ctr]);
    await buildah(state, ['commit', '--format', 'docker', ctr, 'localhost/buildah-base:1']);
    const remote = `${registry.host}/interop/buildah-base:1`;
    await buildah(state, ['push', '--tls-verify=false', 'localhost/buildah-base:1', `docker://${remote}`]);
    const info = await skopeoInspect(remote);

    const root = await dir('root');
    const pulled = tsbuild(['--root', root, 'pull', remote]);
    expect(pulled.code).toBe(0);
    const inspect = JSON.parse(tsbuild(['--root', root, 'inspect', remote]).stdout) as { RootFS: { Layers: string[] }; Config: { Cmd: string[] } }[];
    expect(inspect[0]?.Config.Cmd).toEqual(['/bin/busybox', 'cat', '/hello.txt']);
    expect(inspect[0]?.RootFS.Layers).toHaveLength(info.Layers.length);

    const ctx = await dir('ctx');
    await writeFile(
      join(ctx, 'Dockerfile'),
      [
        `FROM ${remote}`,
        'RUN ["/bin/busybox", "sh", "-c", "/bin/busybox cat /hello.txt > /seen && echo extended by tsbuild >> /seen"]',
        'CMD ["/bin/busybox", "cat", "/seen"]',
        '',
      ].join('\n'),
    );
    const out = await dir('out');
    const image = `${registry.host}/interop/on-buildah:1`;
    const built = tsbuild(['--root', root, 'build', '-t', image, '--push', '--output', `type=local,dest=${out}`, ctx]);
    expect(built.stderr).toBe(built.code === 0 ? built.stderr : '');
    expect(built.code).toBe(0);
    expect(await readFile(join(out, 'seen'), 'utf8')).toBe('made by buildah\nextended by tsbuild\n');
    // --push with another output: push=true lands on an added image output.
    expect((await skopeoInspect(image)).Layers.slice(0, info.Layers.length)).toEqual(info.Layers);
    expect(await podmanRun(image)).toBe('made by buildah\nextended by tsbuild\n');
  }, 240_000);
});
