// Real registries for tests and benchmarks: Debian's `docker-registry`
// (distribution v2) on a free 127.0.0.1 port with a temp storage directory,
// open, with htpasswd basic auth, or with token auth backed by a tiny token
// issuer that signs RS256 JWTs with a key whose certificate the registry
// trusts. Framework-free (no vitest import) so bench/ can use it too; the
// caller stops what it started, by pid, in afterAll.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createSign, randomBytes, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
export const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface RegistryServer {
  /** `127.0.0.1:PORT`, the registry part of a reference. */
  readonly host: string;
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly url: string;
  readonly storageDir: string;
  readonly pid: number;
  /** SIGTERM by pid (SIGKILL after 5 s), wait for exit, remove the temp dirs. */
  stop(): Promise<void>;
}

export type RegistryAuth =
  | { kind: 'none' }
  | { kind: 'htpasswd'; users: Record<string, string> }
  | { kind: 'token'; realm: string; service: string; issuer: string; rootCertBundle: string };

/** A free TCP port on `host` (the port is released before it is returned). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function registryConfig(storage: string, port: number, authBlock: string): string {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${storage}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
    'health:',
    '  storagedriver:',
    '    enabled: false',
    authBlock,
    '',
  ].join('\n');
}

async function authBlock(auth: RegistryAuth, dir: string): Promise<string> {
  switch (auth.kind) {
    case 'none':
      return '';
    case 'htpasswd': {
      const file = join(dir, 'htpasswd');
      const lines: string[] = [];
      for (const [user, password] of Object.entries(auth.users)) {
        // distribution only accepts bcrypt entries.
        const { stdout } = await execFileP('htpasswd', ['-nbB', user, password]);
        lines.push(stdout.trim());
      }
      await writeFile(file, lines.join('\n') + '\n');
      return ['auth:', '  htpasswd:', '    realm: tsbuild-test', `    path: ${file}`].join('\n');
    }
    case 'token':
      return [
        'auth:',
        '  token:',
        `    realm: ${auth.realm}`,
        `    service: ${auth.service}`,
        `    issuer: ${auth.issuer}`,
        `    rootcertbundle: ${auth.rootCertBundle}`,
      ].join('\n');
  }
}

/** GET url; resolves with the status (body discarded) or rejects on a connection error. */
function probe(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'GET', timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function waitForExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Start `docker-registry serve CONFIG`; resolves once `/v2/` answers (200 or 401). */
export async function startRegistry(auth: RegistryAuth = { kind: 'none' }): Promise<RegistryServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-registry-'));
  const storage = join(dir, 'storage');
  const block = await authBlock(auth, dir);
  let lastError: unknown;
  // A free port can be taken between freePort() and the registry's bind; try a few.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const configPath = join(dir, 'config.yml');
    await writeFile(configPath, registryConfig(storage, port, block));
    const child = spawn(REGISTRY_BINARY, ['serve', configPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    // A test process that dies must not leave the registry behind.
    const killOnExit = (): void => {
      child.kill('SIGKILL');
    };
    process.once('exit', killOnExit);
    const url = `http://127.0.0.1:${port}`;
    const stop = async (): Promise<void> => {
      process.removeListener('exit', killOnExit);
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        process.kill(child.pid, 'SIGTERM');
        if (!(await waitForExit(child, 5000))) {
          process.kill(child.pid, 'SIGKILL');
          await waitForExit(child, 5000);
        }
      }
      await rm(dir, { recursive: true, force: true });
    };
    const deadline = Date.now() + 15_000;
    let ready = false;
    while (Date.now() < deadline && child.exitCode === null) {
      try {
        const status = await probe(`${url}/v2/`);
        if (status === 200 || status === 401) {
          ready = true;
          break;
        }
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (ready && child.pid !== undefined) {
      return { host: `127.0.0.1:${port}`, port, url, storageDir: storage, pid: child.pid, stop };
    }
    lastError = new Error(`docker-registry did not start on port ${port}: ${stderr.trim()}`);
    process.removeListener('exit', killOnExit);
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await waitForExit(child, 5000);
    }
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

export interface TokenRequestRecord {
  user: string | null;
  service: string | null;
  scopes: string[];
  status: number;
}

export interface TokenIssuer {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly certPath: string;
  /** Every token request received, in order. */
  readonly requests: TokenRequestRecord[];
  stop(): Promise<void>;
}

export interface TokenIssuerOptions {
  users: Record<string, string>;
  /** Lifetime announced in `expires_in`, seconds. Default 300. */
  expiresIn?: number;
  /** Actions granted without credentials. Default none. */
  anonymousActions?: string[];
  /** Bind address; default 127.0.0.1. */
  host?: string;
}

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/**
 * A token server per the docker token-auth spec: GET realm?service=&scope=…
 * with optional Basic credentials, answered with `{token, access_token,
 * expires_in, issued_at}`; the JWT is RS256 with the signing certificate in
 * `x5c`, which the registry checks against `rootcertbundle`.
 */
export async function startTokenIssuer(opts: TokenIssuerOptions): Promise<TokenIssuer> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-token-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  await execFileP('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '2',
    '-subj', '/CN=tsbuild-test-token-issuer', '-keyout', keyPath, '-out', certPath,
  ]);
  const key = await readFile(keyPath, 'utf8');
  const certDer = new X509Certificate(await readFile(certPath)).raw.toString('base64');
  const service = 'tsbuild-test-registry';
  const issuer = 'tsbuild-test-issuer';
  const expiresIn = opts.expiresIn ?? 300;
  const requests: TokenRequestRecord[] = [];

  const sign = (subject: string, access: { type: string; name: string; actions: string[] }[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer] };
    const claims = { iss: issuer, sub: subject, aud: service, exp: now + expiresIn, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(input).sign(key);
    return `${input}.${base64url(signature)}`;
  };

  const authenticate = (req: IncomingMessage): string | null | false => {
    const header = req.headers.authorization;
    if (header === undefined) return null;
    const m = /^Basic\s+(.+)$/i.exec(header);
    if (m === null || m[1] === undefined) return false;
    const decoded = Buffer.from(m[1], 'base64').toString();
    const colon = decoded.indexOf(':');
    const user = decoded.slice(0, colon);
    return colon > 0 && opts.users[user] === decoded.slice(colon + 1) ? user : false;
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    req.resume();
    const user = authenticate(req);
    const scopes = url.searchParams.getAll('scope');
    const record: TokenRequestRecord = { user: user || null, service: url.searchParams.get('service'), scopes, status: 200 };
    requests.push(record);
    if (url.pathname !== '/token' || req.method !== 'GET') {
      record.status = 404;
      res.writeHead(404).end();
      return;
    }
    if (user === false) {
      record.status = 401;
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
      return;
    }
    const access = scopes.flatMap((scope) => {
      const [type, name, actions] = scope.split(':');
      if (type === undefined || name === undefined || actions === undefined) return [];
      const granted = actions.split(',').filter((a) => (user === null ? (opts.anonymousActions ?? []).includes(a) : true));
      return [{ type, name, actions: granted }];
    });
    const token = sign(user ?? '', access);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ token, access_token: token, expires_in: expiresIn, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.host ?? '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://${opts.host ?? '127.0.0.1'}:${port}/token`,
    service,
    issuer,
    certPath,
    requests,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export interface TokenRegistry {
  registry: RegistryServer;
  issuer: TokenIssuer;
  stop(): Promise<void>;
}

/** A registry with `auth: token` and the issuer it trusts. */
export async function startTokenRegistry(opts: TokenIssuerOptions): Promise<TokenRegistry> {
  const issuer = await startTokenIssuer(opts);
  try {
    const registry = await startRegistry({
      kind: 'token',
      realm: issuer.realm,
      service: issuer.service,
      issuer: issuer.issuer,
      rootCertBundle: issuer.certPath,
    });
    return {
      registry,
      issuer,
      stop: async () => {
        await registry.stop();
        await issuer.stop();
      },
    };
  } catch (err) {
    await issuer.stop();
    throw err;
  }
}
