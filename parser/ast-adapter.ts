// The only file that touches dockerfile-ast. dockerfile-ast finds where each
// instruction starts; everything the build depends on (continuations,
// heredoc bodies, flags, argument forms) is re-derived here from the raw
// lines with BuildKit's rules, because the library is editor-oriented: it
// never throws and it joins heredoc bodies as if they were continuations.
import { DockerfileParser } from 'dockerfile-ast';
import { DockerfileError, type DockerfileErrorCode } from './errors.js';
import { checkFlags } from './flags.js';
import type {
  CommandLine,
  Dockerfile,
  Flag,
  Heredoc,
  Instruction,
  InstructionKind,
  KeyValue,
  Stage,
  ArgInstruction,
} from './instructions.js';
import type { SourceRange } from './source-range.js';
import {
  extractFlags,
  findHeredocMarkers,
  isCommentLine,
  joinContinuation,
  parseJsonArray,
  scanDirectives,
  splitWords,
  type HeredocMarker,
} from './text-scan.js';

export const INSTRUCTION_KINDS: readonly InstructionKind[] = [
  'FROM', 'RUN', 'CMD', 'ENTRYPOINT', 'SHELL', 'LABEL', 'ENV', 'ARG', 'EXPOSE', 'COPY', 'ADD',
  'WORKDIR', 'USER', 'VOLUME', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'MAINTAINER',
];
const KIND_SET = new Set<string>(INSTRUCTION_KINDS);
const HEREDOC_KINDS = new Set<string>(['RUN', 'COPY', 'ADD']);

export interface ParseOptions {
  /** Shown in error messages; defaults to "Dockerfile". */
  file?: string;
}

interface Ctx {
  lines: string[];
  escape: '\\' | '`';
  file: string;
}

export function parseDockerfile(text: string, options: ParseOptions = {}): Dockerfile {
  const file = options.file ?? 'Dockerfile';
  const lines = text.split(/\r\n|\r|\n/);
  const { directives, problem } = scanDirectives(lines);
  if (problem) {
    throw new DockerfileError('TSB_DOCKERFILE_DIRECTIVE', problem.message, lineRange(lines, problem.line - 1), { file });
  }
  const ctx: Ctx = { lines, escape: directives.escape, file };

  const starts = DockerfileParser.parse(text)
    .getInstructions()
    .map((i) => ({ start: i.getRange().start.line, end: i.getRange().end.line }));

  const instructions: Instruction[] = [];
  let consumedUntil = -1;
  for (const { start, end } of starts) {
    if (start <= consumedUntil) continue;
    const { instruction, lastLine } = parseInstructionAt(ctx, start);
    // dockerfile-ast may run further (it reads heredocs differently); any
    // real content it swallowed that we did not is a syntax problem, never
    // silently dropped.
    for (let l = lastLine + 1; l <= end; l++) {
      const raw = lines[l] ?? '';
      if (raw.trim() !== '' && !isCommentLine(raw)) {
        throw err(ctx, 'TSB_DOCKERFILE_SYNTAX', `unexpected text after instruction`, lineRange(lines, l));
      }
    }
    consumedUntil = lastLine;
    instructions.push(instruction);
  }

  if (instructions.length === 0) {
    throw err(ctx, 'TSB_DOCKERFILE_EMPTY', 'the Dockerfile has no instructions', lineRange(lines, 0));
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
    throw err(ctx, 'TSB_DOCKERFILE_NO_FROM', 'the Dockerfile has no FROM instruction', lineRange(lines, lines.length - 1));
  }
  return { directives, globalArgs, stages, text };
}

function err(ctx: Ctx, code: DockerfileErrorCode, message: string, range: SourceRange): DockerfileError {
  return new DockerfileError(code, message, range, { file: ctx.file });
}

function lineRange(lines: readonly string[], line0: number): SourceRange {
  const line = Math.max(0, Math.min(line0, lines.length - 1));
  const len = (lines[line] ?? '').length;
  return { start: { line: line + 1, column: 1 }, end: { line: line + 1, column: len + 1 } };
}

