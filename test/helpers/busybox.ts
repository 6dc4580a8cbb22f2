// A busybox base image built by tsbuild itself from Debian's busybox-static:
// FROM scratch + the static binary + its applet links (made by a RUN).
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedImage } from '../../executor/index.js';
import { createSandboxRunner } from '../../executor/sandbox/index.js';
import { resolveLocalImage } from '../../src/image/resolve-local-image.js';
import { writeImage } from '../../src/image/write-image.js';
import { buildInline } from './build-inline.js';

export const BUSYBOX = '/bin/busybox';

export const BUSYBOX_DOCKERFILE = [
  'FROM scratch',
  'COPY busybox /bin/busybox',
  'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
  'COPY passwd group /etc/',
  'CMD ["/bin/sh"]',
].join('\n');

export const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\napp:x:1000:1000:app:/home/app:/bin/sh\n';
export const GROUP = 'root:x:0:\nnogroup:x:65534:\napp:x:1000:\nextra:x:2000:app\n';

/** Build busybox:test into `root` and return it resolved, ready for `images`. */
export async function busyboxImage(root: string): Promise<ResolvedImage> {
  // Usable from beforeAll, so no onTestFinished: the context is removed here.
  const ctx = await mkdtemp(join(tmpdir(), 'tsbuild-bb-'));
  await copyFile(BUSYBOX, join(ctx, 'busybox'));
  await writeFile(join(ctx, 'passwd'), PASSWD);
  await writeFile(join(ctx, 'group'), GROUP);
  const b = await buildInline({ Dockerfile: BUSYBOX_DOCKERFILE }, { root, contextDir: ctx, sandbox: createSandboxRunner() }).finally(() =>
    rm(ctx, { recursive: true, force: true }),
  );
  const written = await writeImage(b.store, b.image);
  await b.store.setTag('docker.io/library/busybox:test', written.manifest);
  const img = await resolveLocalImage(b.store, 'busybox:test');
  if (!img) throw new Error('busybox:test did not resolve');
  return img;
}
