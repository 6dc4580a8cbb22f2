// overlayfs opaque directories (trusted.overlay.opaque=y): Node has no
// xattr API, so the helper's opaque-list / opaque-set subcommands do it.
import { execFile } from 'node:child_process';
import { SandboxError } from './errors.js';
import { findSandboxBinary } from './find-binary.js';

/** Keeps argv well below ARG_MAX. */
const BATCH = 512;

function run(binary: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(binary, args, { encoding: 'buffer', maxBuffer: 1 << 30 }, (err, stdout, stderr) => {
      if (err === null) return resolve(stdout);
      const detail = stderr.toString().trim() || err.message;
      reject(new SandboxError('TSB_SANDBOX_OPAQUE', `tsbuild-sandbox ${args[0]}: ${detail}`, {}, { cause: err }));
    });
  });
}

/** Directories below `dir` marked opaque, relative to it ("a/b"), sorted. Symlinks are not followed. */
export async function listOpaque(dir: string, binary: string = findSandboxBinary()): Promise<string[]> {
  const out = await run(binary, ['opaque-list', dir]);
  return out
    .toString('utf8')
    .split('\0')
    .filter((p) => p !== '')
    .sort();
}

/** Marks each directory opaque (absolute paths). */
export async function setOpaque(paths: readonly string[], binary: string = findSandboxBinary()): Promise<void> {
  for (let i = 0; i < paths.length; i += BATCH) {
    await run(binary, ['opaque-set', ...paths.slice(i, i + BATCH)]);
  }
}
