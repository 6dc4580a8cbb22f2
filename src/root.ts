// The state directory: --root, else TSBUILD_ROOT, else the default for the user.
import { resolve } from 'node:path';
import { defaultRoot } from './store/index.js';
import type { FlagValues } from './cli/command-line.js';

export function resolveRoot(values: FlagValues, env: NodeJS.ProcessEnv): string {
  const flag = values['root'];
  if (typeof flag === 'string' && flag !== '') return resolve(flag);
  return defaultRoot(env);
}
