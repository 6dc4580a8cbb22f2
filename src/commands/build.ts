// `tsbuild build`: resolve options at the edge, run the frontend, and hand
// the plan on. Until the build engine lands, a build prints its plan.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import {
  lintRuleList,
  outlineBuild,
  parseDockerfile,
  planBuild,
  readDockerignore,
  type BuildGraph,
  type Diagnostic,
  type Platform,
  type PlanOptions,
} from '../../parser/index.js';
import { resolveRoot } from '../root.js';
import type { ProgressMode } from '../render/progress.js';
import { parseJobs, runBuild } from './run-build.js';
import { parseLimits, parseSecrets, parseSsh } from './build-limits.js';
import { readStdinContext, type StdinContext } from './stdin-context.js';
import { parseBuildRemote } from './build-remote.js';
import { bool, list, str, type ParsedCommand } from '../cli/command-line.js';
import { CliError } from '../errors.js';
import type { Io } from '../io.js';
import { formatSnippet } from '../render/error-snippet.js';

export interface BuildOptions {
  contextDir: string;
  dockerfile: { path: string; name: string; text: string };
  buildArgs: Record<string, string>;
  target: string | undefined;
  call: { method: 'build' | 'check' | 'outline' | 'targets'; format: 'text' | 'json' };
  platform: Platform | undefined;
  network: 'default' | 'none' | 'host' | undefined;
  allowInsecure: boolean;
}

export function parsePlatform(text: string, flag: string): Platform {
  const parts = text.split('/');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => !/^[a-z0-9_]+$/i.test(p))) {
    throw new CliError('TSB_CLI_USAGE', `invalid ${flag} "${text}": expected os/arch[/variant], e.g. linux/amd64`);
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined];
  return variant ? { os, architecture, variant } : { os, architecture };
}

function parseCall(text: string | undefined): BuildOptions['call'] {
  if (text === undefined) return { method: 'build', format: 'text' };
  const [method, ...opts] = text.split(',');
  if (method !== 'build' && method !== 'check' && method !== 'outline' && method !== 'targets') {
    throw new CliError('TSB_CLI_USAGE', `invalid --call "${text}": expected build, check, outline or targets`);
  }
  let format: 'text' | 'json' = 'text';
  for (const o of opts) {
    if (o === 'format=json') format = 'json';
    else if (o !== 'format=text') throw new CliError('TSB_CLI_USAGE', `invalid --call option "${o}": expected format=json or format=text`);
  }
  return { method, format };
}

