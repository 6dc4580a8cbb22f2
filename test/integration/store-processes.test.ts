// The store across processes: kill -9 at random instants (crash safety) and
// two writers at once (concurrency). Children run the real src/store code,
// compiled on its own into a temp dir, through fixtures/store-child.mjs.
//
// SIGKILL drops everything the process had not yet handed to the kernel, so
// this proves the rename protocol (no partial blob, tag or record is ever
// visible); it cannot prove the fsyncs, which only matter on power loss.
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { collectGarbage, openStore, type Digest } from '../../src/store/index.js';
import { CHILD_SCRIPT, assertBlobsIntact, compileStore, listFiles, tempDir } from './fixtures/store-helpers.js';

let build: { indexUrl: string; dir: string } | undefined;

beforeAll(async () => {
  build = await compileStore();
});

afterAll(async () => {
  if (build) await rm(build.dir, { recursive: true, force: true });
});

interface Child {
  proc: ChildProcess;
  lines: string[];
  waitFor(pred: (line: string) => boolean): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

function startChild(args: string[]): Child {
  if (!build) throw new Error('store not compiled');
  const proc = spawn(process.execPath, [CHILD_SCRIPT, build.indexUrl, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const waiters: Array<{ pred: (l: string) => boolean; resolve: (l: string) => void }> = [];
  let err = '';
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => (err += d));
  createInterface({ input: proc.stdout! }).on('line', (line) => {
    lines.push(line);
    for (let i = waiters.length - 1; i >= 0; i--) {
      const w = waiters[i]!;
      if (w.pred(line)) {
        waiters.splice(i, 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const child: Child = {
    proc,
    lines,
    exited,
    stderr: () => err,
    waitFor(pred) {
      const seen = lines.find(pred);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ pred, resolve });
        void exited.then(({ code, signal }) =>
          reject(new Error(`child exited (${code ?? signal}) before the expected line; stderr:\n${err}`)),
        );
      });
    },
  };
  return child;
}

interface ManifestDoc {
  config: { digest: Digest };
  layers: Array<{ digest: Digest }>;
}

/** Every blob hashes to its name; every tag and record parses and what it
 * references is present (blobs are written before the tag that names them). */
async function verifyStore(root: string): Promise<{ blobs: number; tags: number }> {
  const blobs = await assertBlobsIntact(root);
  const store = await openStore(root);
  const tags = await store.listTags();
  for (const tag of tags) {
    const manifest = JSON.parse((await store.readBlob(tag.target.digest)).toString('utf8')) as ManifestDoc;
    expect(await store.hasBlob(manifest.config.digest)).toBe(true);
    for (const l of manifest.layers) expect(await store.hasBlob(l.digest)).toBe(true);
  }
  for (const key of await store.listRecords('cache')) {
    const rec = await store.getRecord<{ blobs: Digest[] }>('cache', key);
    for (const b of rec?.blobs ?? []) expect(await store.hasBlob(b)).toBe(true);
  }
  return { blobs, tags: tags.length };
}

describe('crash safety', () => {
  test('SIGKILL at random moments never leaves a torn blob, tag or record; gc removes the leftovers', async () => {
    const root = path.join(await tempDir(), 'root');
    const tmp = path.join(root, 'tmp');
    const iterations = 10;
    let leftovers = 0;
    for (let iter = 0; iter < iterations; iter++) {
      const seed = `iter-${iter}-${Math.random().toString(16).slice(2)}`;
      const child = startChild(['churn', root, seed]);
      await child.waitFor((l) => l === 'ready');
      if (iter % 2 === 0) {
        // anywhere in the write cycle, including between blob, tag and record
        await sleep(Math.floor(Math.random() * 600));
      } else {
        // just after a layer write starts, so a temp file is half written
        const nth = Math.floor(Math.random() * 3);
        await child.waitFor((l) => l === `writing ${nth}`);
        await sleep(Math.floor(Math.random() * 10));
      }
      child.proc.kill('SIGKILL');
      const { signal } = await child.exited;
      expect(signal, `child died on its own: ${child.stderr()}`).toBe('SIGKILL');

      const inTmp = (await listFiles(tmp)).length;
      leftovers += inTmp;
      const before = await verifyStore(root);

      const store = await openStore(root);
      const gc = await collectGarbage(store, { graceMs: 0 });
      expect(gc.removedTemp).toBe(inTmp);
      expect(await listFiles(tmp)).toEqual([]);
      const after = await verifyStore(root);
      expect(after.tags).toBe(before.tags);
      expect(after.blobs).toBe(before.blobs - gc.removedBlobs);
      // What is left is exactly what tags and records reach: a second pass
      // finds nothing more to do.
      expect(await collectGarbage(store, { graceMs: 0 })).toEqual({ removedBlobs: 0, reclaimedBytes: 0, removedTemp: 0 });
    }
    // At least one kill landed mid-write (the odd iterations aim for that).
    expect(leftovers).toBeGreaterThan(0);
  }, 120_000);
});

describe('concurrency', () => {
  test('two processes writing the same blobs and different tags at once both succeed', async () => {
    for (let round = 0; round < 3; round++) {
      const root = path.join(await tempDir(), 'root');
      const tags = ['example.com/con/app:a', 'example.com/con/app:b'];
      const children = tags.map((tag) => startChild(['same', root, tag, '24']));
      await Promise.all(children.map((c) => c.waitFor((l) => l === 'ready')));
      for (const c of children) c.proc.stdin!.write('go\n');
      const exits = await Promise.all(children.map((c) => c.exited));
      exits.forEach((e, i) => expect(e, children[i]!.stderr()).toEqual({ code: 0, signal: null }));

      type Summary = { layer: { digest: Digest }; target: { digest: Digest }; small: Digest[] };
      const [a, b] = children.map((c) => JSON.parse(c.lines.at(-1)!) as Summary) as [Summary, Summary];
      expect(b.layer).toEqual(a.layer);
      expect(b.target).toEqual(a.target);
      expect(b.small).toEqual(a.small);

      const store = await openStore(root);
      const listed = await store.listTags();
      expect(listed.map((t) => t.name)).toEqual(tags);
      for (const t of listed) expect(t.target.digest).toBe(a.target.digest);
      expect((await store.listRecords('cache')).sort()).toEqual(tags);
      // layer + 25 small + 5 mid-sized + config + manifest, each once, intact
      expect(await assertBlobsIntact(root)).toBe(1 + 25 + 5 + 2);
      expect(await listFiles(path.join(root, 'tmp'))).toEqual([]);
      await verifyStore(root);
      // everything is reachable from the two tags and two records
      expect(await collectGarbage(store, { graceMs: 0 })).toEqual({ removedBlobs: 0, reclaimedBytes: 0, removedTemp: 0 });
    }
  }, 120_000);
});
