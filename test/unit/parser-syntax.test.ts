// Focused checks of the frontend where a golden plan is awkward: source
// positions, the pieces of BuildKit's line syntax, and small value parsers.
import { describe, expect, test } from 'vitest';
import { DockerfileError, parseDockerfile, planBuild, type Instruction } from '../../parser/index.js';
import { chmodProblem, isGitSource, resolveDest } from '../../parser/plan/copy.js';
import { checkMountSpec, splitCsv } from '../../parser/plan/mounts.js';
import { referenceProblem } from '../../parser/plan/reference.js';
import { heredocMarkers, parseHeredocWord } from '../../parser/heredoc.js';
import { extractFlags, scanDirectives, splitLines } from '../../parser/text-scan.js';

function error(text: string, options = {}): DockerfileError {
  try {
    planBuild(parseDockerfile(text), options);
  } catch (e) {
    if (e instanceof DockerfileError) return e;
    throw e;
  }
  throw new Error('expected a DockerfileError');
}

function only(text: string): Instruction {
  const df = parseDockerfile(text);
  return df.stages[0]?.instructions[0] as Instruction;
}

describe('source positions', () => {
  test('an instruction spans its continuation lines and heredoc bodies', () => {
    const df = parseDockerfile('FROM a\n  RUN echo \\\n  two\nCOPY <<EOF /x\nbody\nEOF\n');
    const [run, copy] = df.stages[0]?.instructions ?? [];
    expect(run?.range).toEqual({ start: { line: 2, column: 3 }, end: { line: 3, column: 6 } });
    expect(copy?.range).toEqual({ start: { line: 4, column: 1 }, end: { line: 6, column: 4 } });
  });

  test('a flag on a continuation line is located there', () => {
    const e = error('FROM a\nCOPY --chown=1 \\\n     --bogus=2 a /b\n');
    expect(e.code).toBe('TSB_DOCKERFILE_UNKNOWN_FLAG');
    expect(e.range).toEqual({ start: { line: 3, column: 6 }, end: { line: 3, column: 15 } });
  });

  test('an unknown keyword is located at the keyword', () => {
    const e = error('FROM a\n\t  FRM b\n');
    expect(e.code).toBe('TSB_DOCKERFILE_UNKNOWN_INSTRUCTION');
    expect(e.range.start).toEqual({ line: 2, column: 4 });
    expect(e.message).toContain('did you mean from?');
  });

  test('an unterminated heredoc spans from its instruction to the end of the file', () => {
    const e = error('FROM a\nRUN <<EOF\nnever\nclosed\n');
    expect(e.code).toBe('TSB_DOCKERFILE_HEREDOC');
    expect(e.range.start.line).toBe(2);
    expect(e.range.end.line).toBe(4);
  });
});

describe('lines, comments and continuations', () => {
  test('lines split on \\n only; CRLF and a leading BOM are removed', () => {
    expect(splitLines('\uFEFFFROM a\r\nRUN x\r\r\n')).toEqual(['FROM a', 'RUN x']);
    expect(splitLines('a\rb\n')).toEqual(['a\rb']);
  });

  test('an escaped escape token at the end of a line does not continue it', () => {
    const df = parseDockerfile('FROM a\nRUN echo x\\\\\nRUN echo y\n');
    expect(df.stages[0]?.instructions.map((i) => i.kind)).toEqual(['RUN', 'RUN']);
  });

  test('a lone escape token continues into the next line', () => {
    const run = only('FROM a\nRUN echo \\\n\\\ndone\n');
    expect(run.kind === 'RUN' && run.command).toEqual({ form: 'shell', text: 'echo done' });
  });

  test('comments and blank lines inside a continuation are dropped; blank ones are flagged', () => {
    const run = only('FROM a\nRUN a \\\n # c\n\n b\n');
    expect(run.kind === 'RUN' && run.command).toEqual({ form: 'shell', text: 'a  b' });
    expect(run.emptyContinuation).toBe(true);
  });

  test('a comment is never a continuation', () => {
    const df = parseDockerfile('FROM a\n# trailing escape \\\nRUN x\n');
    expect(df.stages[0]?.instructions).toHaveLength(1);
  });
});

