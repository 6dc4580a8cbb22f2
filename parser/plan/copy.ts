// COPY, ADD and WORKDIR → CopyStep (WORKDIR creates its directory, as
// BuildKit does with a mkdir file op).
import { DockerfileError } from '../errors.js';
import { flagBool, flagList, flagString, findFlag } from '../flags.js';
import type { CopySource, CopyStep, FileSource, StepId } from '../graph.js';
import type { CopyInstruction, WorkdirInstruction } from '../instructions.js';
import { rules } from '../lint/rules.js';
import { ShellLexer } from '../shell-lexer.js';
import type { Planner, StageState } from './context.js';

export function cleanPath(path: string): string {
  const parts: string[] = [];
  for (const p of path.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return '/' + parts.join('/');
}

/** Destination relative to WORKDIR; a trailing slash (or `.`) means "into this directory". */
export function resolveDest(workdir: string, dest: string): string {
  const dirLike = dest.endsWith('/') || dest === '.' || dest.endsWith('/.') || dest === '..' || dest.endsWith('/..');
  const abs = cleanPath(dest.startsWith('/') ? dest : `${workdir || '/'}/${dest}`);
  return dirLike && abs !== '/' ? abs + '/' : abs;
}

const CHMOD_OCTAL = /^[0-7]{3,4}$/;
const CHMOD_SYMBOLIC = /^[ugoa]*[-+=][rwxXst]*(?:[-+=][rwxXst]*)*(?:,[ugoa]*[-+=][rwxXst]*(?:[-+=][rwxXst]*)*)*$/;
const CHECKSUM = /^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;

function classifyAddSource(src: string): CopySource {
  if (/^git@|^git:\/\/|\.git(#.*)?$|^https?:\/\/[^/]+\/.+\.git(#.*)?$/.test(src) && !/^https?:\/\/.*\.git\/.+/.test(src)) {
    return { type: 'git', url: src };
  }
  if (/^https?:\/\//i.test(src)) return { type: 'url', url: src };
  return { type: 'path', path: src };
}

export function planCopy(p: Planner, state: StageState, instr: CopyInstruction): void {
  const lint = state.envKnown;
  const isAdd = instr.kind === 'ADD';
  const fromRaw = flagString(instr, 'from');
  let from: FileSource = { type: 'context' };
  if (fromRaw !== null) {
    const range = findFlag(instr, 'from')?.range ?? instr.range;
    const value = p.expand(fromRaw, state.scope, range, lint);
    const r = p.resolveFrom(value, range, state.index);
    from = r.type === 'stage' ? { type: 'step', step: r.step, stage: r.index } : r;
  }
  const expandFlag = (name: string): string | null => {
    const raw = flagString(instr, name);
    return raw === null ? null : p.expand(raw, state.scope, findFlag(instr, name)?.range ?? instr.range, lint);
  };
  const chown = expandFlag('chown');
  const chmod = expandFlag('chmod');
  if (chmod !== null && !CHMOD_OCTAL.test(chmod) && !CHMOD_SYMBOLIC.test(chmod)) {
    throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', `invalid --chmod=${chmod}: expected octal (0755) or symbolic (u+x,go-w) mode`,
      findFlag(instr, 'chmod')?.range ?? instr.range);
  }
  const checksum = expandFlag('checksum');
  const exclude = flagList(instr, 'exclude').map((f) => p.expand(f.value ?? '', state.scope, f.range, lint));

  const heredocByName = new Map(instr.heredocs.map((h) => [h.name, h]));
  const heredocLexer = new ShellLexer(p.df.directives.escape, { skipProcessQuotes: true });
  const sources: CopySource[] = instr.sources.map((word) => {
    const m = /^\d*<<-?\s*["']?([^"'\s]+)["']?$/.exec(word);
    const h = m ? heredocByName.get(m[1] as string) : undefined;
    if (h) {
      let content = h.content;
      if (h.expand) {
        try {
          content = heredocLexer.processWord(content, state.scope).result;
        } catch (e) {
          throw new DockerfileError('TSB_DOCKERFILE_EXPANSION', `heredoc ${h.name}: ${(e as Error).message}`, instr.range);
        }
      }
      return { type: 'inline', name: h.name, content };
    }
    const src = p.expand(word, state.scope, instr.range, lint);
    if (src === '') throw new DockerfileError('TSB_DOCKERFILE_ARGS', `${instr.kind} source "${word}" expands to an empty string`, instr.range);
    return isAdd ? classifyAddSource(src) : { type: 'path', path: src };
  });
  if (sources.length === 0) throw new DockerfileError('TSB_DOCKERFILE_ARGS', `${instr.kind} requires at least one source`, instr.range);
  const destWord = p.expand(instr.dest, state.scope, instr.range, lint);
  if (destWord === '') throw new DockerfileError('TSB_DOCKERFILE_ARGS', `${instr.kind} destination expands to an empty string`, instr.range);
  const dest = resolveDest(state.config.WorkingDir ?? '/', destWord);
  if (sources.length > 1 && !dest.endsWith('/')) {
    throw new DockerfileError('TSB_DOCKERFILE_ARGS', `when using ${instr.kind} with more than one source file, the destination must be a directory and end with a /`, instr.range);
  }

  if (checksum !== null) {
    if (!CHECKSUM.test(checksum)) {
      throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', `invalid --checksum=${checksum}: expected sha256:<64 hex> (or sha384/sha512)`,
        findFlag(instr, 'checksum')?.range ?? instr.range);
    }
    if (!sources.every((s) => s.type === 'url' || s.type === 'git')) {
      throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', '--checksum can only be used with a URL or git source', findFlag(instr, 'checksum')?.range ?? instr.range);
    }
  }
  if (flagBool(instr, 'keep-git-dir') && !sources.every((s) => s.type === 'git')) {
    throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', '--keep-git-dir can only be used with a git source', findFlag(instr, 'keep-git-dir')?.range ?? instr.range);
  }

  const link = flagBool(instr, 'link');
  const unpackFlag = findFlag(instr, 'unpack');
  const body: Omit<CopyStep, 'id'> = {
    kind: 'copy',
    stage: state.index,
    range: instr.range,
    name: `${instr.kind} ${[...instr.sources, instr.dest].join(' ')}`,
    input: link ? null : state.current,
    op: isAdd ? 'add' : 'copy',
    from,
    sources,
    dest,
    chown,
    chmod,
    link,
    parents: instr.kind === 'COPY' && flagBool(instr, 'parents'),
    exclude,
    checksum,
    keepGitDir: flagBool(instr, 'keep-git-dir'),
    unpack: unpackFlag === undefined ? null : flagBool(instr, 'unpack'),
  };
  let id: StepId = p.addStep(body);
  state.steps.push(id);
  if (link) {
    id = p.addStep({ kind: 'merge', stage: state.index, range: instr.range, name: `merge ${body.name}`, inputs: [state.current, id] });
    state.steps.push(id);
  }
  state.current = id;
  const srcText = sources.map((s) => (s.type === 'path' ? s.path : s.type === 'inline' ? `<<${s.name}` : s.url));
  state.history.push({ createdBy: `${instr.kind} ${[...srcText, destWord].join(' ')} # buildkit`, emptyLayer: false });
}

export function planWorkdir(p: Planner, state: StageState, instr: WorkdirInstruction): void {
  const raw = p.expand(instr.path, state.scope, instr.range, state.envKnown);
  if (!raw.startsWith('/') && !state.absoluteWorkdir) p.report(rules.WorkdirRelativePath, instr.range, raw);
  if (raw.startsWith('/')) state.absoluteWorkdir = true;
  const wd = cleanPath(raw.startsWith('/') ? raw : `${state.config.WorkingDir || '/'}/${raw}`);
  state.config.WorkingDir = wd;
  let emptyLayer = true;
  if (wd !== '/') {
    const id = p.addStep({
      kind: 'copy',
      stage: state.index,
      range: instr.range,
      name: `WORKDIR ${wd}`,
      input: state.current,
      op: 'mkdir',
      from: { type: 'context' },
      sources: [],
      dest: wd,
      chown: state.config.User ? state.config.User : null,
      chmod: '0755',
      link: false,
      parents: true,
      exclude: [],
      checksum: null,
      keepGitDir: false,
      unpack: null,
    });
    state.steps.push(id);
    state.current = id;
    emptyLayer = false;
  }
  state.history.push({ createdBy: `WORKDIR ${wd}`, emptyLayer });
}
