// A fault-injecting HTTP proxy on loopback, in front of a real registry.
// It forwards everything (keeping the Host header, so the registry's
// Location URLs point back at the proxy) and logs every request; rules
// inject what a real registry will not do on demand: a status (500, 429 with
// Retry-After), a connection dropped mid-response or mid-request-body, or a
// custom answer (a redirect). Each rule fires `times` times (default once).
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  path: string;
  range: string | undefined;
  authorization: string | undefined;
  /** Set when the response started (or the fault fired). */
  status?: number;
  fault?: string;
}

export type FaultAction =
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Forward the response head and `bytes` of its body, then cut the connection. */
  | { kind: 'drop-response'; bytes: number }
  /** Read `bytes` of the request body, then cut the connection. */
  | { kind: 'drop-request'; bytes: number }
  /** Forward, adding headers to the registry's response. */
  | { kind: 'add-headers'; headers: Record<string, string> }
  | { kind: 'respond'; respond: (req: IncomingMessage, res: ServerResponse) => void };

export interface FaultRule {
  match: (req: { method: string; path: string }) => boolean;
  action: FaultAction;
  times?: number;
}

export interface FaultProxy {
  readonly url: string;
  readonly host: string;
  readonly requests: ProxiedRequest[];
  addRule(rule: FaultRule): void;
  /** Rules that have not fired yet. */
  pendingRules(): number;
  clear(): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(target: string, opts: { host?: string } = {}): Promise<FaultProxy> {
  const upstream = new URL(target);
  const rules: (FaultRule & { left: number })[] = [];
  const requests: ProxiedRequest[] = [];

  const forward = (req: IncomingMessage, res: ServerResponse, record: ProxiedRequest, dropAfter?: number, extra: Record<string, string> = {}): void => {
    const up = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        record.status = upRes.statusCode ?? 502;
        res.writeHead(upRes.statusCode ?? 502, { ...upRes.headers, ...extra });
        if (dropAfter === undefined) {
          upRes.pipe(res);
          return;
        }
        // Cut the connection mid-body: the head and `dropAfter` bytes leave, then the socket dies.
        const socket = res.socket;
        let sent = 0;
        upRes.on('data', (chunk: Buffer) => {
          if (sent >= dropAfter) return;
          const part = chunk.subarray(0, dropAfter - sent);
          sent += part.length;
          if (sent < dropAfter) {
            res.write(part);
            return;
          }
          res.write(part, () => {
            socket?.destroy();
            upRes.destroy();
          });
        });
        upRes.on('end', () => {
          if (sent < dropAfter) res.end();
        });
      },
    );
    up.on('error', () => res.socket?.destroy());
    req.pipe(up);
  };

  const server: Server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const record: ProxiedRequest = { method, path, range: req.headers.range, authorization: req.headers.authorization };
    requests.push(record);
    const rule = rules.find((r) => r.left > 0 && r.match({ method, path }));
    if (rule === undefined) {
      forward(req, res, record);
      return;
    }
    rule.left--;
    const action = rule.action;
    record.fault = action.kind;
    switch (action.kind) {
      case 'status':
        req.resume();
        record.status = action.status;
        res.writeHead(action.status, { 'content-type': 'application/json', ...action.headers });
        res.end(action.body ?? JSON.stringify({ errors: [{ code: 'UNKNOWN', message: `injected ${action.status}` }] }));
        return;
      case 'drop-response':
        forward(req, res, record, action.bytes);
        return;
      case 'drop-request': {
        let seen = 0;
        req.on('data', (chunk: Buffer) => {
          seen += chunk.length;
          if (seen >= action.bytes) req.socket.destroy();
        });
        req.on('end', () => req.socket.destroy());
        return;
      }
      case 'add-headers':
        forward(req, res, record, undefined, action.headers);
        return;
      case 'respond':
        action.respond(req, res);
        return;
    }
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
    addRule: (rule) => rules.push({ ...rule, left: rule.times ?? 1 }),
    pendingRules: () => rules.filter((r) => r.left > 0).length,
    clear: () => {
      requests.length = 0;
      rules.length = 0;
    },
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Match helpers for rules. */
export const isBlobGet = (r: { method: string; path: string }): boolean => r.method === 'GET' && /\/blobs\/sha256:/.test(r.path);
export const isManifestGet = (r: { method: string; path: string }): boolean => r.method === 'GET' && r.path.includes('/manifests/');
export const isBlobUploadPut = (r: { method: string; path: string }): boolean => r.method === 'PUT' && r.path.includes('/blobs/uploads/');
