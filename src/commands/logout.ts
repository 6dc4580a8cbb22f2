// `tsbuild logout SERVER`: drop SERVER's entry from docker's config.json
// (every spelling of it). Not being logged in is not an error, as in docker.
import { logout } from '../../registry/index.js';
import type { ParsedCommand } from '../cli/command-line.js';
import type { Io } from '../io.js';

export async function logoutCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const server = cmd.positionals[0] as string;
  const removed = await logout(server, { env: io.env });
  io.out(removed ? `Removing login credentials for ${server}\n` : `Not logged in to ${server}\n`);
  return 0;
}