function parseInstructionAt(ctx: Ctx, start: number): { instruction: Instruction; lastLine: number } {
  const { lines } = ctx;
  const joined = joinContinuation(lines, start, ctx.escape);
  const firstLine = lines[start] ?? '';
  const column = firstLine.length - firstLine.trimStart().length + 1;
  let lastLine = start + joined.consumed - 1;
  const text = joined.text.trim();
  const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(text);
  const word = m?.[1] ?? '';
  const args = m?.[2] ?? '';
  const keyword = word.toUpperCase();
  const headRange: SourceRange = {
    start: { line: start + 1, column },
    end: { line: lastLine + 1, column: (lines[lastLine] ?? '').length + 1 },
  };
  if (!KIND_SET.has(keyword)) {
    throw err(ctx, 'TSB_DOCKERFILE_UNKNOWN_INSTRUCTION', `unknown instruction: ${word}${suggest(keyword)}`, {
      start: headRange.start,
      end: { line: start + 1, column: column + word.length },
    });
  }
  const kind = keyword as InstructionKind;

  // Heredoc bodies follow the command line (RUN/COPY/ADD, and ONBUILD's trigger).
  let heredocs: Heredoc[] = [];
  const subKeyword = kind === 'ONBUILD' ? (/^\s*(\S+)/.exec(args)?.[1] ?? '').toUpperCase() : kind;
  if (HEREDOC_KINDS.has(subKeyword)) {
    const markers = findHeredocMarkers(extractFlags(kind === 'ONBUILD' ? args.replace(/^\s*\S+/, '') : args).rest, ctx.escape);
    if (markers.length > 0) {
      const read = readHeredocs(ctx, markers, lastLine + 1, headRange);
      heredocs = read.heredocs;
      lastLine = read.lastLine;
    }
  }
  const range: SourceRange = {
    start: headRange.start,
    end: { line: lastLine + 1, column: (lines[lastLine] ?? '').length + 1 },
  };
  const original = lines.slice(start, lastLine + 1).join('\n');
  const instruction = buildInstruction(ctx, kind, args, heredocs, range, original, start);
  return { instruction, lastLine };
}

