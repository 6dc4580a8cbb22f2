// Shared by the registry build tests: the CLI run in-process with a
// captured Io (no dist/ needed), an environment that reads no real user
// configuration (docker config.json, tsbuild config file), and a busybox
// base image pushed to a test registry with tsbuild itself.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { run } from '../../src/cli.js';
import type { Io } from '../../src/io.js';
import { readImage } from '../../src/image/index.js';
import { openStore } from '../../src/store/index.js';
import { busyboxImage } from './busybox.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `tsbuild ARGS` in this process. */
export async function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string } = {}): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      stdout += chunk.toString('utf8');
      done();
    },
  });
  const io: Io = {
    out: (t) => void (stdout += t),
    err: (t) => void (stderr += t),
    env: opts.env ?? process.env,
    readStdin: () => opts.stdin ?? '',
    isTTY: false,
    errStream: null,
    recordSource: () => undefined,
    stdout: out,
    openStdin: () => {
      throw new Error('no stdin in tests');
    },
  };
  const code = await run(args, io);
  return { code, stdout, stderr };
}

/** An environment whose HOME, DOCKER_CONFIG and XDG_CONFIG_HOME live under `dir`. */
export function isolatedEnv(dir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: dir,
    DOCKER_CONFIG: join(dir, 'docker'),
    XDG_CONFIG_HOME: join(dir, 'config'),
    ...extra,
  };
}

export interface SeededBase {
  /** `HOST/library/busybox:test` */
  ref: string;
  manifestDigest: string;
  layers: string[];
}

/** Build busybox:test with tsbuild in a scratch root and push it as HOST/REPO:test. */
export async function pushBusybox(host: string, repository = 'library/busybox', env: NodeJS.ProcessEnv = isolatedEnv(tmpdir())): Promise<SeededBase> {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-seed-'));
  try {
    await busyboxImage(root);
    const store = await openStore(root);
    const tag = await store.getTag('docker.io/library/busybox:test');
    if (tag === null) throw new Error('busybox:test missing');
    const ref = `${host}/${repository}:test`;
    await store.setTag(ref, tag.target);
    const r = await runCli(['--root', root, 'push', ref], { env });
    if (r.code !== 0) throw new Error(`push failed: ${r.stderr}`);
    const details = await readImage(store, tag.target);
    return { ref, manifestDigest: tag.target.digest, layers: details.layers.map((l) => l.digest) };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
