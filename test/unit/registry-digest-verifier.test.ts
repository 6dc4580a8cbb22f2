import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, test } from 'vitest';
import { DigestVerifier } from '../../registry/digest-verifier.js';
import type { RegistryError } from '../../registry/errors.js';

const data = Buffer.from('layer bytes, one at a time\n'.repeat(40));
const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;

function oneByteChunks(buf: Buffer): Readable {
  return Readable.from((function* () {
    for (let i = 0; i < buf.length; i++) yield buf.subarray(i, i + 1);
  })());
}

function collector(delayMs = 0): Writable & { bytes: Buffer[] } {
  const bytes: Buffer[] = [];
  const w = new Writable({
    highWaterMark: 4,
    write(chunk: Buffer, _enc, cb) {
      bytes.push(chunk);
      if (delayMs > 0) setTimeout(cb, delayMs);
      else cb();
    },
  });
  return Object.assign(w, { bytes });
}

describe('DigestVerifier', () => {
  test('one-byte chunks pass through unchanged and verify', async () => {
    const out = collector();
    const progress: number[] = [];
    const v = new DigestVerifier({ digest, size: data.length, onProgress: (n) => progress.push(n), progressStep: 256 });
    await pipeline(oneByteChunks(data), v, out);
    expect(Buffer.concat(out.bytes).equals(data)).toBe(true);
    expect(v.bytes).toBe(data.length);
    expect(() => v.verify()).not.toThrow();
    expect(progress.at(-1)).toBe(data.length);
    expect(progress.every((n, i) => i === 0 || n > progress[i - 1]!)).toBe(true);
  });

  test('a slow consumer gets backpressure: the verifier never buffers the whole input', async () => {
    const big = Buffer.alloc(1 << 20, 7);
    const bigDigest = `sha256:${createHash('sha256').update(big).digest('hex')}`;
    const v = new DigestVerifier({ digest: bigDigest, size: big.length });
    let maxBuffered = 0;
    let received = 0;
    const slow = new Writable({
      highWaterMark: 16 * 1024,
      write(chunk: Buffer, _enc, cb) {
        received += chunk.length;
        maxBuffered = Math.max(maxBuffered, v.readableLength + v.writableLength);
        setTimeout(cb, 1);
      },
    });
    const chunks = Array.from({ length: 64 }, (_, i) => big.subarray(i * 16384, (i + 1) * 16384));
    await pipeline(Readable.from(chunks), v, slow);
    expect(received).toBe(big.length);
    expect(maxBuffered).toBeLessThan(128 * 1024);
  });

  test('a mismatch fails the stream at its end, naming the digest', async () => {
    const bad = Buffer.from(data);
    bad[3] = 0;
    const err = (await pipeline(oneByteChunks(bad), new DigestVerifier({ digest, size: data.length }), collector()).catch((e: unknown) => e)) as RegistryError;
    expect(err.code).toBe('TSB_REGISTRY_DIGEST_MISMATCH');
    expect(err.message).toContain(digest);
    expect(err.digest).toBe(digest);
  });

  test('more bytes than the descriptor declares fail as soon as they arrive', async () => {
    const out = collector();
    const err = (await pipeline(Readable.from([data, data]), new DigestVerifier({ digest, size: data.length }), out).catch((e: unknown) => e)) as RegistryError;
    expect(err.code).toBe('TSB_REGISTRY_DIGEST_MISMATCH');
    expect(Buffer.concat(out.bytes).length).toBeLessThanOrEqual(data.length);
  });

  test('fewer bytes fail too', async () => {
    const err = (await pipeline(Readable.from([data.subarray(0, 10)]), new DigestVerifier({ digest, size: data.length }), collector()).catch((e: unknown) => e)) as RegistryError;
    expect(err.code).toBe('TSB_REGISTRY_DIGEST_MISMATCH');
  });

  test('a malformed digest is a protocol error', () => {
    expect(() => new DigestVerifier({ digest: 'sha256:xyz', size: 1 })).toThrow(expect.objectContaining({ code: 'TSB_REGISTRY_PROTOCOL' }));
  });
});
