import { describe, expect, test } from 'vitest';
import { codeForResponse, parseOciErrors } from '../../registry/errors.js';
import { parseManifest } from '../../registry/manifest.js';
import { DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST } from '../../registry/media-types.js';

const digest = `sha256:${'a'.repeat(64)}`;
const desc = { mediaType: 'application/vnd.oci.image.config.v1+json', digest, size: 10 };
const bytes = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));

describe('parseManifest', () => {
  test('media type from the body, else the header, else the shape', () => {
    expect(parseManifest(bytes({ schemaVersion: 2, mediaType: DOCKER_MANIFEST, config: desc, layers: [] }), OCI_MANIFEST).mediaType).toBe(DOCKER_MANIFEST);
    expect(parseManifest(bytes({ schemaVersion: 2, config: desc, layers: [] }), DOCKER_MANIFEST).mediaType).toBe(DOCKER_MANIFEST);
    expect(parseManifest(bytes({ schemaVersion: 2, config: desc, layers: [desc] }), 'application/json')).toMatchObject({ kind: 'manifest', mediaType: OCI_MANIFEST });
    expect(parseManifest(bytes({ schemaVersion: 2, manifests: [] }), '')).toMatchObject({ kind: 'index', mediaType: OCI_INDEX });
    expect(parseManifest(bytes({ schemaVersion: 2, mediaType: DOCKER_MANIFEST_LIST, manifests: [desc] }), '').kind).toBe('index');
  });

  test.each([
    ['not JSON', Buffer.from('{'), 'TSB_REGISTRY_PROTOCOL'],
    ['an array', bytes([]), 'TSB_REGISTRY_PROTOCOL'],
    ['schema1', bytes({ schemaVersion: 1, fsLayers: [] }), 'TSB_REGISTRY_UNSUPPORTED'],
    ['schemaVersion 3', bytes({ schemaVersion: 3 }), 'TSB_REGISTRY_PROTOCOL'],
    ['a bad layer digest', bytes({ schemaVersion: 2, config: desc, layers: [{ ...desc, digest: 'sha256:zz' }] }), 'TSB_REGISTRY_PROTOCOL'],
    ['a negative size', bytes({ schemaVersion: 2, config: { ...desc, size: -1 }, layers: [] }), 'TSB_REGISTRY_PROTOCOL'],
    ['an unknown media type', bytes({ schemaVersion: 2, mediaType: 'application/x-thing' }), 'TSB_REGISTRY_UNSUPPORTED'],
  ])('%s is refused', (_name, body, code) => {
    expect(() => parseManifest(body, '')).toThrow(expect.objectContaining({ code }));
  });
});

describe('registry error bodies', () => {
  test('parseOciErrors reads the spec shape and ignores anything else', () => {
    expect(parseOciErrors('{"errors":[{"code":"BLOB_UNKNOWN","message":"blob unknown to registry","detail":"x"}]}')).toEqual([
      { code: 'BLOB_UNKNOWN', message: 'blob unknown to registry' },
    ]);
    expect(parseOciErrors('<html>')).toEqual([]);
    expect(parseOciErrors('{"errors":"no"}')).toEqual([]);
  });

  test.each([
    [404, ['MANIFEST_UNKNOWN'], 'TSB_REGISTRY_NOT_FOUND'],
    [404, ['NAME_UNKNOWN'], 'TSB_REGISTRY_NOT_FOUND'],
    [404, [], 'TSB_REGISTRY_NOT_FOUND'],
    [401, ['UNAUTHORIZED'], 'TSB_REGISTRY_UNAUTHORIZED'],
    [403, [], 'TSB_REGISTRY_DENIED'],
    [401, ['DENIED'], 'TSB_REGISTRY_DENIED'],
    [400, ['DIGEST_INVALID'], 'TSB_REGISTRY_DIGEST_MISMATCH'],
    [429, [], 'TSB_REGISTRY_TOO_MANY_REQUESTS'],
    [503, [], 'TSB_REGISTRY_SERVER_ERROR'],
    [400, ['MANIFEST_INVALID'], 'TSB_REGISTRY_PROTOCOL'],
  ])('%i %j → %s', (status, codes, want) => {
    expect(codeForResponse(status, codes.map((code) => ({ code, message: '' })))).toBe(want);
  });
});
