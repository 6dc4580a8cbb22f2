// Helpers that guarantee undici's rule: every response body is consumed or
// cancelled. Small bodies (manifests, tokens, error documents) are read with
// a byte limit; layer bodies are never read here (they are piped).
import type { Dispatcher } from 'undici';
import { codeForResponse, parseOciErrors, RegistryError, type RegistryErrorCode } from './errors.js';

export type Response = Dispatcher.ResponseData;

/** One header value (the first when repeated). */
export function headerValue(headers: Response['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Drain a little (so the connection can be reused), then drop the rest. */
export async function discard(res: Response): Promise<void> {
  try {
    await res.body.dump({ limit: 64 * 1024 });
  } catch {
    // Dumping a body that failed is still disposing of it.
  }
}

/** Read at most `limit` bytes; past that the body is destroyed and `tooLarge()` thrown. */
export async function readBody(res: Response, limit: number, tooLarge: () => Error): Promise<Buffer> {
  const declared = Number(headerValue(res.headers, 'content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    res.body.destroy();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body) {
      const buf = chunk as Buffer;
      size += buf.length;
      if (size > limit) throw tooLarge();
      chunks.push(buf);
    }
  } finally {
    if (!res.body.readableEnded) res.body.destroy();
  }
  return Buffer.concat(chunks, size);
}

export interface FailureContext {
  repository?: string;
  digest?: string;
}

/** Turn a response with an unexpected status into a RegistryError (its body consumed). */
export async function responseError(
  res: Response,
  what: string,
  context: FailureContext = {},
  code?: RegistryErrorCode,
): Promise<RegistryError> {
  let text = '';
  try {
    text = (await readBody(res, 64 * 1024, () => new Error('error body too large'))).toString('utf8');
  } catch {
    // An unreadable error body leaves us with the status alone.
  }
  const ociErrors = parseOciErrors(text);
  const detail = ociErrors.length > 0 ? ociErrors.map((e) => `${e.code}${e.message ? ` (${e.message})` : ''}`).join(', ') : text.trim().slice(0, 200);
  return new RegistryError(code ?? codeForResponse(res.statusCode, ociErrors), `${what}: HTTP ${res.statusCode}${detail ? `: ${detail}` : ''}`, {
    status: res.statusCode,
    ociErrors,
    ...context,
  });
}
