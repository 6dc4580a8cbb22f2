// Dockerfile text → our Instruction union. This is BuildKit's two parse
// phases (parser.Parse, then instructions.Parse) in one pass: text-scan.ts
// finds the logical lines and heredoc bodies, this file types them and
// performs every check BuildKit makes at parse time, so those errors are
// raised for all stages, reachable from the target or not.
//
// The syntax layer is our own scanner rather than dockerfile-ast: that
// library is editor-oriented and disagrees with BuildKit on where
// instructions end (an escaped escape token at the end of a line, heredoc
// bodies), and every such disagreement would be a silent misparse.
import { DockerfileError, type DockerfileErrorCode } from './errors.js';
import { checkFlags } from './flags.js';
import type {
  ArgInstruction,
  CommandLine,
  Dockerfile,
  Flag,
  Heredoc,
  Instruction,
  InstructionKind,
  KeyValue,
  Stage,
} from './instructions.js';
import { checkMountSpec } from './plan/mounts.js';
import { parseGoDuration } from './plan/go-format.js';
import { ShellLexError } from './shell-lexer.js';
import type { SourceRange } from './source-range.js';
import { heredocMarkers } from './heredoc.js';
import {
  parseJsonArray,
  positionOf,
  scanDirectives,
  scanNodes,
  splitCommand,
  splitLines,
  splitWords,
  WHITESPACE_RE,
  type RawHeredoc,
  type RawNode,
  type SplitCommand,
} from './text-scan.js';

export const INSTRUCTION_KINDS: readonly InstructionKind[] = [
  'FROM', 'RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'LABEL', 'ENV', 'ARG', 'EXPOSE', 'COPY', 'ADD',
  'WORKDIR', 'USER', 'VOLUME', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'MAINTAINER',
];
const KIND_SET = new Set<string>(INSTRUCTION_KINDS);
const HEREDOC_KINDS = new Set<string>(['RUN', 'COPY', 'ADD']);
const MIN_DURATION_NS = 1e6;

export interface ParseOptions {
  /** Shown in error messages; defaults to "Dockerfile". */
  file?: string;
}

interface Ctx {
  text: string;
  lines: string[];
  /** Offset in `text` of each line (lines are split on "\n"). */
  lineStarts: number[];
  escape: '\\' | '`';
  file: string;
}

export function parseDockerfile(text: string, options: ParseOptions = {}): Dockerfile {
  const file = options.file ?? 'Dockerfile';
  const ctx = newCtx(text, file);
  const { directives, problem } = scanDirectives(ctx.lines);
  if (problem) {
    throw new DockerfileError('TSB_DOCKERFILE_DIRECTIVE', problem.message, lineRange(ctx.lines, problem.line - 1), { file });
  }
  ctx.escape = directives.escape;
  const instructions = parseInstructions(ctx);
  if (instructions.length === 0) {
    throw err(ctx, 'TSB_DOCKERFILE_EMPTY', 'the Dockerfile has no instructions', lineRange(ctx.lines, ctx.lines.length - 1));
  }

  const globalArgs: ArgInstruction[] = [];
  const stages: Stage[] = [];
  for (const instr of instructions) {
    if (instr.kind === 'FROM') {
      stages.push({ index: stages.length, from: instr, instructions: [] });
    } else if (stages.length === 0) {
      if (instr.kind !== 'ARG') {
        throw err(ctx, 'TSB_DOCKERFILE_NO_FROM', `${instr.kind} before the first FROM: only ARG may come before FROM`, instr.range);
      }
      globalArgs.push(instr);
    } else {
      (stages[stages.length - 1] as Stage).instructions.push(instr);
    }
  }
  if (stages.length === 0) {
    throw err(ctx, 'TSB_DOCKERFILE_NO_FROM', 'the Dockerfile has no FROM instruction', lineRange(ctx.lines, ctx.lines.length - 1));
  }
  return { directives, globalArgs, stages, text };
}

