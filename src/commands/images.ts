// `tsbuild images [-q]`: the local images, one row per name, as docker
// lists them (REPOSITORY TAG IMAGE ID CREATED SIZE; unnamed images as
// <none> <none>). SIZE is the sum of the stored (compressed) layers.
import { bool, type ParsedCommand } from '../cli/command-line.js';
import { imageId, listLocalImages, tryReadImage } from '../image/index.js';
import type { Io } from '../io.js';
import { formatTable, humanDuration, humanSize } from '../render/human-units.js';
import { tryParseReference } from '../../registry/index.js';
import { openCommandStore, shortId } from './image-command-support.js';

interface Row {
  repository: string;
  tag: string;
  id: string;
  created: number | null;
  size: number | null;
}

export async function imagesCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const store = await openCommandStore(cmd, io);
  const rows: Row[] = [];
  for (const image of await listLocalImages(store)) {
    const details = await tryReadImage(store, image.target);
    const id = shortId(imageId(details, image.target));
    const createdText = details?.config.created;
    const created = typeof createdText === 'string' && !Number.isNaN(Date.parse(createdText)) ? Date.parse(createdText) : null;
    const size = details === null ? null : details.layers.reduce((n, l) => n + l.size, 0);
    if (image.names.length === 0) rows.push({ repository: '<none>', tag: '<none>', id, created, size });
    for (const name of image.names) {
      const ref = tryParseReference(name);
      rows.push({ repository: ref?.familiarName() ?? name, tag: ref?.tag ?? '<none>', id, created, size });
    }
  }
  // Newest first, as docker sorts; then by name for a stable order.
  rows.sort((a, b) => (b.created ?? -Infinity) - (a.created ?? -Infinity) || a.repository.localeCompare(b.repository) || a.tag.localeCompare(b.tag));

  if (bool(cmd.values, 'quiet')) {
    const seen = new Set<string>();
    for (const r of rows) {
      if (seen.has(r.id)) continue;
      seen.add(r.id);
      io.out(`${r.id}\n`);
    }
    return 0;
  }
  const now = Date.now();
  const table: string[][] = [['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']];
  for (const r of rows) {
    table.push([
      r.repository,
      r.tag,
      r.id,
      r.created === null ? 'N/A' : `${humanDuration(Math.max(0, now - r.created))} ago`,
      r.size === null ? 'N/A' : humanSize(r.size, 3),
    ]);
  }
  io.out(formatTable(table));
  return 0;
}