function readHeredocs(
  ctx: Ctx,
  markers: HeredocMarker[],
  from: number,
  headRange: SourceRange,
): { heredocs: Heredoc[]; lastLine: number } {
  const heredocs: Heredoc[] = [];
  let line = from;
  for (const marker of markers) {
    let content = '';
    let found = false;
    for (; line < ctx.lines.length; line++) {
      const raw = ctx.lines[line] ?? '';
      const compare = marker.chomp ? raw.replace(/^\t+/, '') : raw;
      if (compare === marker.name) {
        found = true;
        line++;
        break;
      }
      content += (marker.chomp ? raw.replace(/^\t+/, '') : raw) + '\n';
    }
    if (!found) {
      throw err(ctx, 'TSB_DOCKERFILE_HEREDOC', `unterminated heredoc: no line "${marker.name}" ends it`, headRange);
    }
    heredocs.push({ name: marker.name, content, expand: marker.expand, chomp: marker.chomp });
  }
  return { heredocs, lastLine: line - 1 };
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

function buildInstruction(
  ctx: Ctx,
  kind: InstructionKind,
  args: string,
  heredocs: Heredoc[],
  range: SourceRange,
  original: string,
  startLine: number,
): Instruction {
  const extracted = extractFlags(args);
  const firstLine = ctx.lines[startLine] ?? '';
  const flags: Flag[] = extracted.flags.map((f) => {
    const text = args.slice(f.offset, f.offset + f.length);
    const col = firstLine.indexOf(text);
    const column = col >= 0 ? col + 1 : range.start.column;
    return {
      name: f.name,
      value: f.value,
      range: { start: { line: range.start.line, column }, end: { line: range.start.line, column: column + text.length } },
    };
  });
  const bad = checkFlags(kind, flags);
  if (bad) {
    const code = bad.message.startsWith('unknown flag') ? 'TSB_DOCKERFILE_UNKNOWN_FLAG' : 'TSB_DOCKERFILE_BAD_FLAG';
    throw err(ctx, code, bad.message, bad.flag.range);
  }
  // Heredoc bodies are not part of the arguments; only the command line is.
  const rest = extracted.rest.trim();
  const base = { range, original, flags };
  const fail = (code: DockerfileErrorCode, message: string): never => {
    throw err(ctx, code, message, range);
  };
  const words = (): string[] => rest.split(/[\t\v\f\r ]+/).filter(Boolean);

  switch (kind) {
    case 'FROM': {
      const w = words();
      if (w.length !== 1 && !(w.length === 3 && (w[1] as string).toLowerCase() === 'as')) {
        fail('TSB_DOCKERFILE_ARGS', 'FROM requires either one or three arguments: FROM <image> [AS <name>]');
      }
      const stageName = w.length === 3 ? (w[2] as string) : null;
      let stageNameRange: SourceRange | null = null;
      if (stageName !== null) {
        const col = firstLine.lastIndexOf(stageName);
        const column = col >= 0 ? col + 1 : range.start.column;
        stageNameRange = { start: { line: range.start.line, column }, end: { line: range.start.line, column: column + stageName.length } };
      }
      return { kind, ...base, image: w[0] as string, stageName, stageNameRange };
    }
    case 'RUN':
      if (rest === '') fail('TSB_DOCKERFILE_ARGS', 'RUN requires at least one argument');
      return { kind, ...base, command: commandLine(ctx, kind, rest, range), heredocs };
    case 'CMD':
    case 'ENTRYPOINT':
      return { kind, ...base, command: commandLine(ctx, kind, rest, range) };
    case 'SHELL': {
      const json = parseJsonArray(rest);
      if (!json.ok) fail('TSB_DOCKERFILE_JSON', 'SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/sh", "-c"]');
      const values = (json as { values: string[] }).values;
      if (values.length === 0) fail('TSB_DOCKERFILE_ARGS', 'SHELL requires at least one argument');
      return { kind, ...base, args: values };
    }
    case 'LABEL':
    case 'ENV': {
      const { pairs, legacyForm } = parseNameVal(ctx, kind, rest, range);
      return { kind, ...base, pairs, legacyForm };
    }
    case 'ARG': {
      const w = splitWords(rest, ctx.escape);
      if (w.length === 0) fail('TSB_DOCKERFILE_ARGS', 'ARG requires at least one argument');
      const argsList = w.map((word) => {
        const eq = word.indexOf('=');
        const name = eq < 0 ? word : word.slice(0, eq);
        if (name === '') fail('TSB_DOCKERFILE_ARGS', `ARG names can not be blank: "${word}"`);
        return { name, value: eq < 0 ? null : word.slice(eq + 1) };
      });
      return { kind, ...base, args: argsList };
    }
    case 'EXPOSE': {
      const w = words();
      if (w.length === 0) fail('TSB_DOCKERFILE_ARGS', 'EXPOSE requires at least one argument');
      return { kind, ...base, ports: w };
    }
    case 'COPY':
    case 'ADD': {
      const json = parseJsonArray(rest);
      if (!json.ok && json.notStrings) fail('TSB_DOCKERFILE_JSON', `${kind} JSON form must be an array of strings`);
      const list = json.ok ? json.values : words();
      if (list.length < 2 && !(heredocs.length > 0 && list.length >= 1)) {
        fail('TSB_DOCKERFILE_ARGS', `${kind} requires at least two arguments, but only one was provided. Destination could not be determined`);
      }
      return { kind, ...base, sources: list.slice(0, -1), dest: list[list.length - 1] as string, heredocs };
    }
    case 'WORKDIR':
      if (rest === '') fail('TSB_DOCKERFILE_ARGS', 'WORKDIR requires exactly one argument');
      return { kind, ...base, path: rest };
    case 'USER':
      if (rest === '') fail('TSB_DOCKERFILE_ARGS', 'USER requires exactly one argument');
      return { kind, ...base, user: rest };
    case 'VOLUME': {
      const json = parseJsonArray(rest);
      if (!json.ok && json.notStrings) fail('TSB_DOCKERFILE_JSON', 'VOLUME JSON form must be an array of strings');
      const list = json.ok ? json.values : words();
      if (list.length === 0) fail('TSB_DOCKERFILE_ARGS', 'VOLUME requires at least one argument');
      return { kind, ...base, paths: list };
    }
    case 'STOPSIGNAL':
      if (rest === '' || /\s/.test(rest)) fail('TSB_DOCKERFILE_ARGS', 'STOPSIGNAL requires exactly one argument');
      return { kind, ...base, signal: rest };
    case 'MAINTAINER':
      if (rest === '') fail('TSB_DOCKERFILE_ARGS', 'MAINTAINER requires exactly one argument');
      return { kind, ...base, name: rest };
    case 'HEALTHCHECK': {
      const m = /^(\S+)\s*([\s\S]*)$/.exec(rest);
      const type = (m?.[1] ?? '').toUpperCase();
      const cmdText = m?.[2] ?? '';
      if (type === 'NONE') {
        if (cmdText.trim() !== '' || flags.length > 0) fail('TSB_DOCKERFILE_ARGS', 'HEALTHCHECK NONE takes no arguments or flags');
        return { kind, ...base, command: null };
      }
      if (type !== 'CMD') fail('TSB_DOCKERFILE_ARGS', 'HEALTHCHECK requires NONE or CMD <command>');
      if (cmdText.trim() === '') fail('TSB_DOCKERFILE_ARGS', 'HEALTHCHECK CMD requires a command');
      return { kind, ...base, command: commandLine(ctx, kind, cmdText, range) };
    }
    case 'ONBUILD': {
      if (rest === '') fail('TSB_DOCKERFILE_ARGS', 'ONBUILD requires at least one argument');
      const sub = (/^(\S+)/.exec(rest)?.[1] ?? '').toUpperCase();
      if (sub === 'ONBUILD') fail('TSB_DOCKERFILE_ARGS', 'chaining ONBUILD via `ONBUILD ONBUILD` is not allowed');
      if (sub === 'FROM' || sub === 'MAINTAINER') fail('TSB_DOCKERFILE_ARGS', `${sub} is not allowed as an ONBUILD trigger`);
      if (!KIND_SET.has(sub)) {
        throw err(ctx, 'TSB_DOCKERFILE_UNKNOWN_INSTRUCTION', `unknown instruction in ONBUILD: ${sub}${suggest(sub)}`, range);
      }
      const subArgs = rest.replace(/^\S+\s*/, '');
      const trigger = buildInstruction(ctx, sub as InstructionKind, subArgs, heredocs, range, original, startLine);
      return { kind, range, original, flags: [], expression: rest, trigger };
    }
  }
}

function commandLine(ctx: Ctx, kind: string, rest: string, range: SourceRange): CommandLine {
  const json = parseJsonArray(rest);
  if (json.ok) return { form: 'exec', args: json.values };
  if (json.notStrings) {
    throw err(ctx, 'TSB_DOCKERFILE_JSON', `${kind} JSON form must be an array of strings`, range);
  }
  return { form: 'shell', text: rest };
}

function parseNameVal(ctx: Ctx, kind: 'ENV' | 'LABEL', rest: string, range: SourceRange): { pairs: KeyValue[]; legacyForm: boolean } {
  const words = splitWords(rest, ctx.escape);
  if (words.length === 0) throw err(ctx, 'TSB_DOCKERFILE_ARGS', `${kind} requires at least one argument`, range);
  if (!(words[0] as string).includes('=')) {
    const parts = rest.split(/[\t\v\f\r ]+/);
    if (parts.length < 2) throw err(ctx, 'TSB_DOCKERFILE_ARGS', `${kind} must have two arguments`, range);
    const key = parts[0] as string;
    const value = rest.slice(rest.indexOf(key) + key.length).replace(/^[\t\v\f\r ]+/, '');
    return { pairs: [{ key, value }], legacyForm: true };
  }
  const pairs = words.map((word) => {
    const eq = word.indexOf('=');
    if (eq < 0) {
      throw err(ctx, 'TSB_DOCKERFILE_ARGS', `syntax error - can't find = in "${word}". Must be of the form: name=value`, range);
    }
    const key = word.slice(0, eq);
    if (key === '') throw err(ctx, 'TSB_DOCKERFILE_ARGS', `${kind} names can not be blank`, range);
    return { key, value: word.slice(eq + 1) };
  });
  return { pairs, legacyForm: false };
}