describe('parser directives', () => {
  test('only at the top: a blank line, a comment or an instruction ends them', () => {
    expect(scanDirectives(['# escape=`', 'FROM a']).directives.escape).toBe('`');
    expect(scanDirectives(['', '# escape=`']).directives.escape).toBe('\\');
    expect(scanDirectives(['# hello', '# escape=`']).directives.escape).toBe('\\');
    expect(scanDirectives(['  #  ESCAPE = `  ']).directives.escape).toBe('`');
  });

  test('an unknown directive ends the directives without an error', () => {
    const r = scanDirectives(['# foo=bar', '# escape=`']);
    expect(r.problem).toBeNull();
    expect(r.directives.escape).toBe('\\');
  });

  test('check options follow BuildKit: case-sensitive keys, Go booleans', () => {
    expect(scanDirectives(['# check=skip=A, B;error=True']).directives.check).toEqual({ skip: ['A', 'B'], error: true });
    expect(scanDirectives(['# check=skip=all']).directives.check.skip).toBe('all');
    expect(scanDirectives(['# check=Skip=all']).problem?.message).toContain('invalid check option');
    expect(scanDirectives(['# check=error=maybe']).problem?.line).toBe(1);
  });
});

describe('flags', () => {
  test('quotes are removed and a backslash escapes, whatever the escape directive', () => {
    const { flags, rest } = extractFlags('--mount="type=bind,target=/a b" --x=\\"y --link rest of line');
    expect(flags.map((f) => [f.name, f.value])).toEqual([['mount', 'type=bind,target=/a b'], ['x', '"y'], ['link', null]]);
    expect(rest).toBe('rest of line');
  });

  test('`--` ends the flags', () => {
    expect(extractFlags('--a=1 -- --b=2 x').rest).toBe(' --b=2 x');
  });

  test('booleans accept any case; an empty value is an error', () => {
    const copy = only('FROM a\nCOPY --link=TRUE --parents=False a /b/\n');
    expect(copy.flags.map((f) => f.value)).toEqual(['true', 'false']);
    expect(error('FROM a\nCOPY --link= a /b\n').message).toContain('missing a value');
  });

  test('names inherited from Object.prototype are unknown flags', () => {
    expect(error('FROM a\nRUN --toString=x true\n').code).toBe('TSB_DOCKERFILE_UNKNOWN_FLAG');
    expect(error('FROM a\nCOPY --__proto__=x a /b\n').code).toBe('TSB_DOCKERFILE_UNKNOWN_FLAG');
  });
});

describe('heredoc markers', () => {
  test('quoting any part of the delimiter turns expansion off; a backslash does not', () => {
    expect(parseHeredocWord('<<EOF')).toEqual({ name: 'EOF', expand: true, chomp: false });
    expect(parseHeredocWord('<<-"EOF"')).toEqual({ name: 'EOF', expand: false, chomp: true });
    expect(parseHeredocWord("<<E'O'F")).toEqual({ name: 'EOF', expand: false, chomp: false });
    expect(parseHeredocWord('<<\\EOF')).toEqual({ name: 'EOF', expand: true, chomp: false });
    expect(parseHeredocWord('2<<EOF')?.name).toBe('EOF');
    expect(parseHeredocWord('x<<EOF')).toBeNull();
    expect(parseHeredocWord('<<')).toBeNull();
  });

  test('markers are found in shell words, not inside quotes', () => {
    expect(heredocMarkers('RUN cat <<A <<-"B" > out').map((m) => m.name)).toEqual(['A', 'B']);
    expect(heredocMarkers('RUN echo "<<A"')).toEqual([]);
    expect(heredocMarkers('RUN echo "unterminated <<A')).toEqual([]);
  });

  test('the exec form of RUN takes no heredocs', () => {
    const df = parseDockerfile('FROM a\nRUN ["cat", "<<EOF"]\nRUN echo next\n');
    expect(df.stages[0]?.instructions).toHaveLength(2);
  });

  test('a heredoc cannot be the destination of COPY', () => {
    expect(error('FROM a\nCOPY a <<EOF\nx\nEOF\n').code).toBe('TSB_DOCKERFILE_HEREDOC');
  });
});

