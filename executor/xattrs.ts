// Extended attributes of source files, for COPY. Node has no xattr API, so
// they are read in batches with getfattr (Debian's `attr`). overlayfs's own
// trusted.overlay.* attributes are never carried into a layer. Values are
// written to the layer as PAX SCHILY.xattr records, which our tar encoder
// (tar-stream) can only write as UTF-8: a value that is not valid UTF-8
// (e.g. security.capability) is reported back as skipped, not mangled.
import { execFile } from 'node:child_process';

const BATCH = 400;
const SKIP_PREFIXES = ['trusted.overlay.', 'security.selinux'];

export interface XattrScan {
  values: Map<string, Record<string, string>>;
  /** Attributes that could not be preserved, as "path: name". */
  skipped: string[];
}

function unescapeGetfattr(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))).replace(/\\\\/g, '\\');
}

function run(paths: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('getfattr', ['--absolute-names', '--no-dereference', '-d', '-m', '-', '-e', 'hex', '--', ...paths], { maxBuffer: 1 << 30 }, (err, stdout) => {
      // exit 1 with output: some file vanished or has none; parse what we got
      if (err && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(err);
      resolve(stdout);
    });
  });
}

export async function readXattrs(paths: readonly string[]): Promise<XattrScan> {
  const values = new Map<string, Record<string, string>>();
  const skipped: string[] = [];
  for (let i = 0; i < paths.length; i += BATCH) {
    let out: string;
    try {
      out = await run(paths.slice(i, i + BATCH) as string[]);
    } catch {
      // getfattr missing: nothing can be read; say so once
      skipped.push('(getfattr is not installed: extended attributes were not copied)');
      return { values, skipped };
    }
    let current: string | null = null;
    for (const line of out.split('\n')) {
      if (line.startsWith('# file: ')) {
        current = unescapeGetfattr(line.slice('# file: '.length));
        continue;
      }
      const eq = line.indexOf('=');
      if (current === null || eq <= 0) continue;
      const name = line.slice(0, eq);
      if (SKIP_PREFIXES.some((p) => name.startsWith(p))) continue;
      const hex = line.slice(eq + 1).replace(/^0x/, '');
      const bytes = Buffer.from(hex, 'hex');
      const text = bytes.toString('utf8');
      if (!Buffer.from(text, 'utf8').equals(bytes)) {
        skipped.push(`${current}: ${name}`);
        continue;
      }
      const rec = values.get(current) ?? {};
      rec[name] = text;
      values.set(current, rec);
    }
  }
  return { values, skipped };
}
