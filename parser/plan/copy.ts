// COPY, ADD and WORKDIR → CopyStep (WORKDIR creates its directory, as
// BuildKit does with a mkdir file op). Follows BuildKit's dispatchCopy.
import { DockerfileError } from '../errors.js';
import { flagBool, flagList, flagString, findFlag } from '../flags.js';
import type { CopySource, CopyStep, FileSource, StepId } from '../graph.js';
import type { CopyInstruction, WorkdirInstruction } from '../instructions.js';
import { rules } from '../lint/rules.js';
import { ShellLexError, ShellLexer } from '../shell-lexer.js';
import { chompHeredoc, parseHeredocWord } from '../heredoc.js';
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

/**
 * BuildKit pathRelativeToWorkingDir: relative to WORKDIR, "" meaning ".",
 * and a trailing slash (or "/.") kept to mean "into this directory".
 */
export function resolveDest(workdir: string, dest: string): string {
  const d = dest === '' || dest === '.' ? './' : dest;
  const abs = cleanPath(d.startsWith('/') ? d : `${workdir || '/'}/${d}`);
  const dirLike = d.endsWith('/') || d.endsWith('/.');
  return dirLike && abs !== '/' ? abs + '/' : abs;
}

const CHMOD_SYMBOLIC = /^[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+(?:,[ugoa]*(?:[-+=](?:[rwxXst]*|[ugo]))+)*$/;

/** Octal (strconv.ParseUint base 8, at most 07777) or a chmod(1) symbolic mode. */
export function chmodProblem(chmod: string): string | null {
  if (/^[0-7]+$/.test(chmod)) return parseInt(chmod, 8) <= 0o7777 ? null : `invalid chmod parameter: '${chmod}'. it should be octal string and between 0 and 07777`;
  if (CHMOD_SYMBOLIC.test(chmod)) return null;
  return `invalid chmod parameter: '${chmod}'. it should be octal string and between 0 and 07777, or a symbolic mode such as u+x`;
}

/** go-digest Parse for the algorithms BuildKit registers. */
const CHECKSUM = /^(sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})$/;

/**
 * BuildKit gitutil.ParseGitRef, reduced to "is this a git source": git://,
 * ssh:// and scp-like `user@host:path` always are; an http(s) URL (or a
 * scheme-less `host/path`, read as https) only when its path ends in `.git`.
 * `./`, `../` and `github.com/…` are local paths.
 */
export function isGitSource(src: string): boolean {
  if (src.startsWith('./') || src.startsWith('../') || src.startsWith('github.com/')) return false;
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(src)?.[1]?.toLowerCase();
  if (scheme === 'git' || scheme === 'ssh') return true;
  if (scheme === 'http' || scheme === 'https') return urlPathEndsGit(src);
  if (scheme !== undefined) return false;
  if (/^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:/.test(src)) return true;
  return urlPathEndsGit('https://' + src);
}

function urlPathEndsGit(url: string): boolean {
  const noFragment = url.split('#')[0] ?? '';
  const noQuery = noFragment.split('?')[0] ?? '';
  const afterScheme = noQuery.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\//, '');
  const slash = afterScheme.indexOf('/');
  return slash >= 0 && afterScheme.slice(slash).endsWith('.git');
}

export function isHttpSource(src: string): boolean {
  return (src.startsWith('http://') || src.startsWith('https://')) && !isGitSource(src);
}

// Inline documents are expanded with a backslash lexer that leaves quotes
// alone, whatever the escape directive (BuildKit's ExpandRaw).
const heredocLexer = new ShellLexer('\\', { skipProcessQuotes: true });

