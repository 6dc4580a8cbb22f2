// Registry benchmark (issue 5): push and pull of a ~300 MB image (a few
// random, incompressible layers) to a local docker-registry, tsbuild against
// `skopeo copy` of the same image in the same run, and a re-push of an
// unchanged 10-layer image counted through a proxy (target: HEADs only).
// Prints nothing; the result has bench/run.ts's BenchOutcome shape (figure:
// the worse of tsbuild's push and pull throughput as a multiple of skopeo's)
// plus the structured figures.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { anonymousCredentials, RegistryClient } from '../registry/index.js';
import { startFaultProxy } from '../test/helpers/fault-proxy.js';
import { layoutSink, layoutSource, writeOciImage, type OciImage } from '../test/helpers/oci-image.js';
import { startRegistry } from '../test/helpers/registry.js';
import { skopeoCopy } from '../test/helpers/skopeo.js';

export interface ThroughputFigures {
  /** Best of `runs`. */
  tsbuildMs: number;
  skopeoMs: number;
  tsbuildMBps: number;
  skopeoMBps: number;
}

export interface RegistryBenchResult {
  name: string;
  /** min(push, pull) throughput of tsbuild divided by skopeo's. */
  figure: number;
  unit: string;
  target: string;
  /** Push and pull ≥ skopeo, and the re-push sent nothing but HEADs for blobs. */
  pass: boolean;
  details: Record<string, string | number>;
  imageBytes: number;
  layers: number;
  runs: number;
  push: ThroughputFigures;
  pull: ThroughputFigures;
  repush: {
    layers: number;
    ms: number;
    /** Every request of the re-push, manifests included. */
    requests: number;
    blobRequests: number;
    /** Blob requests that were not HEAD (target 0). */
    nonHeadBlobRequests: number;
    manifestPuts: number;
  };
  /** Every run's time, ms. */
  samples: { pushTsbuildMs: number[]; pushSkopeoMs: number[]; pullTsbuildMs: number[]; pullSkopeoMs: number[] };
}

