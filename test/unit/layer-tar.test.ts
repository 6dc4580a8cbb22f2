// packTar is a pure encoder: these tests feed it in-memory entries and parse
// the bytes back with tar-stream's extractor. No filesystem involved.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { extract, type Header } from 'tar-stream';
import { describe, expect, test } from 'vitest';
import { LayerError, opaque, packTar, whiteout, type LayerEntry } from '../../executor/layer/index.js';

const T0 = new Date('2024-01-02T03:04:05.678Z');

function file(path: string, body: string | Buffer, extra: Partial<LayerEntry> = {}): LayerEntry {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  return { path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: T0, size: buf.length, open: () => Readable.from([buf]), ...extra };
}

function dir(path: string, extra: Partial<LayerEntry> = {}): LayerEntry {
  return { path, type: 'directory', mode: 0o755, uid: 0, gid: 0, mtime: T0, size: 0, ...extra };
}

async function* each(entries: readonly LayerEntry[]): AsyncGenerator<LayerEntry> {
  for (const e of entries) yield e;
}

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

interface Parsed {
  header: Header;
  body: Buffer;
}

async function parse(tar: Buffer): Promise<Parsed[]> {
  const out: Parsed[] = [];
  const ex = extract();
  const done = (async () => {
    for await (const entry of ex) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      out.push({ header: entry.header, body: Buffer.concat(chunks) });
    }
  })();
  ex.end(tar);
  await done;
  return out;
}

const SAMPLE: LayerEntry[] = [
  dir('etc'),
  file('etc/hosts', '127.0.0.1 localhost\n'),
  file('etc/empty', ''),
  { path: 'etc/hosts.link', type: 'hardlink', linkname: 'etc/hosts', mode: 0o644, uid: 0, gid: 0, mtime: T0, size: 0 },
  { path: 'etc/localtime', type: 'symlink', linkname: '/usr/share/zoneinfo/UTC', mode: 0o777, uid: 0, gid: 0, mtime: T0, size: 0 },
  { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666, uid: 0, gid: 0, mtime: T0, size: 0 },
  { path: 'dev/sda', type: 'block', devmajor: 8, devminor: 0, mode: 0o660, uid: 0, gid: 6, mtime: T0, size: 0 },
  { path: 'run/pipe', type: 'fifo', mode: 0o600, uid: 1000, gid: 1000, mtime: T0, size: 0 },
  file('usr/bin/su', 'ELF', { mode: 0o4755 }),
  dir('tmp', { mode: 0o1777 }),
  file('secret', 'x', { mode: 0 }),
];

