// Where state lives when neither --root nor TSBUILD_ROOT says otherwise
// (DESIGN.md, "Contracts"): /var/lib/tsbuild for root, the XDG data
// directory for everyone else.
import os from 'node:os';
import path from 'node:path';

export const SYSTEM_ROOT = '/var/lib/tsbuild';

export function defaultRoot(env: NodeJS.ProcessEnv = process.env, uid: number | undefined = process.getuid?.()): string {
  const explicit = env.TSBUILD_ROOT;
  if (explicit !== undefined && explicit !== '') return path.resolve(explicit);
  if (uid === 0) return SYSTEM_ROOT;
  // The XDG base-directory spec says relative values are invalid and must
  // be ignored, which also keeps the store from following the cwd around.
  const xdg = env.XDG_DATA_HOME;
  if (xdg !== undefined && path.isAbsolute(xdg)) return path.join(xdg, 'tsbuild');
  const home = env.HOME !== undefined && env.HOME !== '' ? env.HOME : os.homedir();
  return path.join(home, '.local', 'share', 'tsbuild');
}
