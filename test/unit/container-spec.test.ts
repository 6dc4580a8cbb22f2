// The pure parts of `run`: -p and -v syntax, docker's override rules for the
// process, --env-file, HEALTHCHECK defaults, signal names, subnets, and the
// resolv.conf a bridged container gets.
import { describe, expect, test } from 'vitest';
import { parseEnvFile, resolveHealthcheck, resolveProcess, type ProcessOptions } from '../../src/container/container-config.js';
import { bridgeResolvConf } from '../../src/container/etc-files.js';
import { parseSubnet } from '../../src/container/network-settings.js';
import { formatPort, parsePortSpec } from '../../src/container/port-spec.js';
import { parseSignal } from '../../src/container/signals.js';
import { parseVolumeSpec } from '../../src/container/volume-spec.js';

describe('-p', () => {
  test.each([
    ['8080:80', [{ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    ['127.0.0.1:8080:80/udp', [{ hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, protocol: 'udp' }]],
    ['80', [{ hostIp: '0.0.0.0', hostPort: 0, containerPort: 80, protocol: 'tcp' }]],
    ['0:80', [{ hostIp: '0.0.0.0', hostPort: 0, containerPort: 80, protocol: 'tcp' }]],
    ['127.0.0.1::80', [{ hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, protocol: 'tcp' }]],
    ['[::1]:8080:80', [{ hostIp: '::1', hostPort: 8080, containerPort: 80, protocol: 'tcp' }]],
    [
      '8000-8001:80-81/TCP',
      [
        { hostIp: '0.0.0.0', hostPort: 8000, containerPort: 80, protocol: 'tcp' },
        { hostIp: '0.0.0.0', hostPort: 8001, containerPort: 81, protocol: 'tcp' },
      ],
    ],
  ])('%s', (text, want) => {
    expect(parsePortSpec(text)).toEqual(want);
  });

  test.each(['80:99999', 'x:80', '1.2.3:80:80', '80/sctp', '8000-8002:80-81', '1:2:3:4', '', '80-79'])('%s is TSB_RUN_INVALID_PORT', (text) => {
    expect(() => parsePortSpec(text)).toThrow(expect.objectContaining({ code: 'TSB_RUN_INVALID_PORT', message: expect.stringContaining(`"${text}"`) }));
  });

  test('formatPort is what ps prints', () => {
    expect(formatPort({ hostIp: '0.0.0.0', hostPort: 8080, containerPort: 80, protocol: 'tcp' })).toBe('0.0.0.0:8080->80/tcp');
    expect(formatPort({ hostIp: '::1', hostPort: 53, containerPort: 53, protocol: 'udp' })).toBe('[::1]:53->53/udp');
  });
});

describe('-v', () => {
  test.each([
    ['/host/dir:/data', { kind: 'bind', source: '/host/dir', target: '/data', readonly: false }],
    ['/host/./dir/:/data/:ro', { kind: 'bind', source: '/host/dir/', target: '/data', readonly: true }],
    ['cache:/var/cache', { kind: 'named', name: 'cache', target: '/var/cache', readonly: false, nocopy: false }],
    ['cache:/var/cache:ro,nocopy', { kind: 'named', name: 'cache', target: '/var/cache', readonly: true, nocopy: true }],
    ['/scratch', { kind: 'anonymous', target: '/scratch', readonly: false, nocopy: false }],
    ['v.1_a-b:/x:rw,z', { kind: 'named', name: 'v.1_a-b', target: '/x', readonly: false, nocopy: false }],
  ])('%s', (text, want) => {
    expect(parseVolumeSpec(text)).toEqual(want);
  });

  test.each(['rel/path:/x', './x:/y', 'x:/', 'a:rel', '/a:/b:bogus', 'a:/b:c:d', ':/x', 'v', '/a:/b:nocopy'])('%s is TSB_RUN_INVALID_VOLUME', (text) => {
    expect(() => parseVolumeSpec(text)).toThrow(expect.objectContaining({ code: 'TSB_RUN_INVALID_VOLUME' }));
  });
});

describe('process overrides (docker rules)', () => {
  const base: ProcessOptions = { args: [], env: [], envFileLines: [], tty: false, callerEnv: {} };
  const image = { Entrypoint: ['/entry'], Cmd: ['default', 'args'], Env: ['PATH=/custom', 'A=image'], WorkingDir: '/app', User: 'app', StopSignal: 'SIGQUIT' };

  test('the image decides when nothing is given', () => {
    const p = resolveProcess(image, base, 'h1');
    expect(p).toMatchObject({ entrypoint: ['/entry'], cmd: ['default', 'args'], workdir: '/app', user: 'app', stopSignal: 'SIGQUIT' });
    expect(p.env).toEqual(['HOSTNAME=h1', 'PATH=/custom', 'A=image']);
  });

  test('CMD args replace Cmd; --entrypoint replaces Entrypoint and drops Cmd; "" clears it', () => {
    expect(resolveProcess(image, { ...base, args: ['x'] }, 'h')).toMatchObject({ entrypoint: ['/entry'], cmd: ['x'] });
    expect(resolveProcess(image, { ...base, entrypoint: 'sh' }, 'h')).toMatchObject({ entrypoint: ['sh'], cmd: [] });
    expect(resolveProcess(image, { ...base, entrypoint: '', args: ['ls'] }, 'h')).toMatchObject({ entrypoint: [], cmd: ['ls'] });
    expect(() => resolveProcess({}, base, 'h')).toThrow(expect.objectContaining({ code: 'TSB_RUN_NO_COMMAND' }));
  });

  test('--env-file then -e override the image per variable; NAME alone comes from the caller; PATH, TERM defaults', () => {
    const p = resolveProcess(
      { Cmd: ['x'], Env: ['A=image', 'B=image'] },
      { ...base, envFileLines: ['A=file', 'C=file', 'FROM_CALLER', 'UNSET'], env: ['B=flag', 'C=flag'], tty: true, callerEnv: { FROM_CALLER: 'yes' } },
      'h',
    );
    expect(p.env).toEqual([
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      'HOSTNAME=h',
      'A=file',
      'B=flag',
      'C=flag',
      'FROM_CALLER=yes',
      'TERM=xterm',
    ]);
    expect(() => resolveProcess({ Cmd: ['x'] }, { ...base, env: ['=x'] }, 'h')).toThrow(expect.objectContaining({ code: 'TSB_RUN_INVALID_OPTION' }));
  });

  test('-w must be absolute', () => {
    expect(resolveProcess(image, { ...base, workdir: '/w' }, 'h').workdir).toBe('/w');
    expect(() => resolveProcess(image, { ...base, workdir: 'w' }, 'h')).toThrow(expect.objectContaining({ code: 'TSB_RUN_INVALID_OPTION' }));
  });

  test('--env-file lines: comments and blanks skipped', () => {
    expect(parseEnvFile('# c\nA=1\r\n\n  B=2\nC\n')).toEqual(['A=1', 'B=2', 'C']);
  });
});

describe('HEALTHCHECK defaults', () => {
  test('CMD, CMD-SHELL and NONE; docker defaults for missing durations', () => {
    expect(resolveHealthcheck({ Test: ['CMD-SHELL', 'curl -f localhost'] })).toEqual({
      args: ['/bin/sh', '-c', 'curl -f localhost'],
      test: ['CMD-SHELL', 'curl -f localhost'],
      intervalMs: 30_000,
      timeoutMs: 30_000,
      startPeriodMs: 0,
      startIntervalMs: 5_000,
      retries: 3,
    });
    expect(resolveHealthcheck({ Test: ['CMD', 'true'], Interval: 2e9, Timeout: 1e9, StartPeriod: 3e9, StartInterval: 5e8, Retries: 7 })).toMatchObject({
      args: ['true'],
      intervalMs: 2000,
      timeoutMs: 1000,
      startPeriodMs: 3000,
      startIntervalMs: 500,
      retries: 7,
    });
    expect(resolveHealthcheck({ Test: ['NONE'] })).toBe(null);
    expect(resolveHealthcheck(undefined)).toBe(null);
  });
});

describe('small parsers', () => {
  test('signals by name, short name or number', () => {
    expect(parseSignal('TERM')).toBe('SIGTERM');
    expect(parseSignal('sigkill')).toBe('SIGKILL');
    expect(parseSignal('10')).toBe('SIGUSR1');
    expect(() => parseSignal('NOPE')).toThrow(expect.objectContaining({ code: 'TSB_CONTAINER_BAD_SIGNAL' }));
  });

  test('subnets are normalised; the gateway is the first address', () => {
    expect(parseSubnet('10.88.1.77/24', 'x')).toEqual({ cidr: '10.88.1.0/24', network: 0x0a580100, prefixLen: 24, gateway: 0x0a580101, last: 0x0a5801fe });
    expect(() => parseSubnet('10.88.0.0/30', 'x')).toThrow(expect.objectContaining({ code: 'TSB_RUN_NETWORK' }));
    expect(() => parseSubnet('300.1.1.1/16', 'x')).toThrow(expect.objectContaining({ code: 'TSB_RUN_NETWORK' }));
  });

  test("a bridged container's resolv.conf drops loopback nameservers, falling back to public ones", () => {
    expect(bridgeResolvConf('nameserver 127.0.0.53\noptions edns0\nsearch lan\n')).toBe('options edns0\nsearch lan\nnameserver 8.8.8.8\nnameserver 8.8.4.4\n');
    expect(bridgeResolvConf('nameserver 10.0.0.2\nnameserver ::1\n')).toBe('nameserver 10.0.0.2\n');
    expect(bridgeResolvConf('')).toBe('nameserver 8.8.8.8\nnameserver 8.8.4.4\n');
  });
});