export interface RegistryBenchOptions {
  /** Total layer bytes of the big image. Default 300 MB. */
  totalBytes?: number;
  layers?: number;
  runs?: number;
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function figures(bytes: number, tsbuildMs: number[], skopeoMs: number[]): ThroughputFigures {
  const t = Math.min(...tsbuildMs);
  const s = Math.min(...skopeoMs);
  const mbps = (ms: number): number => Math.round((bytes / 1e6 / (ms / 1000)) * 10) / 10;
  return { tsbuildMs: Math.round(t), skopeoMs: Math.round(s), tsbuildMBps: mbps(t), skopeoMBps: mbps(s) };
}

function imageBytes(img: OciImage): number {
  return [img.config, ...img.layers].reduce((n, d) => n + d.size, 0);
}

export async function benchRegistry(opts: RegistryBenchOptions = {}): Promise<RegistryBenchResult> {
  const layers = opts.layers ?? 4;
  const totalBytes = opts.totalBytes ?? 300 * 1000 * 1000;
  const runs = opts.runs ?? 2;
  const work = await mkdtemp(join(tmpdir(), 'tsbuild-bench-registry-'));
  const client = new RegistryClient({ credentials: anonymousCredentials });
  try {
    const img = await writeOciImage(
      join(work, 'image'),
      Array.from({ length: layers }, () => ({ randomBytes: Math.floor(totalBytes / layers) })),
    );
    const bytes = imageBytes(img);
    const source = layoutSource(img.dir, { mediaType: img.mediaType, bytes: img.bytes });

    // Each run gets a fresh registry: nothing is already there, and skopeo's
    // blob-info cache (which remembers where it pushed a digest before and
    // would mount instead of upload) knows nothing about this host:port.
    const pushT: number[] = [];
    const pushS: number[] = [];
    const pullT: number[] = [];
    const pullS: number[] = [];
    for (let run = 0; run < runs; run++) {
      const registry = await startRegistry();
      try {
        pushT.push(await timed(() => client.pushImage(`${registry.host}/bench/tsbuild:1`, source)));
        pushS.push(await timed(() => skopeoCopy(`oci:${img.dir}:latest`, `docker://${registry.host}/bench/skopeo:1`)));
        const sinkDir = join(work, `pull-tsbuild-${run}`);
        const sink = await layoutSink(sinkDir);
        pullT.push(await timed(() => client.pullImage(`${registry.host}/bench/tsbuild:1`, sink, { concurrency: 4 })));
        await rm(sinkDir, { recursive: true, force: true });
        const outDir = join(work, `pull-skopeo-${run}`);
        pullS.push(await timed(() => skopeoCopy(`docker://${registry.host}/bench/tsbuild:1`, `oci:${outDir}:pulled`)));
        await rm(outDir, { recursive: true, force: true });
      } finally {
        await registry.stop();
      }
    }

    // Re-push of an unchanged 10-layer image, counted at a proxy.
    const ten = await writeOciImage(
      join(work, 'ten'),
      Array.from({ length: 10 }, (_, i) => ({ files: { [`layer-${i}.txt`]: `layer ${i}\n`.repeat(1000) } })),
    );
    const registry = await startRegistry();
    const proxy = await startFaultProxy(registry.url);
    let repush: RegistryBenchResult['repush'];
    try {
      const tenSource = layoutSource(ten.dir, { mediaType: ten.mediaType, bytes: ten.bytes });
      await client.pushImage(`${proxy.host}/bench/ten:1`, tenSource);
      // A fresh client: no connection or auth state carried over from the first push.
      const fresh = new RegistryClient({ credentials: anonymousCredentials });
      proxy.clear();
      try {
        const ms = await timed(() => fresh.pushImage(`${proxy.host}/bench/ten:1`, tenSource));
        const blobRequests = proxy.requests.filter((r) => r.path.includes('/blobs/'));
        repush = {
          layers: 10,
          ms: Math.round(ms * 10) / 10,
          requests: proxy.requests.length,
          blobRequests: blobRequests.length,
          nonHeadBlobRequests: blobRequests.filter((r) => r.method !== 'HEAD').length,
          manifestPuts: proxy.requests.filter((r) => r.method === 'PUT' && r.path.includes('/manifests/')).length,
        };
      } finally {
        await fresh.close();
      }
    } finally {
      await proxy.stop();
      await registry.stop();
    }

    const push = figures(bytes, pushT, pushS);
    const pull = figures(bytes, pullT, pullS);
    const ratio = Math.round(Math.min(push.tsbuildMBps / push.skopeoMBps, pull.tsbuildMBps / pull.skopeoMBps) * 100) / 100;
    const mb = Math.round(bytes / 1e6);
    return {
      name: `registry push + pull ${mb} MB (${layers} layers), re-push 10 layers`,
      figure: ratio,
      unit: '× skopeo',
      target: '≥ 1× skopeo; re-push: HEADs only',
      pass: ratio >= 1 && repush.nonHeadBlobRequests === 0,
      details: {
        [`push MB/s tsbuild / skopeo (best of ${runs})`]: `${push.tsbuildMBps} / ${push.skopeoMBps}`,
        [`pull MB/s tsbuild / skopeo (best of ${runs})`]: `${pull.tsbuildMBps} / ${pull.skopeoMBps}`,
        're-push unchanged 10 layers': `${repush.ms} ms, ${repush.requests} requests (${repush.blobRequests} blob, ${repush.nonHeadBlobRequests} not HEAD, ${repush.manifestPuts} manifest PUT)`,
      },
      imageBytes: bytes,
      layers,
      runs,
      push,
      pull,
      repush,
      samples: { pushTsbuildMs: pushT.map(Math.round), pushSkopeoMs: pushS.map(Math.round), pullTsbuildMs: pullT.map(Math.round), pullSkopeoMs: pullS.map(Math.round) },
    };
  } finally {
    await client.close();
    await rm(work, { recursive: true, force: true });
  }
}
