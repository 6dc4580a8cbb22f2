import path from 'node:path';
import os from 'node:os';
import { describe, expect, test } from 'vitest';
import { defaultRoot } from '../../src/store/index.js';

describe('defaultRoot', () => {
  test('TSBUILD_ROOT wins, made absolute', () => {
    expect(defaultRoot({ TSBUILD_ROOT: '/srv/tsb', XDG_DATA_HOME: '/x' }, 0)).toBe('/srv/tsb');
    expect(defaultRoot({ TSBUILD_ROOT: 'rel' }, 1000)).toBe(path.resolve('rel'));
  });

  test('root uses /var/lib/tsbuild', () => {
    expect(defaultRoot({ XDG_DATA_HOME: '/home/u/.data', HOME: '/root' }, 0)).toBe('/var/lib/tsbuild');
    expect(defaultRoot({ TSBUILD_ROOT: '' }, 0)).toBe('/var/lib/tsbuild');
  });

  test('other users use $XDG_DATA_HOME/tsbuild, else ~/.local/share/tsbuild', () => {
    expect(defaultRoot({ XDG_DATA_HOME: '/home/u/.data', HOME: '/home/u' }, 1000)).toBe('/home/u/.data/tsbuild');
    expect(defaultRoot({ HOME: '/home/u' }, 1000)).toBe('/home/u/.local/share/tsbuild');
    // a relative XDG_DATA_HOME is invalid per the XDG spec and ignored
    expect(defaultRoot({ XDG_DATA_HOME: 'data', HOME: '/home/u' }, 1000)).toBe('/home/u/.local/share/tsbuild');
    expect(defaultRoot({}, 1000)).toBe(path.join(os.homedir(), '.local', 'share', 'tsbuild'));
  });

  test('defaults to the real environment', () => {
    expect(path.isAbsolute(defaultRoot())).toBe(true);
  });
});
