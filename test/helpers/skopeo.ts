// skopeo as the independent oracle: what tsbuild pushed must inspect and
// copy with it, and what it pushed must pull with tsbuild.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

export async function skopeo(args: string[]): Promise<string> {
  const { stdout } = await execFileP('skopeo', ['--insecure-policy', ...args], { maxBuffer: 64 << 20 });
  return stdout;
}

export interface SkopeoInspect {
  Digest: string;
  Layers: string[];
  Architecture: string;
  Os: string;
}

export async function skopeoInspect(ref: string, raw = false): Promise<SkopeoInspect & Record<string, unknown>> {
  return JSON.parse(await skopeo(['inspect', '--tls-verify=false', ...(raw ? ['--raw'] : []), `docker://${ref}`])) as SkopeoInspect & Record<string, unknown>;
}

/** skopeo copy SRC DST with plain HTTP for docker:// ends. */
export async function skopeoCopy(src: string, dst: string, extra: string[] = []): Promise<void> {
  await skopeo(['copy', '--src-tls-verify=false', '--dest-tls-verify=false', ...extra, src, dst]);
}