/**
 * One ONBUILD trigger from a base image's config, parsed like BuildKit does
 * (a Dockerfile of its own that must hold exactly one instruction); errors
 * point at `range`, the FROM that inherited the trigger.
 */
export function parseTrigger(text: string, range: SourceRange): Instruction {
  const ctx = newCtx(text, 'ONBUILD trigger');
  let instructions: Instruction[];
  try {
    instructions = parseInstructions(ctx);
  } catch (e) {
    if (e instanceof DockerfileError) {
      throw new DockerfileError(e.code, `invalid ONBUILD trigger "${text}": ${e.message}`, range, { cause: e });
    }
    throw e;
  }
  const only = instructions[0];
  if (instructions.length !== 1 || only === undefined) {
    throw new DockerfileError('TSB_DOCKERFILE_SYNTAX', `onbuild trigger should be a single expression: "${text}"`, range);
  }
  if (only.kind === 'FROM') {
    throw new DockerfileError('TSB_DOCKERFILE_SYNTAX', `FROM is not allowed as an ONBUILD trigger: "${text}"`, range);
  }
  return relocate(only, range);
}

function relocate(instr: Instruction, range: SourceRange): Instruction {
  const flags = instr.flags.map((f) => ({ ...f, range }));
  if (instr.kind === 'ONBUILD') return { ...instr, range, flags, trigger: relocate(instr.trigger, range) };
  return { ...instr, range, flags } as Instruction;
}

function newCtx(text: string, file: string): Ctx {
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  return { text, lines: splitLines(text), lineStarts, escape: '\\', file };
}

function parseInstructions(ctx: Ctx): Instruction[] {
  const out: Instruction[] = [];
  const nodes = scanNodes(ctx.lines, ctx.escape, {
    heredocsOf: (line, startLine) => {
      try {
        return heredocsOf(line);
      } catch (e) {
        // A delimiter the lexer cannot read fails the instruction, as in BuildKit.
        if (e instanceof ShellLexError || e instanceof RangeError) {
          throw err(ctx, 'TSB_DOCKERFILE_HEREDOC', `invalid heredoc delimiter: ${e.message}`, lineRange(ctx.lines, startLine));
        }
        throw e;
      }
    },
    unterminated: ({ startLine, endLine, name }) => {
      throw err(ctx, 'TSB_DOCKERFILE_HEREDOC', `unterminated heredoc: no line "${name}" ends it`, {
        start: { line: startLine + 1, column: 1 },
        end: { line: endLine + 1, column: (ctx.lines[endLine] ?? '').length + 1 },
      });
    },
  });
  for (const node of nodes) out.push(buildNode(ctx, node));
  return out;
}

/** BuildKit canContainHeredoc + heredocsFromLine. */
function heredocsOf(line: string): Omit<RawHeredoc, 'content'>[] {
  let sc = splitCommand(line);
  if (sc.keyword.toUpperCase() === 'ONBUILD') sc = splitCommand(sc.args);
  if (!HEREDOC_KINDS.has(sc.keyword.toUpperCase())) return [];
  if (parseJsonArray(sc.args).ok) return [];
  return heredocMarkers(line);
}

function err(ctx: Ctx, code: DockerfileErrorCode, message: string, range: SourceRange): DockerfileError {
  return new DockerfileError(code, message, range, { file: ctx.file });
}

function lineRange(lines: readonly string[], line0: number): SourceRange {
  const line = Math.max(0, Math.min(line0, lines.length - 1));
  const len = (lines[line] ?? '').length;
  return { start: { line: line + 1, column: 1 }, end: { line: line + 1, column: len + 1 } };
}

interface NodeCtx {
  ctx: Ctx;
  node: RawNode;
  range: SourceRange;
  original: string;
  emptyContinuation: boolean;
}

