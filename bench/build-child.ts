// Runs one build in a fresh process so its peak RSS is its own:
// node dist/bench/build-child.js ROOT CONTEXT → prints {ms, maxRssMB, hashed}
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { executeGraph } from '../executor/index.js';
import { createIgnoreMatcher, parseDockerfile, planBuild, readDockerignore } from '../parser/index.js';
import { openStore } from '../src/store/index.js';

async function main(): Promise<void> {
  const [root, context] = process.argv.slice(2) as [string, string];
  const start = performance.now();
  const store = await openStore(root);
  const df = parseDockerfile(readFileSync(join(context, 'Dockerfile'), 'utf8'));
  const graph = planBuild(df, {});
  const ignore = readDockerignore(context, join(context, 'Dockerfile'));
  const out = await executeGraph(graph, { store, images: {} }, {
    contextDir: context,
    ignore: ignore ? createIgnoreMatcher(ignore.patterns) : null,
    noCache: false,
    noCacheStages: new Set(),
    jobs: 2,
    sourceDateEpoch: undefined,
    emit: () => undefined,
  });
  const ms = performance.now() - start;
  process.stdout.write(
    JSON.stringify({ ms, maxRssMB: process.resourceUsage().maxRSS / 1024, hashed: out.stats.hashedFiles, cached: out.stats.cached }) + '\n',
  );
}

main().catch((e) => {
  process.stderr.write(String(e?.stack ?? e) + '\n');
  process.exit(1);
});
