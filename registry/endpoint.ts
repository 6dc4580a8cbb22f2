// Where a registry name is spoken to: scheme, host and port, plus the
// docker.io mirrors tried before the origin on pulls. Plain HTTP only for
// loopback (localhost, 127.0.0.0/8, [::1]) and hosts listed as insecure;
// HTTPS otherwise.

export const DOCKER_HUB = 'docker.io';
/** docker.io's API host (the reference says docker.io, the API lives here). */
export const DOCKER_HUB_API = 'registry-1.docker.io';

export interface Endpoint {
  /** `https://registry-1.docker.io`, `http://127.0.0.1:5000` */
  origin: string;
  /** The registry name this endpoint serves (the reference's registry part). */
  registry: string;
  /** The host whose credentials apply (the mirror's own host for a mirror). */
  credentialHost: string;
  mirror: boolean;
}

export interface EndpointOptions {
  /** Mirrors for docker.io pulls, tried in order before the origin. */
  mirrors?: readonly string[];
  /** Hosts (`host` or `host:port`) spoken to over plain HTTP. */
  insecure?: readonly string[];
}

/** `127.0.0.1:5000` → `127.0.0.1`, `[::1]:5000` → `[::1]`, `localhost` → `localhost`. */
export function hostnameOf(host: string): string {
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    return end === -1 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(':');
  return colon === -1 ? host : host.slice(0, colon);
}

export function isLoopbackHost(host: string): boolean {
  const name = hostnameOf(host).toLowerCase();
  return name === 'localhost' || name === '[::1]' || name === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name);
}

export function isInsecureHost(host: string, insecure: readonly string[] = []): boolean {
  if (isLoopbackHost(host)) return true;
  const lower = host.toLowerCase();
  return insecure.some((h) => {
    const entry = h.toLowerCase().replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
    return entry === lower || entry === hostnameOf(lower);
  });
}

/** The origin for a registry name (`docker.io` → `https://registry-1.docker.io`). */
export function registryOrigin(registry: string, insecure: readonly string[] = []): string {
  const host = registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
  return `${isInsecureHost(host, insecure) ? 'http' : 'https'}://${host}`;
}

/** A mirror given as `host[:port]` or `scheme://host[:port][/…]` → its origin. */
export function mirrorOrigin(mirror: string, insecure: readonly string[] = []): string {
  const m = /^(https?):\/\/([^/]+)/i.exec(mirror.trim());
  if (m !== null && m[1] !== undefined && m[2] !== undefined) return `${m[1].toLowerCase()}://${m[2]}`;
  const host = mirror.trim().replace(/\/.*$/, '');
  if (host === '') throw new TypeError(`invalid registry mirror ${JSON.stringify(mirror)}`);
  return `${isInsecureHost(host, insecure) ? 'http' : 'https'}://${host}`;
}

export function originEndpoint(registry: string, opts: EndpointOptions = {}): Endpoint {
  return { origin: registryOrigin(registry, opts.insecure), registry, credentialHost: registry, mirror: false };
}

/** Pull endpoints: the docker.io mirrors in order, then the origin. */
export function pullEndpoints(registry: string, opts: EndpointOptions = {}): Endpoint[] {
  const out: Endpoint[] = [];
  if (registry === DOCKER_HUB) {
    for (const m of opts.mirrors ?? []) {
      const origin = mirrorOrigin(m, opts.insecure);
      out.push({ origin, registry, credentialHost: new URL(origin).host, mirror: true });
    }
  }
  out.push(originEndpoint(registry, opts));
  return out;
}
