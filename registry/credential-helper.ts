// docker credential helpers: `docker-credential-<name> get` reads the server
// URL on stdin and prints `{"ServerURL","Username","Secret"}`. A Username of
// `<token>` means the Secret is an identity (refresh) token.
import { spawn } from 'node:child_process';
import { RegistryError } from './errors.js';

export interface HelperCredential {
  username: string;
  secret: string;
}

const MAX_OUTPUT = 1 << 20;
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

export interface CredentialHelperOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Run `docker-credential-<helper> get` for `server`; null when it has no credentials for it. */
export function runCredentialHelper(helper: string, server: string, opts: CredentialHelperOptions = {}): Promise<HelperCredential | null> {
  const program = `docker-credential-${helper}`;
  if (!HELPER_NAME.test(helper)) {
    return Promise.reject(new RegistryError('TSB_REGISTRY_CREDENTIALS', `invalid credential helper name ${JSON.stringify(helper)}`));
  }
  return new Promise((resolve, reject) => {
    const child = spawn(program, ['get'], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let settled = false;
    const fail = (message: string, cause?: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new RegistryError('TSB_REGISTRY_CREDENTIALS', `${program} get: ${message}`, cause === undefined ? {} : { cause }));
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail('timed out');
    }, opts.timeoutMs ?? 30_000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      fail(err.code === 'ENOENT' ? 'not found on PATH' : err.message, err);
    });
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.length > MAX_OUTPUT) child.kill('SIGKILL');
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4096);
    });
    child.stdin.on('error', () => {
      // The helper may exit without reading stdin; its exit status tells.
    });
    child.stdin.end(server);
    child.on('close', (code) => {
      if (settled) return;
      if (code !== 0) {
        if (/credentials not found/i.test(stdout + stderr)) {
          settled = true;
          clearTimeout(timer);
          resolve(null);
          return;
        }
        fail(`exited with status ${String(code)}: ${(stderr || stdout).trim().slice(0, 500)}`);
        return;
      }
      let parsed: { Username?: unknown; Secret?: unknown };
      try {
        parsed = JSON.parse(stdout) as { Username?: unknown; Secret?: unknown };
      } catch (err) {
        fail('printed something that is not JSON', err);
        return;
      }
      if (typeof parsed.Username !== 'string' || typeof parsed.Secret !== 'string') {
        fail('output lacks Username or Secret');
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve({ username: parsed.Username, secret: parsed.Secret });
    });
  });
}
