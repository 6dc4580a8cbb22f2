// Progress renderers: separate consumers of the executor's BuildEvent
// stream (STYLE practice 20). plain mirrors BuildKit's plain output, json is
// one event per line, tty redraws a spinner line, quiet prints nothing.
import ora, { type Ora } from 'ora';
import type { BuildEvent } from '../../executor/index.js';

export type ProgressMode = 'auto' | 'tty' | 'plain' | 'json' | 'quiet';

export interface Renderer {
  onEvent(e: BuildEvent): void;
  /** A free-form line (e.g. "exporting to image"). */
  note(text: string): void;
  done(): void;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1) + 's';
}

class PlainRenderer implements Renderer {
  private readonly numbers = new Map<string, number>();
  private next = 1;
  constructor(private readonly write: (t: string) => void) {}
  private num(step: string): number {
    let n = this.numbers.get(step);
    if (n === undefined) {
      n = this.next++;
      this.numbers.set(step, n);
    }
    return n;
  }
  onEvent(e: BuildEvent): void {
    switch (e.type) {
      case 'step-start':
        this.write(`#${this.num(e.step)} ${e.name}\n`);
        return;
      case 'step-cached':
        this.write(`#${this.num(e.step)} CACHED\n`);
        return;
      case 'step-log':
        for (const line of e.data.replace(/\n$/, '').split('\n')) this.write(`#${this.num(e.step)} ${line}\n`);
        return;
      case 'step-done': {
        const usage =
          e.memoryPeak != null || e.cpuUsec != null
            ? ` (peak ${e.memoryPeak != null ? `${(e.memoryPeak / 1048576).toFixed(1)} MiB` : '?'}, cpu ${e.cpuUsec != null ? seconds(e.cpuUsec / 1000) : '?'})`
            : '';
        this.write(`#${this.num(e.step)} DONE ${seconds(e.durationMs)}${usage}\n\n`);
        return;
      }
      case 'step-error':
        this.write(`#${this.num(e.step)} ERROR: ${e.message}\n\n`);
        return;
      case 'pull-progress':
        return;
    }
  }
  note(text: string): void {
    this.write(`#${this.next++} ${text}\n`);
  }
  done(): void {}
}

class JsonRenderer implements Renderer {
  constructor(private readonly write: (t: string) => void) {}
  onEvent(e: BuildEvent): void {
    this.write(JSON.stringify(e) + '\n');
  }
  note(text: string): void {
    this.write(JSON.stringify({ type: 'note', text, time: Date.now() }) + '\n');
  }
  done(): void {}
}

class TtyRenderer implements Renderer {
  private readonly spinner: Ora;
  private readonly running = new Map<string, string>();
  private total = 0;
  private finished = 0;
  constructor(stream: NodeJS.WriteStream) {
    this.spinner = ora({ stream, discardStdin: false }).start('[+] Building');
  }
  private refresh(): void {
    const current = [...this.running.values()].at(-1) ?? '';
    this.spinner.text = `[+] Building ${this.finished}/${this.total} ${current}`;
  }
  onEvent(e: BuildEvent): void {
    if (e.type === 'step-start') {
      this.total++;
      this.running.set(e.step, e.name);
    } else if (e.type === 'step-cached') {
      this.spinner.stopAndPersist({ symbol: ' =>', text: `CACHED ${e.name}` });
      this.spinner.start();
    } else if (e.type === 'step-done') {
      const name = this.running.get(e.step);
      this.running.delete(e.step);
      this.finished++;
      if (name !== undefined && e.durationMs >= 0) {
        this.spinner.stopAndPersist({ symbol: ' =>', text: `${name} ${seconds(e.durationMs)}` });
        this.spinner.start();
      }
    } else if (e.type === 'step-error') {
      this.spinner.stopAndPersist({ symbol: ' =>', text: `ERROR ${this.running.get(e.step) ?? ''}` });
      this.spinner.start();
    }
    this.refresh();
  }
  note(text: string): void {
    this.spinner.stopAndPersist({ symbol: ' =>', text });
    this.spinner.start();
  }
  done(): void {
    this.spinner.stop();
  }
}

export function createRenderer(mode: ProgressMode, stream: NodeJS.WriteStream | null, write: (t: string) => void): Renderer {
  const effective = mode === 'auto' ? (stream?.isTTY && !process.env.CI ? 'tty' : 'plain') : mode;
  switch (effective) {
    case 'tty':
      return stream ? new TtyRenderer(stream) : new PlainRenderer(write);
    case 'json':
      return new JsonRenderer(write);
    case 'quiet':
      return { onEvent: () => undefined, note: () => undefined, done: () => undefined };
    default:
      return new PlainRenderer(write);
  }
}
