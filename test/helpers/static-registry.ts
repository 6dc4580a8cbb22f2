// A deliberately hostile (or merely fixed) registry on loopback: it serves
// whatever bytes the test hands it under whatever digest the test names, so
// tests can produce what a real registry never will — a blob that does not
// hash to its digest, an oversized manifest — and it records every request's
// headers (the redirect test uses it as the storage host on 127.0.0.2).
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StaticManifest {
  mediaType: string;
  bytes: Buffer;
  /** Sent as Docker-Content-Digest when set. */
  digestHeader?: string;
}

export interface StaticContent {
  /** Keyed `repository/manifests/reference`, e.g. `evil/manifests/latest`. */
  manifests?: Record<string, StaticManifest>;
  /** Keyed by digest; served for any repository and at `/data/<digest>`. */
  blobs?: Record<string, Buffer>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

export interface StaticRegistry {
  readonly url: string;
  readonly host: string;
  readonly requests: RecordedRequest[];
  readonly content: Required<StaticContent>;
  stop(): Promise<void>;
}

export async function startStaticRegistry(content: StaticContent, opts: { host?: string } = {}): Promise<StaticRegistry> {
  const manifests = content.manifests ?? {};
  const blobs = content.blobs ?? {};
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', headers: req.headers });
    req.resume();
    const head = req.method === 'HEAD';
    if (path === '/v2/') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(path);
    const data = /^\/data\/([^/]+)$/.exec(path);
    if (m !== null && m[2] === 'manifests') {
      const found = manifests[`${m[1]}/manifests/${m[3]}`];
      if (found !== undefined) {
        res.writeHead(200, {
          'content-type': found.mediaType,
          'content-length': String(found.bytes.length),
          ...(found.digestHeader === undefined ? {} : { 'docker-content-digest': found.digestHeader }),
        });
        res.end(head ? undefined : found.bytes);
        return;
      }
    }
    const digest = m !== null && m[2] === 'blobs' ? m[3] : data?.[1];
    const blob = digest === undefined ? undefined : blobs[decodeURIComponent(digest)];
    if (blob !== undefined) {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(blob.length) });
      res.end(head ? undefined : blob);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: m?.[2] === 'blobs' ? 'BLOB_UNKNOWN' : 'MANIFEST_UNKNOWN', message: 'unknown' }] }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  const host = `${opts.host ?? '127.0.0.1'}:${port}`;
  return {
    url: `http://${host}`,
    host,
    requests,
    content: { manifests, blobs },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
