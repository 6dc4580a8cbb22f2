// `tsbuild prune [-a]`: forget untagged images (docker's dangling images),
// with -a also every build cache record, then sweep the store for blobs
// nothing references any more. Blobs and temp files younger than the gc
// grace period survive: a concurrent build may not have tagged them yet.
import { bool, type ParsedCommand } from '../cli/command-line.js';
import { UNTAGGED_NAMESPACE } from '../image/index.js';
import type { Io } from '../io.js';
import { humanSize } from '../render/human-units.js';
import { collectGarbage } from '../store/index.js';
import { openCommandStore } from './image-command-support.js';

/** Record namespaces that are build cache (executor/): removed by -a. */
export const BUILD_CACHE_NAMESPACES = ['cache', 'statcache'] as const;

export async function pruneCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const store = await openCommandStore(cmd, io);
  const tagged = new Set<string>((await store.listTags()).map((t) => t.target.digest));
  const untagged: string[] = [];
  for (const key of await store.listRecords(UNTAGGED_NAMESPACE)) {
    if (tagged.has(key)) continue;
    if (await store.deleteRecord(UNTAGGED_NAMESPACE, key)) untagged.push(key);
  }
  let cacheRecords = 0;
  if (bool(cmd.values, 'all')) {
    for (const ns of BUILD_CACHE_NAMESPACES) {
      for (const key of await store.listRecords(ns)) if (await store.deleteRecord(ns, key)) cacheRecords++;
    }
  }
  const gc = await collectGarbage(store);
  if (untagged.length > 0) io.out(`Deleted Images:\n${untagged.map((d) => `untagged: ${d}\n`).join('')}\n`);
  if (cacheRecords > 0) io.out(`Deleted build cache records: ${cacheRecords}\n`);
  if (gc.removedBlobs > 0) io.out(`Deleted blobs: ${gc.removedBlobs}\n`);
  io.out(`Total reclaimed space: ${humanSize(gc.reclaimedBytes)}\n`);
  return 0;
}