function buildNode(ctx: Ctx, node: RawNode): Instruction {
  const sc = splitCommand(node.line);
  const start = positionOf(node, sc.keywordOffset);
  const range: SourceRange = {
    start: { line: start.line + 1, column: start.column + 1 },
    end: { line: node.endLine + 1, column: (ctx.lines[node.endLine] ?? '').length + 1 },
  };
  const nc: NodeCtx = {
    ctx,
    node,
    range,
    original: ctx.text.slice(ctx.lineStarts[node.startLine], (ctx.lineStarts[node.endLine + 1] ?? ctx.text.length + 1) - 1).replace(/\r(?=\n|$)/g, '').replace(/^\uFEFF/, ''),
    emptyContinuation: node.emptyContinuation,
  };
  try {
    return buildInstruction(nc, sc, 0, node.heredocs);
  } catch (e) {
    // A heredoc delimiter the lexer cannot read, reported like BuildKit at the instruction.
    if (e instanceof ShellLexError) throw err(ctx, 'TSB_DOCKERFILE_HEREDOC', e.message, range);
    if (e instanceof RangeError) throw err(ctx, 'TSB_DOCKERFILE_HEREDOC', 'heredoc delimiter nested too deeply', range);
    throw e;
  }
}

function suggest(keyword: string): string {
  let best = '';
  let bestDist = 3;
  for (const k of INSTRUCTION_KINDS) {
    const d = editDistance(keyword, k);
    if (d < bestDist) {
      bestDist = d;
      best = k;
    }
  }
  return best ? ` (did you mean ${best.toLowerCase()}?)` : '';
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0] as number;
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j] as number;
      dp[j] = Math.min((dp[j] as number) + 1, (dp[j - 1] as number) + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length] as number;
}

/** Range of `length` characters at `offset` of the joined line. */
function spanRange(nc: NodeCtx, offset: number, length: number): SourceRange {
  const p = positionOf(nc.node, offset);
  return { start: { line: p.line + 1, column: p.column + 1 }, end: { line: p.line + 1, column: p.column + 1 + length } };
}

/** Heredoc bodies of the instruction, by the names its words refer to. */
function toHeredocs(raw: readonly RawHeredoc[]): Heredoc[] {
  return raw.map((h) => ({ name: h.name, content: h.content, expand: h.expand, chomp: h.chomp }));
}

/**
 * Type one instruction. `base` is the offset of `sc`'s text in the node's
 * joined line (non-zero for an ONBUILD trigger).
 */