export function planCopy(p: Planner, state: StageState, instr: CopyInstruction): void {
  const isAdd = instr.kind === 'ADD';
  const flagRange = (name: string) => findFlag(instr, name)?.range ?? instr.range;
  let from: FileSource = { type: 'context' };
  const fromRaw = flagString(instr, 'from');
  if (fromRaw !== null && fromRaw !== '') {
    // --from is not expanded by BuildKit; it names a stage or an image as written.
    const r = p.resolveFrom(fromRaw, flagRange('from'), state);
    from = r.type === 'stage' ? { type: 'step', step: r.step, stage: r.index } : r;
  }
  const expandFlag = (name: string): string | null => {
    const raw = flagString(instr, name);
    return raw === null ? null : p.expand(raw, state, flagRange(name));
  };
  const chown = expandFlag('chown') || null;
  const chmod = expandFlag('chmod') || null;
  const checksum = expandFlag('checksum') || null;
  const exclude = flagList(instr, 'exclude').map((f) => p.expand(f.value ?? '', state, f.range));

  // Source words as written decide what is a heredoc; the rest is expanded.
  const heredocByName = new Map(instr.heredocs.map((h) => [h.name, h]));
  const paths: CopySource[] = [];
  const inline: CopySource[] = [];
  /** Sources as the history records them (expanded, before normalisation). */
  const shown: string[] = [];
  for (const word of instr.sources) {
    let marker: ReturnType<typeof parseHeredocWord> = null;
    try {
      marker = parseHeredocWord(word);
    } catch {
      marker = null;
    }
    if (marker !== null) {
      const h = heredocByName.get(marker.name);
      let content = h === undefined ? '' : h.chomp ? chompHeredoc(h.content) : h.content;
      if (marker.expand && h !== undefined) {
        try {
          content = heredocLexer.processWord(content, state.scope).result;
        } catch (e) {
          if (e instanceof ShellLexError) throw new DockerfileError('TSB_DOCKERFILE_EXPANSION', `heredoc ${marker.name}: ${e.message}`, instr.range);
          if (e instanceof RangeError) throw new DockerfileError('TSB_DOCKERFILE_EXPANSION', `heredoc ${marker.name}: substitutions nested too deeply`, instr.range);
          throw e;
        }
      }
      inline.push({ type: 'inline', name: marker.name, content });
      continue;
    }
    const src = p.expand(word, state, instr.range);
    // An empty source is the root of the source, as in BuildKit (NormalizePath("/", "")).
    if (src === '') {
      paths.push({ type: 'path', path: '/' });
      shown.push('');
      continue;
    }
    if (isGitSource(src)) {
      if (!isAdd) throw new DockerfileError('TSB_DOCKERFILE_ARGS', `source can't be a git ref for COPY: ${src}`, instr.range);
      paths.push({ type: 'git', url: src });
      shown.push(src);
    } else if (isHttpSource(src)) {
      if (!isAdd) throw new DockerfileError('TSB_DOCKERFILE_ARGS', `source can't be a URL for COPY: ${src}`, instr.range);
      paths.push({ type: 'url', url: src });
      shown.push(src);
    } else {
      paths.push({ type: 'path', path: src });
      shown.push(src);
    }
  }
  // BuildKit copies the paths first, then the inline documents.
  const sources = [...paths, ...inline];
  const destWord = p.expand(instr.dest, state, instr.range);
  const dest = resolveDest(state.config.WorkingDir ?? '/', destWord);
  if (sources.length > 1 && !dest.endsWith('/')) {
    throw new DockerfileError('TSB_DOCKERFILE_ARGS', `when using ${instr.kind} with more than one source file, the destination must be a directory and end with a /`, instr.range);
  }

  if (chmod !== null) {
    const problem = chmodProblem(chmod);
    if (problem !== null) throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', problem, flagRange('chmod'));
  }
  if (checksum !== null) {
    if (!CHECKSUM.test(checksum)) {
      throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', `invalid --checksum=${checksum}: expected sha256:<64 hex> (or sha384/sha512)`, flagRange('checksum'));
    }
    if (instr.sources.length !== 1) throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', "checksum can't be specified for multiple sources", flagRange('checksum'));
    if (sources[0]?.type !== 'url') throw new DockerfileError('TSB_DOCKERFILE_BAD_FLAG', "checksum can't be specified for non-HTTP(S) sources", flagRange('checksum'));
  }

  // BuildKit only links (merges a separate layer) when no --chmod is given.
  const link = flagBool(instr, 'link') && chmod === null;
  const unpackFlag = findFlag(instr, 'unpack');
  const parents = instr.kind === 'COPY' && flagBool(instr, 'parents');
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
    parents,
    exclude,
    checksum,
    keepGitDir: flagBool(instr, 'keep-git-dir'),
    unpack: unpackFlag === undefined ? null : flagBool(instr, 'unpack'),
  };
  let id: StepId = p.addStep(body);
  state.steps.push(id);
  if (link) {
    id = p.addStep({ kind: 'merge', stage: state.index, range: instr.range, name: `LINK ${body.name}`, inputs: [state.current, id] });
    state.steps.push(id);
  }
  state.current = id;
  const words = [
    instr.kind,
    ...(parents ? ['--parents'] : []),
    ...(chown !== null ? [`--chown=${chown}`] : []),
    ...(chmod !== null ? [`--chmod=${chmod}`] : []),
    ...shown,
    ...inline.map((s) => (s.type === 'inline' ? `<<${s.name}` : '')),
    destWord,
  ];
  state.history.push({ createdBy: `${words.join(' ')} # buildkit`, emptyLayer: false });
}

export function planWorkdir(p: Planner, state: StageState, instr: WorkdirInstruction): void {
  const raw = p.expand(instr.path, state, instr.range);
  if (!state.workdirSet && !raw.startsWith('/')) p.report(rules.WorkdirRelativePath, instr.range, raw);
  state.workdirSet = true;
  if (raw === '') throw new DockerfileError('TSB_DOCKERFILE_ARGS', 'WORKDIR: cannot normalize nothing', instr.range);
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
