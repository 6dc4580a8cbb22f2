// -p [IP:][HOST:]CTR[/tcp|udp], ports or equal-length ranges (docker's
// syntax). An empty HOST means "any free port", chosen when the proxy binds.
import { isIP } from 'node:net';
import { ContainerError } from './errors.js';

export interface PortSpec {
  /** Host address to listen on; "0.0.0.0" by default. */
  hostIp: string;
  /** 0: any free port (resolved when published). */
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

function bad(text: string, why: string): ContainerError {
  return new ContainerError('TSB_RUN_INVALID_PORT', `invalid port specification "${text}": ${why}`);
}

function range(text: string, part: string, host: boolean): [number, number] | null {
  if (part === '') {
    if (host) return null;
    throw bad(text, 'a port is missing');
  }
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(part);
  if (m === null) throw bad(text, `"${part}" is not a port or a range of ports`);
  if (host && part === '0') return null; // 0: any free port, like an empty HOST
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || hi < lo) throw bad(text, `"${part}" is outside 1-65535`);
  return [lo, hi];
}

export function parsePortSpec(text: string): PortSpec[] {
  let rest = text.trim();
  let protocol: 'tcp' | 'udp' = 'tcp';
  const slash = rest.lastIndexOf('/');
  if (slash >= 0) {
    const p = rest.slice(slash + 1).toLowerCase();
    if (p !== 'tcp' && p !== 'udp') throw bad(text, `protocol "${p}" is not tcp or udp`);
    protocol = p;
    rest = rest.slice(0, slash);
  }
  let ip = '';
  let hostPart = '';
  let ctrPart: string;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') throw bad(text, 'an IPv6 address must be [ADDR]:HOST:CTR');
    ip = rest.slice(1, close);
    const tail = rest.slice(close + 2).split(':');
    if (tail.length !== 2) throw bad(text, 'expected [ADDR]:HOST:CTR');
    [hostPart, ctrPart] = tail as [string, string];
  } else {
    const parts = rest.split(':');
    if (parts.length === 1) ctrPart = parts[0] as string;
    else if (parts.length === 2) [hostPart, ctrPart] = parts as [string, string];
    else if (parts.length === 3) [ip, hostPart, ctrPart] = parts as [string, string, string];
    else throw bad(text, 'too many colons');
  }
  if (ip !== '' && isIP(ip) === 0) throw bad(text, `"${ip}" is not an IP address`);
  const ctr = range(text, ctrPart, false) as [number, number];
  const host = range(text, hostPart, true);
  const count = ctr[1] - ctr[0] + 1;
  if (host !== null && host[1] - host[0] + 1 !== count) throw bad(text, 'the host and container port ranges differ in length');
  const out: PortSpec[] = [];
  for (let i = 0; i < count; i++) {
    out.push({ hostIp: ip === '' ? '0.0.0.0' : ip, hostPort: host === null ? 0 : host[0] + i, containerPort: ctr[0] + i, protocol });
  }
  return out;
}

/** "0.0.0.0:8080->80/tcp", as ps prints it. */
export function formatPort(p: PortSpec): string {
  const ip = p.hostIp.includes(':') ? `[${p.hostIp}]` : p.hostIp;
  return `${ip}:${p.hostPort}->${p.containerPort}/${p.protocol}`;
}
