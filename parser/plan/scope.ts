// A stage's variables as BuildKit keeps them: one ordered environment (the
// LLB state's env) that both ENV and ARG write to, last writer wins, plus the
// list of declared ARGs that RUN records in its history line.
import type { LexEnv } from '../shell-lexer.js';

/** Key-ordered environment like an image's Env list: a replaced key keeps its place. */
export class EnvList implements LexEnv {
  private readonly map = new Map<string, string>();
  /** toList() until the next change: RUNs in a row share one array. */
  private list: readonly string[] | null = null;
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
    if (this.map.get(name) === value && this.map.has(name)) return;
    this.map.set(name, value);
    this.list = null;
  }
  /** KEY=VALUE in first-set order; the same array is returned until the next change. */
  toList(): string[] {
    // Frozen: steps share it, and step-id may remember its encoding.
    this.list ??= Object.freeze([...this.map].map(([k, v]) => `${k}=${v}`));
    return this.list as string[];
  }
  clone(): EnvList {
    const copy = new EnvList();
    for (const [k, v] of this.map) copy.set(k, v);
    return copy;
  }
}

export interface DeclaredArg {
  name: string;
  /** undefined: declared without a value (no default, no --build-arg, no global). */
  value: string | undefined;
}

export class StageScope implements LexEnv {
  /** Declared ARGs by name, in order of first declaration; a re-declaration updates the value in place. */
  private readonly declared: Map<string, string | undefined>;
  private history: string[] | null = null;
  private historyFor: readonly string[] | null = null;

  constructor(
    readonly env: EnvList,
    args: readonly DeclaredArg[] = [],
  ) {
    this.declared = new Map(args.map((a) => [a.name, a.value]));
  }
  get(name: string): string | undefined {
    return this.env.get(name);
  }
  declare(name: string, value: string | undefined): void {
    this.declared.set(name, value);
    this.history = null;
  }
  isDeclared(name: string): boolean {
    return this.declared.has(name);
  }
  clone(): StageScope {
    return new StageScope(this.env.clone(), [...this.declared].map(([name, value]) => ({ name, value })));
  }
  /**
   * BuildKit runCommandString's prefix: `K=V` for every declared ARG (of the
   * stage and of the stage it is built on), valued from the environment (an
   * ENV may have replaced it) or empty when unset, in order of first declaration.
   */
  historyArgs(): readonly string[] {
    const envList = this.env.toList();
    if (this.history === null || this.historyFor !== envList) {
      this.history = [...this.declared].map(([name, value]) => `${name}=${this.env.get(name) ?? value ?? ''}`);
      this.historyFor = envList;
    }
    return this.history;
  }
}