describe('ONBUILD', () => {
  test('the stored trigger is the line without ONBUILD, plus heredoc bodies as written', () => {
    const onbuild = only('FROM a\nONBUILD COPY <<-EOF /x\n\tbody\n\tEOF\n');
    expect(onbuild.kind === 'ONBUILD' && onbuild.expression).toBe('COPY <<-EOF /x\n\tbody\nEOF');
  });

  test('a broken trigger in a base image is reported at the FROM that inherits it', () => {
    const bases = { img: { ref: 'img', digest: null, config: { OnBuild: ['RUN ok', 'FRUN bad'] } } };
    const e = error('ARG X\nFROM img\nRUN x\n', { bases });
    expect(e.code).toBe('TSB_DOCKERFILE_UNKNOWN_INSTRUCTION');
    expect(e.range.start.line).toBe(2);
    expect(error('FROM img\n', { bases: { img: { ref: 'img', digest: null, config: { OnBuild: ['FROM x'] } } } }).code).toBe('TSB_DOCKERFILE_SYNTAX');
  });
});

describe('RUN --mount values', () => {
  test('CSV follows Go encoding/csv: whole-field quotes only', () => {
    expect(splitCsv('type=bind,"target=/a,b",ro')).toEqual(['type=bind', 'target=/a,b', 'ro']);
    expect(splitCsv('"a""b"')).toEqual(['a"b']);
    expect(() => splitCsv('target="/a,b"')).toThrow(/bare "/);
    expect(() => splitCsv('"open')).toThrow(/quoted-field/);
  });

  test('parse-time checks: shape, literal type, keys of that type, no variables in from', () => {
    expect(checkMountSpec('type=cache,target=/c,sharing=locked')).toBeNull();
    expect(checkMountSpec('type=$T,anything=1')).toBeNull();
    expect(checkMountSpec('type=bind,target')).toContain('key=value');
    expect(checkMountSpec('type=secret,id=a,sharing=shared')).toContain("unexpected key 'sharing'");
    expect(checkMountSpec('from=${S},target=/x')).toContain("doesn't support variable expansion");
  });

  test('each value is expanded on its own, so a comma from a variable stays in it', () => {
    const g = planBuild(parseDockerfile('FROM a\nARG T=/a,b\nRUN --mount=type=tmpfs,target=$T true\n'));
    const run = Object.values(g.steps).find((s) => s.kind === 'exec');
    expect(run?.kind === 'exec' && run.mounts[0]?.target).toBe('/a,b');
  });
});

describe('small value parsers', () => {
  test('chmod: octal up to 07777, or symbolic', () => {
    for (const ok of ['7', '755', '0644', '00755', '7777', 'u+x', 'go-w', 'a=rX,u+s', 'u=g']) expect(chmodProblem(ok)).toBeNull();
    for (const bad of ['8', '17777', '0o755', 'x+u', '', '755 ']) expect(chmodProblem(bad)).not.toBeNull();
  });

  test('git sources as BuildKit recognises them', () => {
    for (const git of ['git@github.com:o/r.git', 'git://h/r', 'ssh://git@h/r', 'https://h/o/r.git', 'https://h/o/r.git#main:dir', 'h.example/o/r.git'])
      expect(isGitSource(git)).toBe(true);
    for (const other of ['https://h/file.tar.gz', 'github.com/o/r', './r.git', 'file.txt', 'dir/'])
      expect(isGitSource(other)).toBe(false);
  });

  test('COPY destinations resolve against WORKDIR and keep a trailing slash', () => {
    expect(resolveDest('/app', '.')).toBe('/app/');
    expect(resolveDest('/app', '')).toBe('/app/');
    expect(resolveDest('/app', 'sub/')).toBe('/app/sub/');
    expect(resolveDest('/app', '../x')).toBe('/x');
    expect(resolveDest('/', '/abs/./y/..')).toBe('/abs');
    expect(resolveDest('/app', '/abs/.')).toBe('/abs/');
  });

  test('image references', () => {
    for (const ok of ['busybox', 'busybox:1.36', 'docker.io/library/busybox:latest', 'localhost:5000/a/b', 'a@sha256:' + 'f'.repeat(64)])
      expect(referenceProblem(ok)).toBeNull();
    expect(referenceProblem('Busybox')).toContain('lowercase');
    expect(referenceProblem('a@sha256:abc')).not.toBeNull();
    expect(referenceProblem('a b')).not.toBeNull();
    expect(referenceProblem('f'.repeat(64))).toContain('64-byte');
  });
});
