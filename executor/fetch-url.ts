// ADD <url>: download to a temporary file in the store's tmp directory,
// hashing while writing; --checksum is verified before the file is used.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Agent, interceptors, request } from 'undici';

const dispatcher = new Agent().compose(interceptors.redirect({ maxRedirections: 5 }));
import { StepProblem } from './errors.js';

export interface Fetched {
  hostPath: string;
  digest: string;
  mtime: Date | null;
  name: string;
  size: number;
}

export async function fetchUrl(url: string, tmpDir: string, checksum: string | null, signal?: AbortSignal): Promise<Fetched> {
  const hostPath = join(tmpDir, `add-${process.pid}-${randomBytes(6).toString('hex')}`);
  let res;
  try {
    res = await request(url, { method: 'GET', dispatcher, ...(signal ? { signal } : {}) });
  } catch (e) {
    throw new StepProblem('TSB_STEP_DOWNLOAD', `ADD ${url}: ${(e as Error).message}`, { cause: e });
  }
  if (res.statusCode < 200 || res.statusCode >= 300) {
    await res.body.dump();
    throw new StepProblem('TSB_STEP_DOWNLOAD', `ADD ${url}: HTTP ${res.statusCode}`);
  }
  const algo = checksum ? (checksum.split(':')[0] as string) : 'sha256';
  const hash = createHash(algo);
  const sha256 = algo === 'sha256' ? hash : createHash('sha256');
  const tee = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      if (sha256 !== hash) sha256.update(chunk);
      cb(null, chunk);
    },
  });
  try {
    await pipeline(res.body, tee, createWriteStream(hostPath, { mode: 0o600 }));
  } catch (e) {
    await rm(hostPath, { force: true });
    throw new StepProblem('TSB_STEP_DOWNLOAD', `ADD ${url}: ${(e as Error).message}`, { cause: e });
  }
  const got = `${algo}:${hash.digest('hex')}`;
  if (checksum && got !== checksum) {
    await rm(hostPath, { force: true });
    throw new StepProblem('TSB_STEP_CHECKSUM', `ADD ${url}: checksum mismatch: expected ${checksum}, got ${got}`);
  }
  const lm = res.headers['last-modified'];
  const mtime = typeof lm === 'string' && !Number.isNaN(Date.parse(lm)) ? new Date(Date.parse(lm)) : null;
  const pathname = new URL(url).pathname;
  const name = decodeURIComponent(posix.basename(pathname)) || '__unnamed__';
  const size = (await stat(hostPath)).size;
  return { hostPath, digest: sha256 === hash ? got : `sha256:${sha256.digest('hex')}`, mtime, name, size };
}
