// tsbuild build's outputs, checked with tools that are not ours.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, onTestFinished, test } from 'vitest';

const BIN = new URL('../../bin/tsbuild', import.meta.url).pathname;

function tmp(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tsbuild-out-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function tsbuild(args: string[]) {
  const r = spawnSync(BIN, args, { encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function context(): string {
  const dir = tmp();
  mkdirSync(join(dir, 'app'));
  writeFileSync(join(dir, 'app/main.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  writeFileSync(join(dir, 'README'), 'readme\n');
  writeFileSync(
    join(dir, 'Dockerfile'),
    [
      'FROM scratch AS files',
      'COPY app /app',
      'FROM scratch',
      'LABEL org.example.name=demo',
      'ENV MODE=prod',
      'WORKDIR /srv',
      'COPY --from=files /app ./app',
      'COPY --chown=1000:1000 README .',
      'EXPOSE 8080',
      'ENTRYPOINT ["/srv/app/main.sh"]',
    ].join('\n') + '\n',
  );
  return dir;
}

describe('build outputs', () => {
  test('type=oci is read by skopeo and unpacked by umoci', () => {
    const ctx = context();
    const out = join(tmp(), 'layout');
    const r = tsbuild(['--root', tmp(), 'build', '-t', 'demo:1', '--output', `type=oci,dest=${out}`, ctx]);
    expect(r.stderr).toBe(r.code === 0 ? r.stderr : '');
    expect(r.code).toBe(0);
    const inspect = JSON.parse(execFileSync('skopeo', ['inspect', '--config', `oci:${out}:1`], { encoding: 'utf8' }));
    expect(inspect.config.Env).toContain('MODE=prod');
    expect(inspect.config.Entrypoint).toEqual(['/srv/app/main.sh']);
    expect(inspect.config.ExposedPorts).toEqual({ '8080/tcp': {} });
    expect(inspect.config.Labels).toEqual({ 'org.example.name': 'demo' });
    const bundle = join(tmp(), 'bundle');
    execFileSync('umoci', ['unpack', '--image', `${out}:1`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    expect(readFileSync(join(rootfs, 'srv/app/main.sh'), 'utf8')).toContain('echo hi');
    expect(statSync(join(rootfs, 'srv/app/main.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(join(rootfs, 'srv/README')).uid).toBe(1000);
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    expect(config.process.cwd).toBe('/srv');
  });

  test('type=docker loads into podman', () => {
    const ctx = context();
    const archive = join(tmp(), 'demo.tar');
    expect(tsbuild(['--root', tmp(), 'build', '-t', 'demo:2', '--output', `type=docker,dest=${archive}`, ctx]).code).toBe(0);
    const proot = tmp();
    const podman = ['--root', join(proot, 'root'), '--runroot', join(proot, 'run'), '--storage-driver', 'vfs'];
    const load = spawnSync('podman', [...podman, 'load', '-i', archive], { encoding: 'utf8' });
    expect(load.status, load.stderr).toBe(0);
    const inspected = JSON.parse(execFileSync('podman', [...podman, 'image', 'inspect', 'docker.io/library/demo:2'], { encoding: 'utf8' }));
    expect(inspected[0].Config.Entrypoint).toEqual(['/srv/app/main.sh']);
    expect(inspected[0].Config.WorkingDir).toBe('/srv');
  });

  test('type=local writes the filesystem; --iidfile and --metadata-file describe the image', () => {
    const ctx = context();
    const dir = tmp();
    const dest = join(dir, 'fs');
    const r = tsbuild([
      '--root', tmp(), 'build', '-o', `type=local,dest=${dest}`,
      '--iidfile', join(dir, 'iid'), '--metadata-file', join(dir, 'meta.json'), ctx,
    ]);
    expect(r.code).toBe(0);
    expect(existsSync(join(dest, 'srv/app/main.sh'))).toBe(true);
    const iid = readFileSync(join(dir, 'iid'), 'utf8');
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    expect(meta['containerimage.config.digest']).toBe(iid);
    expect(meta['containerimage.digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  test('the same context built in two empty roots gives the same image digest', () => {
    const ctx = context();
    const digests = [tmp(), tmp()].map((root) => {
      const meta = join(tmp(), 'meta.json');
      expect(tsbuild(['--root', root, 'build', '-t', 'repro', '--metadata-file', meta, ctx]).code).toBe(0);
      return JSON.parse(readFileSync(meta, 'utf8'))['containerimage.digest'];
    });
    expect(digests[0]).toBe(digests[1]);
  });

  test('FROM oci-layout:// and FROM a local tag', () => {
    const ctx = context();
    const root = tmp();
    const layout = join(ctx, 'base-layout');
    expect(tsbuild(['--root', root, 'build', '-t', 'base:1', '-o', `type=oci,dest=${layout}`, ctx]).code).toBe(0);
    expect(tsbuild(['--root', root, 'build', '-t', 'base:1', ctx]).code).toBe(0);
    const child = tmp();
    writeFileSync(join(child, 'extra'), 'x');
    writeFileSync(join(child, 'Dockerfile'), 'FROM base:1\nCOPY extra /extra\n');
    const dest = join(tmp(), 'fs');
    expect(tsbuild(['--root', root, 'build', '-o', `type=local,dest=${dest}`, child]).code).toBe(0);
    expect(existsSync(join(dest, 'srv/README'))).toBe(true);
    expect(existsSync(join(dest, 'extra'))).toBe(true);
    writeFileSync(join(ctx, 'Dockerfile.child'), 'FROM oci-layout://base-layout:1\nCOPY README /again\n');
    const dest2 = join(tmp(), 'fs2');
    const r = tsbuild(['--root', tmp(), 'build', '-f', join(ctx, 'Dockerfile.child'), '-o', `type=local,dest=${dest2}`, ctx]);
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(dest2, 'again'))).toBe(true);
    expect(existsSync(join(dest2, 'srv/app/main.sh'))).toBe(true);
  });
});
