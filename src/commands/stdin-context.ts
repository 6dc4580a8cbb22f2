// `tsbuild build -` (docker's semantics): stdin is either a build context
// archive (tar, optionally gzip/bzip2/xz compressed) or a bare Dockerfile
// with an empty context. The archive is extracted as hostile input into a
// temporary directory that lives as long as the build.
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { applyLayer } from '../../executor/layer/index.js';
import { CliError } from '../errors.js';

export interface StdinContext {
  dir: string;
  /** Set when stdin was a Dockerfile rather than an archive. */
  dockerfileText: string | null;
  cleanup(): Promise<void>;
}

function isArchive(head: Buffer): boolean {
  if (head[0] === 0x1f && head[1] === 0x8b) return true;
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return true;
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true;
  if (head.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))) return true;
  return head.length >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
}

export async function readStdinContext(stdin: Readable): Promise<StdinContext> {
  const base = await mkdtemp(join(tmpdir(), 'tsbuild-stdin-'));
  const cleanup = (): Promise<void> => rm(base, { recursive: true, force: true });
  try {
    const raw = join(base, 'stdin');
    await pipeline(stdin, createWriteStream(raw));
    const fh = await open(raw, 'r');
    const head = Buffer.alloc(512);
    const { bytesRead } = await fh.read(head, 0, 512, 0);
    await fh.close();
    const dir = join(base, 'context');
    await (await import('node:fs/promises')).mkdir(dir);
    if (!isArchive(head.subarray(0, bytesRead))) {
      return { dir, dockerfileText: await readFile(raw, 'utf8'), cleanup };
    }
    try {
      await applyLayer(createReadStream(raw), dir, { whiteouts: 'keep' });
    } catch (e) {
      throw new CliError('TSB_CLI_FILE', `build context on stdin: ${(e as Error).message}`, { cause: e });
    }
    await rm(raw, { force: true });
    return { dir, dockerfileText: null, cleanup };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
