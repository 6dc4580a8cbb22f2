// `tsbuild login -u USER (-p PASS | --password-stdin) SERVER`: check the
// credentials against the registry, then store them in docker's
// config.json (so docker, podman and skopeo see them too). No interactive
// prompt: scripts are the audience.
import { login } from '../../registry/index.js';
import { bool, str, type ParsedCommand } from '../cli/command-line.js';
import { CliError } from '../errors.js';
import type { Io } from '../io.js';
import { resolveRegistryOptions } from '../remote/registry-options.js';

export async function loginCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const server = cmd.positionals[0] as string;
  const username = str(cmd.values, 'username');
  const fromStdin = bool(cmd.values, 'password-stdin');
  let password = str(cmd.values, 'password');
  if (password !== undefined && fromStdin) throw new CliError('TSB_CLI_USAGE', 'tsbuild login: --password and --password-stdin are mutually exclusive');
  if (username === undefined || username === '') {
    throw new CliError('TSB_CLI_USAGE', 'tsbuild login: --username is required (there is no interactive prompt)');
  }
  if (fromStdin) password = io.readStdin().replace(/[\r\n]+$/, '');
  else if (password !== undefined) io.err('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  if (password === undefined || password === '') {
    throw new CliError('TSB_CLI_USAGE', 'tsbuild login: a password is required (--password-stdin or --password)');
  }
  const { insecure } = resolveRegistryOptions(cmd.values, io.env);
  await login(server, username, password, { env: io.env, registry: insecure === undefined ? {} : { insecure } });
  io.out('Login Succeeded\n');
  return 0;
}
