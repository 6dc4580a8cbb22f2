// Where the compiled helper lives: native/tsbuild-sandbox at the package
// root, found from this file (source under executor/, or dist/executor/).
import { accessSync, constants, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SandboxError } from './errors.js';

function isPackageRoot(dir: string): boolean {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown }).name === 'tsbuild';
  } catch {
    return false;
  }
}

/** The tsbuild package root above `from`, or null. */
export function findPackageRoot(from = dirname(fileURLToPath(import.meta.url))): string | null {
  for (let dir = from; ; dir = dirname(dir)) {
    if (isPackageRoot(dir)) return dir;
    if (dirname(dir) === dir) return null;
  }
}

/** Absolute path of native/tsbuild-sandbox; TSB_SANDBOX_MISSING when it is not built. */
export function findSandboxBinary(): string {
  const root = findPackageRoot();
  const binary = join(root ?? '.', 'native', 'tsbuild-sandbox');
  try {
    if (root === null) throw new Error('package root not found');
    accessSync(binary, constants.X_OK);
  } catch (cause) {
    throw new SandboxError(
      'TSB_SANDBOX_MISSING',
      `the sandbox helper ${binary} is missing or not executable: run \`npm install\` (or \`make -C native\`) in the tsbuild package`,
      {},
      { cause },
    );
  }
  return binary;
}
