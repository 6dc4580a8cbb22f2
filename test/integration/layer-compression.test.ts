// applyLayer's compression sniffing (gzip by zlib; bzip2, xz and zstd by
// spawning the Debian tools) and its verdicts on broken archives.
import { execFile, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { applyLayer, detectCompression, LayerError } from '../../executor/layer/index.js';
import { hostileTar } from '../security/helpers/hostile-tar.js';
import { tempDir } from '../security/helpers/tree.js';

const run = promisify(execFile);

async function hasTool(tool: string): Promise<boolean> {
  try {
    await run(tool, ['--version']);
    return true;
  } catch {
    return false;
  }
}

/** Pipe `input` through `cmd args` and return its stdout (small test data). */
function filter(cmd: string, args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${cmd} exit ${code}`))));
    child.stdin.end(input);
  });
}

async function sampleTar(): Promise<Buffer> {
  return hostileTar([
    { name: 'dir/', type: 'directory', mode: 0o755 },
    { name: 'dir/file', body: 'payload '.repeat(5000) },
  ]);
}

async function applyBuffer(buf: Buffer): Promise<{ dest: string; compression: string }> {
  const dest = await tempDir();
  const r = await applyLayer(Readable.from([buf]), dest, { whiteouts: 'apply' });
  return { dest, compression: r.compression };
}

describe('compression detection', () => {
  test('plain tar and gzip', async () => {
    const tar = await sampleTar();
    for (const [buf, kind] of [
      [tar, 'none'],
      [gzipSync(tar), 'gzip'],
    ] as const) {
      const { dest, compression } = await applyBuffer(buf);
      expect(compression).toBe(kind);
      expect(await readFile(path.join(dest, 'dir/file'), 'utf8')).toBe('payload '.repeat(5000));
    }
  });

  for (const tool of ['bzip2', 'xz', 'zstd'] as const) {
    test(`${tool} (spawns ${tool} -dc)`, async (ctx) => {
      if (!(await hasTool(tool))) ctx.skip(`${tool} is not installed`);
      const compressed = await filter(tool, ['-c'], await sampleTar());
      expect(detectCompression(compressed)).toBe(tool);
      const { dest, compression } = await applyBuffer(compressed);
      expect(compression).toBe(tool);
      expect(await readFile(path.join(dest, 'dir/file'), 'utf8')).toBe('payload '.repeat(5000));
    });
  }

  test('a missing decompressor is a clear TSB_LAYER_TOOL_FAILED error', async () => {
    const compressed = await filter('bzip2', ['-c'], await sampleTar());
    const savedPath = process.env.PATH;
    process.env.PATH = await tempDir('tsb-empty-path-');
    try {
      const err = await applyBuffer(compressed).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LayerError);
      expect(err).toMatchObject({ code: 'TSB_LAYER_TOOL_FAILED' });
      expect((err as Error).message).toMatch(/bzip2 .*not installed.*apt-get install bzip2/);
    } finally {
      process.env.PATH = savedPath;
    }
  });
});

describe('broken archives are TSB_LAYER_BAD_ARCHIVE', () => {
  const cases: Array<[string, () => Promise<Buffer>]> = [
    ['random bytes', async () => Buffer.from('this is not a tar archive at all, just some text '.repeat(20))],
    ['a truncated tar', async () => (await sampleTar()).subarray(0, 2000)],
    ['a truncated gzip stream', async () => gzipSync(await sampleTar()).subarray(0, 100)],
    ['gzip of garbage', async () => gzipSync(Buffer.alloc(4096, 'x'))],
    ['a corrupt bzip2 stream', async () => Buffer.concat([Buffer.from('BZh91AY&SY'), Buffer.alloc(200, 7)])],
    [
      'an unsupported entry type (GNU sparse)',
      async () => {
        const tar = await hostileTar([{ name: 'sparse', body: 'x' }]);
        tar[156] = 'S'.charCodeAt(0);
        // Recompute the header checksum (bytes 148..155 count as spaces).
        tar.fill(0x20, 148, 156);
        let sum = 0;
        for (let i = 0; i < 512; i++) sum += tar[i] as number;
        tar.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
        return tar;
      },
    ],
  ];
  for (const [name, make] of cases) {
    test(name, async () => {
      await expect(applyBuffer(await make())).rejects.toMatchObject({ name: 'LayerError', code: 'TSB_LAYER_BAD_ARCHIVE' });
    });
  }

  test('an aborted applyLayer rejects with AbortError', async () => {
    const dest = await tempDir();
    const tar = await sampleTar();
    for (const cut of [3, 1500]) {
      // Sends `cut` bytes, then stalls forever.
      const stalled = new Readable({ read() {} });
      stalled.push(tar.subarray(0, cut));
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 50);
      await expect(applyLayer(stalled, dest, { whiteouts: 'apply', signal: ac.signal })).rejects.toMatchObject({ name: 'AbortError' });
    }
  });

  test('an empty stream is an empty layer', async () => {
    const dest = await tempDir();
    expect(await applyLayer(Readable.from([]), dest, { whiteouts: 'apply' })).toMatchObject({ entries: 0, compression: 'none' });
  });
});