function buildInstruction(nc: NodeCtx, sc: SplitCommand, base: number, rawHeredocs: readonly RawHeredoc[]): Instruction {
  const { ctx, range } = nc;
  const keyword = sc.keyword;
  const upper = keyword.toUpperCase();
  if (!KIND_SET.has(upper)) {
    throw err(ctx, 'TSB_DOCKERFILE_UNKNOWN_INSTRUCTION', `unknown instruction: ${keyword}${suggest(upper)}`,
      spanRange(nc, base + sc.keywordOffset, keyword.length));
  }
  const kind = upper as InstructionKind;
  const rawFlags: Flag[] = sc.flags.map((f) => ({ name: f.name, value: f.value, range: spanRange(nc, base + f.offset, f.length) }));
  const fail = (code: DockerfileErrorCode, message: string, at: SourceRange = range): never => {
    throw err(ctx, code, message, at);
  };
  // HEALTHCHECK NONE takes no flags; its flag set is only defined for CMD.
  const checked = checkFlags(kind, rawFlags);
  if ('problem' in checked) {
    const code = checked.problem.startsWith('unknown flag') ? 'TSB_DOCKERFILE_UNKNOWN_FLAG' : 'TSB_DOCKERFILE_BAD_FLAG';
    fail(code, checked.problem, checked.flag.range);
  }
  const flags = (checked as { flags: Flag[] }).flags;
  const rest = sc.args;
  const common = {
    range,
    original: nc.original,
    keyword,
    flags,
    emptyContinuation: nc.emptyContinuation,
  };
  const heredocs = toHeredocs(rawHeredocs);
  const words = (): string[] => (rest === '' ? [] : rest.split(WHITESPACE_RE));
  const flagRange = (name: string): SourceRange => flags.find((f) => f.name === name)?.range ?? range;

  switch (kind) {
    case 'FROM': {
      const w = words();
      const asForm = w.length === 3 && (w[1] as string).toLowerCase() === 'as';
      if (!asForm && w.length !== 1) fail('TSB_DOCKERFILE_ARGS', 'FROM requires either one or three arguments: FROM [--platform=…] <image> [AS <name>]');
      const stageName = asForm ? (w[2] as string) : null;
      let stageNameRange: SourceRange | null = null;
      if (stageName !== null) {
        const at = rest.lastIndexOf(stageName);
        stageNameRange = spanRange(nc, base + sc.argsOffset + Math.max(at, 0), stageName.length);
      }
      return { kind, ...common, image: w[0] as string, stageName, stageNameRange, asKeyword: asForm ? (w[1] as string) : null };
    }
    case 'RUN': {
      if (rest === '') fail('TSB_DOCKERFILE_ARGS', 'RUN requires at least one argument');
      const command = commandLine(nc, kind, rest);
      if (heredocs.length > 0 && command.form !== 'shell') fail('TSB_DOCKERFILE_HEREDOC', 'heredocs can only be used with the shell form of RUN');
      checkRunFlags(nc, flags);
      return { kind, ...common, command, heredocs };
    }
    case 'CMD':
    case 'ENTRYPOINT':
      return { kind, ...common, command: commandLine(nc, kind, rest) };
    case 'SHELL': {
      const json = parseJsonArray(rest);
      if (!json.ok && json.notStrings) fail('TSB_DOCKERFILE_JSON', 'SHELL: when using JSON array syntax, arrays must be comprised of strings only');
      if (rest === '' || (json.ok && json.values.length === 0)) fail('TSB_DOCKERFILE_ARGS', 'SHELL requires at least one argument');
      if (!json.ok) fail('TSB_DOCKERFILE_JSON', 'SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/sh", "-c"]');
      return { kind, ...common, args: (json as { values: string[] }).values };
    }
    case 'LABEL':
    case 'ENV': {
      const { pairs, legacyForm } = parseNameVal(nc, kind, rest);
      return { kind, ...common, pairs, legacyForm };
    }
    case 'ARG': {
      const w = splitWords(rest, ctx.escape);
      if (w.length === 0) fail('TSB_DOCKERFILE_ARGS', 'ARG requires at least one argument');
      const args = w.map((word) => {
        const eq = word.indexOf('=');
        const name = eq < 0 ? word : word.slice(0, eq);
        if (name === '') fail('TSB_DOCKERFILE_ARGS', 'ARG names can not be blank');
        return { name, value: eq < 0 ? null : word.slice(eq + 1) };
      });
      return { kind, ...common, args };
    }
    case 'EXPOSE': {
      const w = words();
      if (w.length === 0) fail('TSB_DOCKERFILE_ARGS', 'EXPOSE requires at least one argument');
      return { kind, ...common, ports: w };
    }
    case 'COPY':
    case 'ADD': {
      const json = parseJsonArray(rest);
      if (!json.ok && json.notStrings) fail('TSB_DOCKERFILE_JSON', `${kind}: when using JSON array syntax, arrays must be comprised of strings only`);
      const list = json.ok ? json.values : words();
      if (list.length < 2) {
        fail('TSB_DOCKERFILE_ARGS', `${kind} requires at least two arguments, but only one was provided. Destination could not be determined`);
      }
      const dest = list[list.length - 1] as string;
      if (isHeredocWord(dest)) fail('TSB_DOCKERFILE_HEREDOC', `${kind} cannot accept a heredoc as a destination`);
      return { kind, ...common, sources: list.slice(0, -1), dest, heredocs };
    }
    case 'WORKDIR':
      if (rest === '') fail('TSB_DOCKERFILE_ARGS', 'WORKDIR requires exactly one argument');
      return { kind, ...common, path: rest };
    case 'USER':
      if (rest === '') fail('TSB_DOCKERFILE_ARGS', 'USER requires exactly one argument');
      return { kind, ...common, user: rest };
    case 'VOLUME': {
      const json = parseJsonArray(rest);
      if (!json.ok && json.notStrings) fail('TSB_DOCKERFILE_JSON', 'VOLUME: when using JSON array syntax, arrays must be comprised of strings only');
      const list = json.ok ? json.values : words();
      if (list.length === 0) fail('TSB_DOCKERFILE_ARGS', 'VOLUME requires at least one argument');
      if (list.some((v) => v.trim() === '')) fail('TSB_DOCKERFILE_ARGS', 'VOLUME specified can not be an empty string');
      return { kind, ...common, paths: list.map((v) => v.trim()) };
    }
    case 'STOPSIGNAL':
      if (rest === '') fail('TSB_DOCKERFILE_ARGS', 'STOPSIGNAL requires exactly one argument');
      return { kind, ...common, signal: rest };
    case 'MAINTAINER':
      if (rest === '') fail('TSB_DOCKERFILE_ARGS', 'MAINTAINER requires exactly one argument');
      return { kind, ...common, name: rest };
    case 'HEALTHCHECK': {
      if (rest === '') fail('TSB_DOCKERFILE_ARGS', 'HEALTHCHECK requires at least one argument');
      const m = /^(\S+)\s*([\s\S]*)$/.exec(rest);
      const type = (m?.[1] ?? '').toUpperCase();
      const cmdText = m?.[2] ?? '';
      const none = { interval: 0, timeout: 0, startPeriod: 0, startInterval: 0, retries: 0 };
      if (type === 'NONE') {
        if (cmdText !== '') fail('TSB_DOCKERFILE_ARGS', 'HEALTHCHECK NONE takes no arguments');
        const first = flags[0];
        if (first) fail('TSB_DOCKERFILE_BAD_FLAG', `HEALTHCHECK NONE takes no flags, got --${first.name}`, first.range);
        return { kind, ...common, command: null, ...none };
      }
      if (type !== 'CMD') fail('TSB_DOCKERFILE_ARGS', `Unknown type "${type}" in HEALTHCHECK (try CMD)`);
      const command = commandLine(nc, kind, cmdText);
      if ((command.form === 'shell' && command.text === '') || (command.form === 'exec' && command.args.length === 0)) {
        fail('TSB_DOCKERFILE_ARGS', 'Missing command after HEALTHCHECK CMD');
      }
      const duration = (name: string): number => {
        const raw = flags.find((f) => f.name === name)?.value ?? '';
        if (raw === '') return 0;
        const ns = parseGoDuration(raw);
        if (ns === null) return fail('TSB_DOCKERFILE_BAD_FLAG', `time: invalid duration "${raw}" for --${name}`, flagRange(name));
        if (ns === 0) return 0;
        if (ns < MIN_DURATION_NS) return fail('TSB_DOCKERFILE_BAD_FLAG', `Interval "${name}" cannot be less than 1ms`, flagRange(name));
        return ns;
      };
      const interval = duration('interval');
      const timeout = duration('timeout');
      const startPeriod = duration('start-period');
      const startInterval = duration('start-interval');
      const retriesRaw = flags.find((f) => f.name === 'retries')?.value ?? '';
      let retries = 0;
      if (retriesRaw !== '') {
        // strconv.ParseInt(v, 10, 32)
        if (!/^[+-]?\d+$/.test(retriesRaw) || Math.abs(Number(retriesRaw)) > 2 ** 31) {
          fail('TSB_DOCKERFILE_BAD_FLAG', `invalid --retries=${retriesRaw}: expected an integer`, flagRange('retries'));
        }
        retries = Number(retriesRaw);
        if (retries > 2 ** 31 - 1) fail('TSB_DOCKERFILE_BAD_FLAG', `invalid --retries=${retriesRaw}: value out of range`, flagRange('retries'));
        if (retries < 0) fail('TSB_DOCKERFILE_BAD_FLAG', `--retries cannot be negative (${retries})`, flagRange('retries'));
      }
      return { kind, ...common, command, interval, timeout, startPeriod, startInterval, retries };
    }
    case 'ONBUILD': {
      if (rest === '') fail('TSB_DOCKERFILE_ARGS', 'ONBUILD requires at least one argument');
      const sub = splitCommand(rest);
      const subKeyword = sub.keyword.toUpperCase();
      if (subKeyword === 'ONBUILD') fail('TSB_DOCKERFILE_ARGS', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
      if (subKeyword === 'FROM' || subKeyword === 'MAINTAINER') fail('TSB_DOCKERFILE_ARGS', `${subKeyword} isn't allowed as an ONBUILD trigger`);
      // BuildKit checks only the keyword here and the rest when a child
      // build runs the trigger; we type the trigger now so its errors are
      // reported against this Dockerfile instead of someone else's.
      const trigger = buildInstruction(nc, sub, base + sc.argsOffset, rawHeredocs);
      let expression = nc.node.line.replace(/^\s*ONBUILD\s*/i, '');
      for (const h of rawHeredocs) expression += '\n' + h.content + h.name;
      return { kind, ...common, expression, trigger };
    }
  }
}

function isHeredocWord(word: string): boolean {
  return /^\d*<<-?[^<]+$/.test(word);
}

/** RUN flags BuildKit validates at parse time (its run pre/post hooks). */
function checkRunFlags(nc: NodeCtx, flags: readonly Flag[]): void {
  for (const f of flags) {
    if (f.name === 'network' && !['default', 'none', 'host'].includes(f.value ?? '')) {
      throw err(nc.ctx, 'TSB_DOCKERFILE_BAD_FLAG', `unsupported network mode "${f.value ?? ''}": expected default, none or host`, f.range);
    }
    if (f.name === 'security' && !['sandbox', 'insecure'].includes(f.value ?? '')) {
      throw err(nc.ctx, 'TSB_DOCKERFILE_BAD_FLAG', `unsupported security mode "${f.value ?? ''}": expected sandbox or insecure`, f.range);
    }
    if (f.name === 'mount') {
      const problem = checkMountSpec(f.value ?? '');
      if (problem !== null) throw err(nc.ctx, 'TSB_DOCKERFILE_BAD_FLAG', `invalid --mount=${f.value ?? ''}: ${problem}`, f.range);
    }
  }
}

function commandLine(nc: NodeCtx, kind: string, rest: string): CommandLine {
  const json = parseJsonArray(rest);
  if (json.ok) return { form: 'exec', args: json.values };
  if (json.notStrings) {
    throw err(nc.ctx, 'TSB_DOCKERFILE_JSON', `${kind}: when using JSON array syntax, arrays must be comprised of strings only`, nc.range);
  }
  return { form: 'shell', text: rest };
}

/** BuildKit parseNameVal: `K=V K2=V2`, or the legacy `K V` with everything after the first blank as the value. */
function parseNameVal(nc: NodeCtx, kind: 'ENV' | 'LABEL', rest: string): { pairs: KeyValue[]; legacyForm: boolean } {
  const words = splitWords(rest, nc.ctx.escape);
  if (words.length === 0) throw err(nc.ctx, 'TSB_DOCKERFILE_ARGS', `${kind} requires at least one argument`, nc.range);
  if (!(words[0] as string).includes('=')) {
    const ws = WHITESPACE_RE.exec(rest);
    if (!ws) throw err(nc.ctx, 'TSB_DOCKERFILE_ARGS', `${kind} must have two arguments`, nc.range);
    return { pairs: [{ key: rest.slice(0, ws.index), value: rest.slice(ws.index + ws[0].length) }], legacyForm: true };
  }
  const pairs = words.map((word) => {
    const eq = word.indexOf('=');
    if (eq < 0) {
      throw err(nc.ctx, 'TSB_DOCKERFILE_ARGS', `Syntax error - can't find = in "${word}". Must be of the form: name=value`, nc.range);
    }
    const key = word.slice(0, eq);
    if (key === '') throw err(nc.ctx, 'TSB_DOCKERFILE_ARGS', `${kind} names can not be blank`, nc.range);
    return { key, value: word.slice(eq + 1) };
  });
  return { pairs, legacyForm: false };
}