export function resolveBuildOptions(
  cmd: ParsedCommand,
  env: NodeJS.ProcessEnv,
  readStdin: () => string,
  stdinContext: StdinContext | null = null,
): BuildOptions {
  const { values, positionals } = cmd;
  const contextArg = stdinContext ? stdinContext.dir : (positionals[0] as string);
  const contextDir = resolve(contextArg);
  if (!existsSync(contextDir) || !statSync(contextDir).isDirectory()) {
    throw new CliError('TSB_CLI_FILE', `unable to prepare context: path "${contextArg}" not found or not a directory`);
  }
  const fileArg = str(values, 'file');
  let dockerfile: BuildOptions['dockerfile'];
  if (stdinContext?.dockerfileText != null) {
    if (fileArg !== undefined) throw new CliError('TSB_CLI_USAGE', 'tsbuild build -: stdin holds a Dockerfile, so -f cannot name another one');
    dockerfile = { path: '-', name: 'Dockerfile', text: stdinContext.dockerfileText };
  } else if (fileArg === '-') {
    if (stdinContext) throw new CliError('TSB_CLI_USAGE', 'tsbuild build: -f - and a context on stdin (-) cannot both read stdin');
    dockerfile = { path: '-', name: 'Dockerfile', text: readStdin() };
  } else {
    // With a context archive on stdin, -f names a file inside it, as in docker.
    const path = fileArg === undefined ? resolve(contextDir, 'Dockerfile') : stdinContext ? resolve(contextDir, fileArg) : resolve(fileArg);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new CliError('TSB_CLI_FILE', `failed to read the Dockerfile ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { cause: e });
    }
    dockerfile = { path, name: fileArg === undefined ? 'Dockerfile' : basename(path), text };
  }
  const buildArgs: Record<string, string> = {};
  for (const spec of list(values, 'build-arg')) {
    const eq = spec.indexOf('=');
    const name = eq < 0 ? spec : spec.slice(0, eq);
    if (name === '') throw new CliError('TSB_CLI_USAGE', `invalid --build-arg "${spec}": expected NAME=VALUE or NAME`);
    if (eq >= 0) buildArgs[name] = spec.slice(eq + 1);
    else if (env[name] !== undefined) buildArgs[name] = env[name] as string;
  }
  const platformText = str(values, 'platform');
  const allow = list(values, 'allow');
  return {
    contextDir,
    dockerfile,
    buildArgs,
    target: str(values, 'target'),
    call: parseCall(str(values, 'call')),
    platform: platformText === undefined ? undefined : parsePlatform(platformText, '--platform'),
    network: str(values, 'network') as BuildOptions['network'],
    allowInsecure: allow.includes('security.insecure'),
  };
}

function formatDiagnostic(d: Diagnostic, file: string, text: string): string {
  const head = `${d.level === 'error' ? 'ERROR' : 'WARN'}: ${d.rule} - ${lintRuleList.find((r) => r.name === d.rule)?.url ?? ''}`;
  const lines = [head, d.message];
  if (d.range) lines.push(`${file}:${d.range.start.line}`, formatSnippet(text, d.range, 1));
  return lines.join('\n');
}

export async function buildCommand(cmd: ParsedCommand, io: Io): Promise<number> {
  if (bool(cmd.values, 'list-rules')) {
    for (const r of lintRuleList) io.out(`${r.name.padEnd(34)}${r.description}\n`);
    return 0;
  }
  const stdinContext = cmd.positionals[0] === '-' ? await readStdinContext(io.openStdin()) : null;
  try {
    return await buildWithOptions(cmd, io, resolveBuildOptions(cmd, io.env, io.readStdin, stdinContext));
  } finally {
    await stdinContext?.cleanup();
  }
}

async function buildWithOptions(cmd: ParsedCommand, io: Io, opts: BuildOptions): Promise<number> {
  const file = opts.dockerfile.name;
  io.recordSource('dockerfile', opts.dockerfile.text);
  readDockerignore(opts.contextDir, opts.dockerfile.path === '-' ? resolve(opts.contextDir, 'Dockerfile') : opts.dockerfile.path);
  const df = parseDockerfile(opts.dockerfile.text, { file });
  const planOptions: PlanOptions = {
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    buildArgs: opts.buildArgs,
    ...(opts.platform ? { targetPlatform: opts.platform } : {}),
    ...(opts.network ? { network: opts.network } : {}),
    allowInsecure: opts.allowInsecure,
    allStages: opts.call.method === 'check',
    file,
  };
  const graph: BuildGraph = planBuild(df, planOptions);

  switch (opts.call.method) {
    case 'outline': {
      const outline = outlineBuild(df, graph);
      if (opts.call.format === 'json') {
        io.out(JSON.stringify(outline, null, 2) + '\n');
        return 0;
      }
      const out: string[] = [];
      if (outline.target) out.push(`TARGET:      ${outline.target}`);
      if (outline.description) out.push(`DESCRIPTION: ${outline.description}`);
      if (out.length) out.push('');
      if (outline.args.length) {
        const w = Math.max(10, ...outline.args.map((a) => a.name.length)) + 2;
        const vw = Math.max(6, ...outline.args.map((a) => (a.value ?? '<null>').length)) + 2;
        out.push(`${'BUILD ARG'.padEnd(w)}${'VALUE'.padEnd(vw)}DESCRIPTION`);
        for (const a of outline.args) out.push(`${a.name.padEnd(w)}${(a.value ?? '<null>').padEnd(vw)}${a.description}`.trimEnd());
        out.push('');
      }
      for (const [title, items] of [['SECRET', outline.secrets], ['SSH', outline.ssh]] as const) {
        if (!items.length) continue;
        const w = Math.max(10, ...items.map((s) => s.id.length)) + 2;
        out.push(`${title.padEnd(w)}REQUIRED`);
        for (const s of items) out.push(`${s.id.padEnd(w)}${s.required}`);
        out.push('');
      }
      io.out(out.join('\n') + (out.length ? '\n' : ''));
      return 0;
    }
    case 'targets': {
      const rows = df.stages.map((s) => ({ name: s.from.stageName ?? `(stage ${s.index})`, default: s.index === df.stages.length - 1 }));
      if (opts.call.format === 'json') {
        io.out(JSON.stringify({ targets: rows }, null, 2) + '\n');
        return 0;
      }
      io.out('TARGET\n' + rows.map((r) => `${r.name}${r.default ? ' (default)' : ''}`).join('\n') + '\n');
      return 0;
    }
    case 'check': {
      const diags = graph.warnings;
      if (opts.call.format === 'json') {
        io.out(JSON.stringify({ warnings: diags }, null, 2) + '\n');
      } else if (diags.length === 0) {
        io.out('Check complete, no warnings found.\n');
      } else {
        io.out(`Check complete, ${diags.length} warning${diags.length === 1 ? ' has' : 's have'} been found!\n\n`);
        io.out(diags.map((d) => formatDiagnostic(d, file, df.text)).join('\n\n') + '\n');
      }
      return diags.some((d) => d.level === 'error') ? 1 : 0;
    }
    case 'build': {
      for (const d of graph.warnings) io.err(formatDiagnostic(d, file, df.text) + '\n');
      if (graph.unusedBuildArgs.length) {
        io.err(`WARN: build args were not consumed: ${graph.unusedBuildArgs.join(', ')}\n`);
      }
      const { values } = cmd;
      const result = await runBuild(
        {
          ...opts,
          root: resolveRoot(values, io.env),
          progress: (str(values, 'progress') ?? 'auto') as ProgressMode,
          tags: list(values, 'tag'),
          noCache: bool(values, 'no-cache'),
          noCacheFilter: list(values, 'no-cache-filter'),
          jobs: parseJobs(str(values, 'jobs')),
          quiet: bool(values, 'quiet'),
          outputs: list(values, 'output'),
          iidfile: str(values, 'iidfile'),
          metadataFile: str(values, 'metadata-file'),
          limits: parseLimits({ memory: str(values, 'memory'), cpus: str(values, 'cpus'), pids: str(values, 'pids-limit') }),
          secrets: parseSecrets(list(values, 'secret'), io.env),
          ssh: parseSsh(list(values, 'ssh'), io.env),
          remote: parseBuildRemote(values, io.env),
        },
        df,
        planOptions,
        io,
      );
      if (bool(values, 'quiet')) io.out(result.image.config.digest + '\n');
      return 0;
    }
  }
}
