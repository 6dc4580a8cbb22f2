// Per-layer progress for `pull` and `push`, in docker's words. On a TTY the
// layer lines are redrawn in place with a bar and byte counts; otherwise
// each line is printed once per state change (no bars, nothing redrawn),
// which is what CI logs want. Input is registry/'s TransferProgress data;
// only the layers registered with `layers()` get a line (docker shows no
// line for the config blob).
import type { TransferProgress } from '../../registry/index.js';
import { humanSize } from './human-units.js';

export type TransferDirection = 'pull' | 'push';

interface Line {
  digest: string;
  text: string;
}

const BAR_WIDTH = 50;
const REDRAW_MS = 100;

function short(digest: string): string {
  return digest.replace(/^[a-z0-9]+:/, '').slice(0, 12);
}

function bar(current: number, total: number): string {
  const filled = total > 0 ? Math.min(BAR_WIDTH, Math.floor((current / total) * BAR_WIDTH)) : 0;
  const head = filled < BAR_WIDTH ? '>' : '';
  return `[${'='.repeat(Math.max(0, filled - (head ? 1 : 0)))}${head}${' '.repeat(BAR_WIDTH - filled)}]`;
}

export class TransferRenderer {
  readonly #lines: Line[] = [];
  readonly #byDigest = new Map<string, Line>();
  #drawn = 0;
  #lastDraw = 0;

  constructor(
    private readonly write: (text: string) => void,
    private readonly tty: boolean,
    private readonly direction: TransferDirection,
  ) {}

  /** A line outside the layer list (a header before it; Digest/Status after it, which ends it). */
  print(text: string): void {
    this.#end();
    this.write(text + '\n');
  }

  /** Start a layer list: one line per blob, in order. */
  layers(descriptors: readonly { digest: string }[]): void {
    this.#end();
    const initial = this.direction === 'pull' ? 'Pulling fs layer' : 'Preparing';
    for (const d of descriptors) {
      if (this.#byDigest.has(d.digest)) continue;
      const line = { digest: d.digest, text: initial };
      this.#lines.push(line);
      this.#byDigest.set(d.digest, line);
      if (!this.tty) this.write(`${short(d.digest)}: ${initial}\n`);
    }
    if (this.tty) this.#draw();
  }

  update(e: TransferProgress, mountedFrom?: string): void {
    const line = this.#byDigest.get(e.digest);
    if (line === undefined) return;
    const text = this.#describe(e, mountedFrom);
    const transient = e.status === 'downloading' || e.status === 'uploading';
    if (this.tty) {
      line.text = text;
      const now = Date.now();
      if (!transient || now - this.#lastDraw >= REDRAW_MS) this.#draw();
      return;
    }
    // Plain: the first "Downloading"/"Pushing" of a layer, then final states.
    const word = text.split(' ')[0] ?? text;
    if (transient && line.text.startsWith(word)) return;
    line.text = transient ? word : text;
    this.write(`${short(e.digest)}: ${line.text}\n`);
  }

  /** Redraw one last time and leave the cursor below the list. */
  done(): void {
    this.#end();
  }

  #describe(e: TransferProgress, mountedFrom: string | undefined): string {
    switch (e.status) {
      case 'downloading':
        return this.tty ? `Downloading  ${bar(e.current, e.total)}  ${humanSize(e.current)}/${humanSize(e.total)}` : 'Downloading';
      case 'uploading':
        return this.tty ? `Pushing  ${bar(e.current, e.total)}  ${humanSize(e.current)}/${humanSize(e.total)}` : 'Pushing';
      case 'downloaded':
        return 'Pull complete';
      case 'uploaded':
        return 'Pushed';
      case 'exists':
        return this.direction === 'pull' ? 'Already exists' : 'Layer already exists';
      case 'mounted':
        return mountedFrom === undefined ? 'Mounted' : `Mounted from ${mountedFrom}`;
    }
  }

  #end(): void {
    if (this.tty && this.#lines.length > 0) this.#draw();
    this.#lines.length = 0;
    this.#byDigest.clear();
    this.#drawn = 0;
  }

  #draw(): void {
    this.#lastDraw = Date.now();
    let out = this.#drawn > 0 ? `\x1b[${this.#drawn}A` : '';
    for (const l of this.#lines) out += `\x1b[2K${short(l.digest)}: ${l.text}\n`;
    this.#drawn = this.#lines.length;
    this.write(out);
  }
}
