// `tsbuild pull [--platform os/arch] NAME[:TAG|@DIGEST]`: manifest, config
// and every layer into the local store, then the name (docker pull). Layer
// progress goes to stderr in docker's words; stdout gets the canonical
// reference, as docker's last line.
import { hostPlatform, parseReference } from '../../registry/index.js';
import type { ImagePlatform } from '../../executor/types.js';
import { str, type ParsedCommand } from '../cli/command-line.js';
import type { Io } from '../io.js';
import { TransferRenderer } from '../render/transfer-progress.js';
import { pullImageComplete } from '../remote/pull-remote.js';
import { resolveRegistryOptions } from '../remote/registry-options.js';
import { RegistrySession } from '../remote/registry-session.js';
import { parsePlatform } from './build.js';
import { openCommandStore } from './image-command-support.js';

/** Progress redraws only on a terminal, and not in CI logs that claim to be one. */
export function transferIsTty(io: Io): boolean {
  return io.isTTY && !io.env.CI;
}

export async function pullCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  const ref = parseReference(cmd.positionals[0] as string);
  const platformText = str(cmd.values, 'platform');
  const host = hostPlatform();
  const platform: ImagePlatform = platformText === undefined ? { os: host.os, architecture: host.architecture } : parsePlatform(platformText, '--platform');
  const store = await openCommandStore(cmd, io);
  const progress = new TransferRenderer(io.err, transferIsTty(io), 'pull');
  const session = new RegistrySession(resolveRegistryOptions(cmd.values, io.env), store, (e) => progress.update(e), io.signal);
  try {
    progress.print(`${ref.digest ?? ref.tag ?? 'latest'}: Pulling from ${ref.repository}`);
    const pulled = await pullImageComplete(store, session, ref, {
      platform,
      onLayers: (layers) => progress.layers(layers),
      onProgress: (e) => progress.update(e),
      ...(io.signal === undefined ? {} : { signal: io.signal }),
    });
    progress.print(`Digest: ${pulled.repoDigest}`);
    progress.print(`Status: ${pulled.upToDate ? 'Image is up to date' : 'Downloaded newer image'} for ${ref.familiar()}`);
    io.out(`${ref.canonical()}\n`);
    return 0;
  } finally {
    progress.done();
    await session.close();
  }
}
