// vitest globalSetup: e2e tests run the compiled CLI (bin/tsbuild → dist/),
// so compile once before any test runs to never test a stale build.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  // For a quick edit-test loop on suites that do not run bin/tsbuild.
  if (process.env.TSBUILD_SKIP_BUILD === '1') return;
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, [`${root}/node_modules/typescript/bin/tsc`, '-p', `${root}/tsconfig.json`], {
    cwd: root,
    stdio: 'inherit',
  });
}
