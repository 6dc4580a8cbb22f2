// --output parsing (buildx syntax) → OutputSpec. Pure: no files touched.
import { describe, expect, test } from 'vitest';
import { parseOutputSpec, parseOutputSpecs } from '../../src/image/index.js';

const CWD = '/work/ctx';

describe('parseOutputSpec', () => {
  test.each([
    ['type=oci,dest=out', { type: 'oci', dest: '/work/ctx/out', tar: false, names: [] }],
    ['type=oci,dest=/abs/image.tar', { type: 'oci', dest: '/abs/image.tar', tar: true, names: [] }],
    ['type=oci,dest=out,tar=true', { type: 'oci', dest: '/work/ctx/out', tar: true, names: [] }],
    ['type=oci,dest=x.tar,tar=false', { type: 'oci', dest: '/work/ctx/x.tar', tar: false, names: [] }],
    ['type=oci,dest=-', { type: 'oci', dest: '-', tar: true, names: [] }],
    ['type=oci,dest=out,name=app:1', { type: 'oci', dest: '/work/ctx/out', tar: false, names: ['docker.io/library/app:1'] }],
    ['type=docker,dest=img.tar', { type: 'docker', dest: '/work/ctx/img.tar', names: [] }],
    ['type=docker,dest=-,name=app', { type: 'docker', dest: '-', names: ['docker.io/library/app:latest'] }],
    ['type=docker,"name=a:1,localhost:5000/b:2",dest=x.tar', { type: 'docker', dest: '/work/ctx/x.tar', names: ['docker.io/library/a:1', 'localhost:5000/b:2'] }],
    ['type=docker,name=a:1,name=b:2,dest=x.tar', { type: 'docker', dest: '/work/ctx/x.tar', names: ['docker.io/library/a:1', 'docker.io/library/b:2'] }],
    ['type=local,dest=rootfs', { type: 'local', dest: '/work/ctx/rootfs' }],
    ['type=tar,dest=fs.tar', { type: 'tar', dest: '/work/ctx/fs.tar' }],
    ['type=tar,dest=-', { type: 'tar', dest: '-' }],
    ['type=image,name=app:1', { type: 'image', names: ['docker.io/library/app:1'], push: false }],
    ['type=image,name=app:1,push=false', { type: 'image', names: ['docker.io/library/app:1'], push: false }],
    ['type=image,name=app:1,push=true', { type: 'image', names: ['docker.io/library/app:1'], push: true }],
    ['type=registry,name=localhost:5000/app', { type: 'image', names: ['localhost:5000/app:latest'], push: true }],
    ['type=image', { type: 'image', names: [], push: false }],
    ['type=cacheonly', { type: 'cacheonly' }],
    ['TYPE=local,DEST=d', { type: 'local', dest: '/work/ctx/d' }],
    // Shorthands, as buildx: a bare path is local, "-" is a tar on stdout.
    ['out/dir', { type: 'local', dest: '/work/ctx/out/dir' }],
    ['-', { type: 'tar', dest: '-' }],
  ])('%s', (spec, expected) => {
    expect(parseOutputSpec(spec, CWD)).toEqual(expected);
  });

  test.each([
    ['', 'TSB_CLI_USAGE'],
    ['dest=x', 'TSB_CLI_USAGE'],
    ['type=zip,dest=x', 'TSB_CLI_USAGE'],
    ['type=local', 'TSB_CLI_USAGE'],
    ['type=local,dest=', 'TSB_CLI_USAGE'],
    ['type=local,dest=-', 'TSB_CLI_USAGE'],
    ['type=oci', 'TSB_CLI_USAGE'],
    ['type=oci,dest=-,tar=false', 'TSB_CLI_USAGE'],
    ['type=oci,dest=x,tar=maybe', 'TSB_CLI_USAGE'],
    ['type=local,dest=x,name=app', 'TSB_CLI_USAGE'],
    ['type=tar,dest=x,compression=gzip', 'TSB_CLI_USAGE'],
    ['type=docker,dest=x,name=Bad', 'TSB_CLI_USAGE'],
    [`type=docker,dest=x,name=app@sha256:${'a'.repeat(64)}`, 'TSB_CLI_USAGE'],
    ['type=local,dest=a,dest=b', 'TSB_CLI_USAGE'],
    ['type=local,dest=a,junk', 'TSB_CLI_USAGE'],
    ['type=local,"dest=a', 'TSB_CLI_USAGE'],
    ['type=image,name=app,push=maybe', 'TSB_CLI_USAGE'],
    ['type=registry,name=app,push=false', 'TSB_CLI_USAGE'],
    ['type=registry,name=app,dest=x', 'TSB_CLI_USAGE'],
  ])('%j is rejected with %s naming the spec', (spec, code) => {
    let caught: unknown;
    try {
      parseOutputSpec(spec, CWD);
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code });
    expect((caught as Error).message).toContain(`"${spec}"`);
  });

  test('only one output may write to stdout', () => {
    expect(parseOutputSpecs(['type=tar,dest=-', 'type=local,dest=d'], CWD)).toHaveLength(2);
    expect(() => parseOutputSpecs(['type=tar,dest=-', 'type=oci,dest=-'], CWD)).toThrow(expect.objectContaining({ code: 'TSB_CLI_USAGE' }));
  });
});
