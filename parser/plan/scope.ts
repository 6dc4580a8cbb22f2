// Variable scopes for expansion: the global (meta) ARGs usable in FROM, and
// per-stage ENV + ARG state where ENV shadows ARG.
import type { LexEnv } from '../shell-lexer.js';

export const PROXY_ARGS: readonly string[] = [
  'HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'FTP_PROXY', 'ftp_proxy',
  'NO_PROXY', 'no_proxy', 'ALL_PROXY', 'all_proxy',
];

/** Key-ordered environment like an image's Env list. */
export class EnvList {
  private readonly map = new Map<string, string>();
  constructor(env: readonly string[] = []) {
    for (const kv of env) {
      const eq = kv.indexOf('=');
      if (eq < 0) this.map.set(kv, '');
      else this.map.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
  }
  get(name: string): string | undefined {
    return this.map.get(name);
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  set(name: string, value: string): void {
    this.map.set(name, value);
  }
  toList(): string[] {
    return [...this.map].map(([k, v]) => `${k}=${v}`);
  }
  clone(): EnvList {
    return new EnvList(this.toList());
  }
}

export class StageScope implements LexEnv {
  readonly env: EnvList;
  /** Declared ARGs in declaration order; undefined = declared without a value. */
  readonly args = new Map<string, string | undefined>();
  constructor(env: EnvList) {
    this.env = env;
  }
  get(name: string): string | undefined {
    const e = this.env.get(name);
    if (e !== undefined) return e;
    return this.args.get(name);
  }
  /** Declared args that have values, ENV winning on conflicts. */
  argEnv(): string[] {
    const out: string[] = [];
    for (const [k, v] of this.args) {
      if (v === undefined || this.env.has(k)) continue;
      out.push(`${k}=${v}`);
    }
    return out;
  }
}
