// Source patterns of COPY/ADD: Go filepath.Match semantics per path
// component (`*`, `?`, `[...]`, `\` escapes), expanded against a SourceFs.
import { resolveInRoot, type SourceFs } from '../source-fs.js';

export function hasWildcard(pattern: string): boolean {
  return /[*?[]/.test(pattern.replace(/\\./g, ''));
}

/** One path component pattern → RegExp (never matches '/'). */
export function componentRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '\\' && i + 1 < pattern.length) {
      re += escapeRe(pattern[++i] as string);
    } else if (ch === '*') {
      re += '[^/]*';
    } else if (ch === '?') {
      re += '[^/]';
    } else if (ch === '[') {
      const end = pattern.indexOf(']', i + 2);
      if (end < 0) throw new Error(`syntax error in pattern "${pattern}"`);
      let cls = pattern.slice(i + 1, end);
      if (cls.startsWith('^')) cls = '!' + cls.slice(1);
      re += cls.startsWith('!') ? `[^/${cls.slice(1).replace(/\\/g, '\\\\')}]` : `[${cls.replace(/\\/g, '\\\\')}]`;
      i = end;
    } else {
      re += escapeRe(ch);
    }
  }
  return new RegExp(`^${re}$`, 's');
}

function escapeRe(ch: string): string {
  return ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

function unescape(component: string): string {
  return component.replace(/\\(.)/g, '$1');
}

/** Expand a cleaned relative pattern; returns matching relative paths, sorted. */
export async function expandPattern(fs: SourceFs, pattern: string): Promise<string[]> {
  const parts = pattern.split('/').filter((p) => p !== '' && p !== '.');
  let current = [''];
  for (const part of parts) {
    const next: string[] = [];
    for (const dir of current) {
      if (!hasWildcard(part)) {
        const rel = dir === '' ? unescape(part) : `${dir}/${unescape(part)}`;
        if ((await fs.lstat(rel)) !== null) next.push(rel);
        continue;
      }
      const resolved = await resolveInRoot(fs, dir, true);
      const info = await fs.lstat(resolved);
      if (info?.type !== 'directory') continue;
      const re = componentRegExp(part);
      for (const name of await fs.readdir(resolved)) {
        if (re.test(name)) next.push(dir === '' ? name : `${dir}/${name}`);
      }
    }
    current = next;
  }
  return current.sort();
}
