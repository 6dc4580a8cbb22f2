// Compression sniffing for layer and ADD archives: gzip is handled by zlib;
// bzip2, xz and zstd by spawning the Debian tools (`bzip2 -dc`, `xz -dc`,
// `zstd -dc`), which stream and never hold the archive in memory.
import { spawn, type ChildProcess } from 'node:child_process';
import { Duplex, Readable, type Transform } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { LayerError } from './errors.js';

export type ArchiveCompression = 'gzip' | 'bzip2' | 'xz' | 'zstd' | 'none';

const MAGIC: ReadonlyArray<[ArchiveCompression, readonly number[]]> = [
  ['gzip', [0x1f, 0x8b]],
  ['bzip2', [0x42, 0x5a, 0x68]], // "BZh"
  ['xz', [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]],
  ['zstd', [0x28, 0xb5, 0x2f, 0xfd]],
];
const SNIFF_BYTES = 6;

const INSTALL_HINT: Record<string, string> = {
  bzip2: 'apt-get install bzip2',
  xz: 'apt-get install xz-utils',
  zstd: 'apt-get install zstd',
};

export function detectCompression(head: Buffer): ArchiveCompression {
  for (const [kind, magic] of MAGIC) {
    if (head.length >= magic.length && magic.every((b, i) => head[i] === b)) return kind;
  }
  return 'none';
}

/**
 * Read the first bytes of `input` without losing them: returns them plus a
 * stream that yields the whole input again from byte 0.
 */
export async function sniff(input: Readable): Promise<{ head: Buffer; stream: Readable }> {
  const it = (input as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const first: Buffer[] = [];
  let have = 0;
  let ended = false;
  while (have < SNIFF_BYTES) {
    const r = await it.next();
    if (r.done === true) {
      ended = true;
      break;
    }
    const chunk = typeof r.value === 'string' ? Buffer.from(r.value) : r.value;
    first.push(chunk);
    have += chunk.length;
  }
  // At most SNIFF_BYTES of copying, whatever the chunk sizes.
  const head = Buffer.alloc(Math.min(have, SNIFF_BYTES));
  let off = 0;
  for (const c of first) {
    if (off >= head.length) break;
    off += c.copy(head, off, 0, Math.min(c.length, head.length - off));
  }
  async function* replay(): AsyncGenerator<Buffer> {
    yield* first;
    if (ended) return;
    // Returning early (consumer destroyed) calls it.return(), which destroys input.
    for (;;) {
      const r = await it.next();
      if (r.done === true) return;
      yield r.value;
    }
  }
  const stream = Readable.from(replay(), { objectMode: false });
  stream.once('close', () => {
    if (!input.destroyed) input.destroy();
  });
  return { head, stream };
}

export interface Decompressor {
  kind: ArchiveCompression;
  /** null for 'none'. */
  transform: Transform | Duplex | null;
  /** Settles when the decompressor is done; rejects with a LayerError if an
   * external tool is missing or exits non-zero. Resolves at once for zlib. */
  done: Promise<void>;
}

function spawnTool(tool: string): { duplex: Duplex; done: Promise<void> } {
  const child: ChildProcess = spawn(tool, ['-dc'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const { stdin, stdout, stderr } = child;
  if (stdin === null || stdout === null || stderr === null) throw new Error(`${tool}: no stdio pipes`);
  let errText = '';
  stderr.setEncoding('utf8');
  stderr.on('data', (d: string) => {
    if (errText.length < 4096) errText += d;
  });
  // Set when we kill the tool because the pipeline was torn down: its exit
  // status then explains nothing, the pipeline's own error does.
  let killed = false;
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      const msg =
        err.code === 'ENOENT'
          ? `${tool} is needed to decompress this archive but is not installed (${INSTALL_HINT[tool] ?? `install ${tool}`})`
          : `${tool}: ${err.message}`;
      reject(new LayerError('TSB_LAYER_TOOL_FAILED', msg, { cause: err }));
    });
    child.once('close', (code, signal) => {
      if (code === 0 || killed) resolve();
      else reject(new LayerError('TSB_LAYER_BAD_ARCHIVE', `${tool} -dc failed (${signal ?? `exit ${code}`}): ${errText.trim()}`));
    });
  });
  done.catch(() => undefined);
  // A failed tool closes stdin early; EPIPE then is expected, the exit
  // status carries the real error.
  stdin.on('error', () => undefined);
  let outputEnded = false;
  stdout.once('end', () => {
    outputEnded = true;
  });
  const duplex = Duplex.from({ writable: stdin, readable: stdout });
  duplex.once('close', () => {
    // After a clean end of output the tool exits by itself.
    if (!outputEnded && child.exitCode === null && child.signalCode === null) {
      killed = true;
      child.kill('SIGKILL');
    }
  });
  return { duplex, done };
}

export function decompressorFor(kind: ArchiveCompression): Decompressor {
  switch (kind) {
    case 'none':
      return { kind, transform: null, done: Promise.resolve() };
    case 'gzip':
      return { kind, transform: createGunzip(), done: Promise.resolve() };
    case 'bzip2':
    case 'xz':
    case 'zstd': {
      const { duplex, done } = spawnTool(kind);
      return { kind, transform: duplex, done };
    }
  }
}