describe('packTar', () => {
  test('every entry type round-trips through tar-stream', async () => {
    const parsed = await parse(await collect(packTar(each(SAMPLE))));
    expect(parsed.map((p) => [p.header.name, p.header.type, p.header.mode & 0o7777, p.header.linkname ?? null])).toEqual([
      ['etc/', 'directory', 0o755, null],
      ['etc/hosts', 'file', 0o644, null],
      ['etc/empty', 'file', 0o644, null],
      ['etc/hosts.link', 'link', 0o644, 'etc/hosts'],
      ['etc/localtime', 'symlink', 0o777, '/usr/share/zoneinfo/UTC'],
      ['dev/null', 'character-device', 0o666, null],
      ['dev/sda', 'block-device', 0o660, null],
      ['run/pipe', 'fifo', 0o600, null],
      ['usr/bin/su', 'file', 0o4755, null],
      ['tmp/', 'directory', 0o1777, null],
      ['secret', 'file', 0, null],
    ]);
    const byName = new Map(parsed.map((p) => [p.header.name, p]));
    expect(byName.get('etc/hosts')?.body.toString()).toBe('127.0.0.1 localhost\n');
    expect(byName.get('dev/null')?.header).toMatchObject({ devmajor: 1, devminor: 3 });
    expect(byName.get('run/pipe')?.header).toMatchObject({ uid: 1000, gid: 1000 });
    for (const p of parsed) {
      // Reproducible: no user or group names, whole-second mtimes.
      expect(p.header.uname).toBe('');
      expect(p.header.gname).toBe('');
      expect(p.header.mtime?.getTime()).toBe(Math.floor(T0.getTime() / 1000) * 1000);
    }
  });

  test('long and non-ASCII names and link targets use PAX records', async () => {
    const long = `${'d'.repeat(120)}/${'e'.repeat(120)}/${'f'.repeat(200)}`;
    const target = `/${'t'.repeat(300)}`;
    const entries = [
      file(long, 'long'),
      { path: 'l', type: 'symlink' as const, linkname: target, mode: 0o777, uid: 0, gid: 0, mtime: T0, size: 0 },
      { path: 'h', type: 'hardlink' as const, linkname: long, mode: 0o644, uid: 0, gid: 0, mtime: T0, size: 0 },
      file('grüße/日本語.txt', 'utf8'),
    ];
    const parsed = await parse(await collect(packTar(each(entries))));
    expect(parsed.map((p) => p.header.name)).toEqual([long, 'l', 'h', 'grüße/日本語.txt']);
    expect(parsed[0]?.body.toString()).toBe('long');
    expect(parsed[1]?.header.linkname).toBe(target);
    expect(parsed[2]?.header.linkname).toBe(long);
  });

  test('xattrs become SCHILY.xattr PAX records', async () => {
    const entries = [file('bin/ping', 'x', { xattrs: { 'user.b': 'two', 'user.a': 'one', 'trusted.overlay.origin': 'o' } })];
    const [p] = await parse(await collect(packTar(each(entries))));
    expect(p?.header.name).toBe('bin/ping');
    expect(p?.header.pax).toMatchObject({
      'SCHILY.xattr.user.a': 'one',
      'SCHILY.xattr.user.b': 'two',
      'SCHILY.xattr.trusted.overlay.origin': 'o',
    });
  });

  test('ids beyond the ustar range are carried in PAX', async () => {
    const [p] = await parse(await collect(packTar(each([file('f', 'x', { uid: 1_000_000, gid: 2_000_000 })]))));
    expect(p?.header.pax).toMatchObject({ uid: '1000000', gid: '2000000' });
  });

  test('sourceDateEpoch clamps later mtimes and keeps earlier ones', async () => {
    const epoch = 1_600_000_000;
    const early = new Date((epoch - 100) * 1000);
    const late = new Date((epoch + 5000) * 1000 + 999);
    const entries = [file('early', 'a', { mtime: early }), file('late', 'b', { mtime: late }), dir('d', { mtime: late })];
    const parsed = await parse(await collect(packTar(each(entries), { sourceDateEpoch: epoch })));
    expect(parsed.map((p) => (p.header.mtime?.getTime() ?? 0) / 1000)).toEqual([epoch - 100, epoch, epoch]);
  });

  test('the same entries packed twice give identical bytes', async () => {
    const a = await collect(packTar(each(SAMPLE), { sourceDateEpoch: 1 }));
    const b = await collect(packTar(each(SAMPLE), { sourceDateEpoch: 1 }));
    expect(a.equals(b)).toBe(true);
    expect(a.length % 512).toBe(0);
  });

  test('a slow consumer and a one-byte reader see the same bytes', async () => {
    const big = Buffer.alloc(300_000, 7);
    const entries = [...SAMPLE, file('big', big)];
    const reference = await collect(packTar(each(entries)));

    const slow: Buffer[] = [];
    await pipeline(
      packTar(each(entries)),
      new Writable({
        highWaterMark: 1,
        write(chunk: Buffer, _enc, cb) {
          slow.push(Buffer.from(chunk));
          setTimeout(cb, 1);
        },
      }),
    );
    expect(Buffer.concat(slow).equals(reference)).toBe(true);

    const oneByte: Buffer[] = [];
    const out = packTar(each(entries));
    await new Promise<void>((resolve, reject) => {
      out.on('readable', () => {
        let b: Buffer | null;
        while ((b = out.read(1) as Buffer | null) !== null) oneByte.push(b);
      });
      out.on('end', resolve);
      out.on('error', reject);
    });
    expect(oneByte.every((b) => b.length === 1)).toBe(true);
    expect(Buffer.concat(oneByte).equals(reference)).toBe(true);
  });

  test('nothing is pulled from a body while the consumer is not reading', async () => {
    const size = 32 * 1024 * 1024;
    let produced = 0;
    const body = (): Readable =>
      Readable.from(
        (function* () {
          for (let left = size; left > 0; left -= 65536) {
            produced += Math.min(65536, left);
            yield Buffer.alloc(Math.min(65536, left));
          }
        })(),
      );
    const out = packTar(each([{ path: 'big', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: T0, size, open: body }]));
    out.read(0); // start, then stop reading
    await new Promise((r) => setTimeout(r, 200));
    expect(produced).toBeGreaterThan(0);
    expect(produced).toBeLessThan(2 * 1024 * 1024);
    out.destroy();
  });

  test('many header-only entries are not buffered ahead of the consumer', async () => {
    let pulled = 0;
    async function* many(): AsyncGenerator<LayerEntry> {
      for (let i = 0; i < 100_000; i++) {
        pulled++;
        yield dir(`d${String(i).padStart(6, '0')}`);
      }
    }
    const out = packTar(many());
    out.read(0);
    await new Promise((r) => setTimeout(r, 200));
    // 64 KiB of output buffer is ~128 headers; allow slack for tar-stream's own buffer.
    expect(pulled).toBeLessThan(1000);
    out.destroy();
  });

  test('destroying the output stops the entry source', async () => {
    let finished = false;
    async function* source(): AsyncGenerator<LayerEntry> {
      try {
        for (let i = 0; ; i++) yield file(`f${i}`, Buffer.alloc(10_000));
      } finally {
        finished = true;
      }
    }
    const out = packTar(source());
    for await (const _ of out) {
      void _;
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(finished).toBe(true);
  });

  test('a body of the wrong length fails with TSB_LAYER_SIZE_MISMATCH', async () => {
    for (const actual of ['toolong', 'sh']) {
      const e = file('f', actual, { size: 4 });
      const err = await collect(packTar(each([e]))).catch((x: unknown) => x);
      expect(err).toBeInstanceOf(LayerError);
      expect(err).toMatchObject({ code: 'TSB_LAYER_SIZE_MISMATCH', entry: 'f' });
    }
  });

  test('malformed entries fail with TSB_LAYER_BAD_ENTRY', async () => {
    for (const bad of [file('/abs', 'x'), file('trailing/', 'x'), file('', 'x'), file('a/../b', 'x'), file('a//b', 'x'), { ...dir('d'), size: 3 }]) {
      await expect(collect(packTar(each([bad])))).rejects.toMatchObject({ code: 'TSB_LAYER_BAD_ENTRY' });
    }
  });

  test('a bad sourceDateEpoch is a RangeError', () => {
    expect(() => packTar(each([]), { sourceDateEpoch: -1 })).toThrow(RangeError);
    expect(() => packTar(each([]), { sourceDateEpoch: 1.5 })).toThrow(RangeError);
  });

  test('an empty entry list is a valid empty tar', async () => {
    const tar = await collect(packTar(each([])));
    expect(tar.equals(Buffer.alloc(1024))).toBe(true);
  });

  test('an error in the entry source fails the stream', async () => {
    async function* broken(): AsyncGenerator<LayerEntry> {
      yield file('a', 'a');
      throw new Error('walk failed');
    }
    await expect(collect(packTar(broken()))).rejects.toThrow('walk failed');
  });
});

describe('whiteout helpers', () => {
  test('produce OCI whiteout and opaque marker entries', () => {
    expect(whiteout('etc/passwd')).toMatchObject({ path: 'etc/.wh.passwd', type: 'file', size: 0, mode: 0 });
    expect(whiteout('/top/')).toMatchObject({ path: '.wh.top' });
    expect(opaque('var/cache')).toMatchObject({ path: 'var/cache/.wh..wh..opq', type: 'file', size: 0 });
    expect(opaque('')).toMatchObject({ path: '.wh..wh..opq' });
    expect(() => whiteout('a/..')).toThrow(RangeError);
  });
});
