// Cases marked "patternmatcher" are moby/patternmatcher's own test tables
// (TestMatches, TestMatch, ignorefile TestReadAll), restated as expected
// MatchesOrParentMatches results so a divergence from Docker fails here.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DockerignoreError,
  createIgnoreMatcher,
  parseDockerignore,
  readDockerignore,
} from '../../parser/dockerignore.js';

type Case = readonly [patterns: readonly string[], relPath: string, excluded: boolean];

function expectCases(cases: readonly Case[], build: (patterns: readonly string[]) => readonly string[]): void {
  const failures = cases.filter(([patterns, rel, want]) => createIgnoreMatcher(build(patterns)).excludes(rel) !== want);
  expect(failures).toEqual([]);
}

// patternmatcher TestMatches: [pattern, text, matches-or-parent-matches]
const patternmatcherMatches: readonly (readonly [string, string, boolean])[] = [
  ['**', 'file', true],
  ['**', 'file/', true],
  ['**/', 'file', true],
  ['**/', 'file/', true],
  ['**', '/', true],
  ['**/', '/', true],
  ['**', 'dir/file', true],
  ['**/', 'dir/file', true],
  ['**', 'dir/file/', true],
  ['**/', 'dir/file/', true],
  ['**/**', 'dir/file', true],
  ['**/**', 'dir/file/', true],
  ['dir/**', 'dir/file', true],
  ['dir/**', 'dir/file/', true],
  ['dir/**', 'dir/dir2/file', true],
  ['dir/**', 'dir/dir2/file/', true],
  ['**/dir', 'dir', true],
  ['**/dir', 'dir/file', true],
  ['**/dir2/*', 'dir/dir2/file', true],
  ['**/dir2/*', 'dir/dir2/file/', true],
  ['**/dir2/**', 'dir/dir2/dir3/file', true],
  ['**/dir2/**', 'dir/dir2/dir3/file/', true],
  ['**file', 'file', true],
  ['**file', 'dir/file', true],
  ['**/file', 'dir/file', true],
  ['**file', 'dir/dir/file', true],
  ['**/file', 'dir/dir/file', true],
  ['**/file*', 'dir/dir/file', true],
  ['**/file*', 'dir/dir/file.txt', true],
  ['**/file*txt', 'dir/dir/file.txt', true],
  ['**/file*.txt', 'dir/dir/file.txt', true],
  ['**/file*.txt*', 'dir/dir/file.txt', true],
  ['**/**/*.txt', 'dir/dir/file.txt', true],
  ['**/**/*.txt2', 'dir/dir/file.txt', false],
  ['**/*.txt', 'file.txt', true],
  ['**/**/*.txt', 'file.txt', true],
  ['a**/*.txt', 'a/file.txt', true],
  ['a**/*.txt', 'a/dir/file.txt', true],
  ['a**/*.txt', 'a/dir/dir/file.txt', true],
  ['a/*.txt', 'a/dir/file.txt', false],
  ['a/*.txt', 'a/file.txt', true],
  ['a/*.txt**', 'a/file.txt', true],
  ['a[b-d]e', 'ae', false],
  ['a[b-d]e', 'ace', true],
  ['a[b-d]e', 'aae', false],
  ['a[^b-d]e', 'aze', true],
  ['.*', '.foo', true],
  ['.*', 'foo', false],
  ['abc.def', 'abcdef', false],
  ['abc.def', 'abc.def', true],
  ['abc.def', 'abcZdef', false],
  ['abc?def', 'abcZdef', true],
  ['abc?def', 'abcdef', false],
  ['**/foo/bar', 'foo/bar', true],
  ['**/foo/bar', 'dir/foo/bar', true],
  ['**/foo/bar', 'dir/dir2/foo/bar', true],
  ['abc/**', 'abc', false],
  ['abc/**', 'abc/def', true],
  ['abc/**', 'abc/def/ghi', true],
  ['**/.foo', '.foo', true],
  ['**/.foo', 'bar.foo', false],
  ['a(b)c/def', 'a(b)c/def', true],
  ['a(b)c/def', 'a(b)c/xyz', false],
  ['a.|)$(}+{bc', 'a.|)$(}+{bc', true],
  ['dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
  ['dist/*.whl', 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl', true],
  ['a\\\\', 'a\\', true],
  ['a\\*b', 'a*b', true],
];

// Go's filepath.Match table as patternmatcher reuses it (TestMatch); null = ErrBadPattern.
const goMatchTable: readonly (readonly [string, string, boolean | null])[] = [
  ['abc', 'abc', true],
  ['*', 'abc', true],
  ['*c', 'abc', true],
  ['a*', 'a', true],
  ['a*', 'abc', true],
  ['a*', 'ab/c', true],
  ['a*/b', 'abc/b', true],
  ['a*/b', 'a/c/b', false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true],
  ['a*b?c*x', 'abxbbxdbxebxczzy', false],
  ['ab[c]', 'abc', true],
  ['ab[b-d]', 'abc', true],
  ['ab[e-g]', 'abc', false],
  ['ab[^c]', 'abc', false],
  ['ab[^b-d]', 'abc', false],
  ['ab[^e-g]', 'abc', true],
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'ab', false],
  ['a?b', 'a☺b', true],
  ['a[^a]b', 'a☺b', true],
  ['a???b', 'a☺b', false],
  ['a[^a][^a][^a]b', 'a☺b', false],
  ['[a-ζ]*', 'α', true],
  ['*[a-ζ]', 'A', false],
  ['a?b', 'a/b', false],
  ['a*b', 'a/b', false],
  ['[\\]a]', ']', true],
  ['[\\-]', '-', true],
  ['[x\\-]', 'x', true],
  ['[x\\-]', '-', true],
  ['[x\\-]', 'z', false],
  ['[\\-x]', 'x', true],
  ['[\\-x]', '-', true],
  ['[\\-x]', 'a', false],
  ['[]a]', ']', null],
  ['[-]', '-', null],
  ['[x-]', 'x', null],
  ['[x-]', '-', null],
  ['[x-]', 'z', null],
  ['[-x]', 'x', null],
  ['[-x]', '-', null],
  ['[-x]', 'a', null],
  ['\\', 'a', null],
  ['[a-b-c]', 'a', null],
  ['[', 'a', null],
  ['[^', 'a', null],
  ['[^bc', 'a', null],
  ['a[', 'a', null],
  ['a[', 'ab', null],
  ['*x', 'xxx', true],
];

describe('createIgnoreMatcher: patternmatcher tables', () => {
  it('TestMatches single patterns (MatchesOrParentMatches)', () => {
    expectCases(
      patternmatcherMatches.map(([p, text, want]) => [[p], text, want] as const),
      (p) => p,
    );
  });

  it('TestMatches multi-pattern cases', () => {
    const whl = 'dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl';
    expectCases(
      [
        [['**', '!util/docker/web'], 'util/docker/web/foo', false],
        [['**', '!util/docker/web', 'util/docker/web/foo'], 'util/docker/web/foo', true],
        [['**', '!' + whl], whl, false],
        [['**', '!dist/*.whl'], whl, false],
      ],
      (p) => p,
    );
  });

  it("Go's filepath.Match table, including every ErrBadPattern", () => {
    for (const [pattern, text, want] of goMatchTable) {
      if (want === null) {
        expect(() => createIgnoreMatcher([pattern]), pattern).toThrow(DockerignoreError);
      } else {
        expect(createIgnoreMatcher([pattern]).excludes(text), `${pattern} vs ${text}`).toBe(want);
      }
    }
  });

  it('standalone cases from TestPatternMatches* and TestCleanPatterns*', () => {
    expectCases(
      [
        [['*'], 'fileutils.go', true],
        [['*.go'], 'fileutils.go', true],
        [['!fileutils.go', '*.go'], 'fileutils.go', true],
        [['docs', '!docs/README.md'], 'docs/README.md', false],
        [['docs/', '!docs/README.md'], 'docs/README.md', false],
        [['docs/*', '!docs/README.md'], 'docs/README.md', false],
        [['*.go', '!fileutils.go'], 'fileutils.go', false],
        [['*.go'], '.', false],
        [[], 'any/path/there', false],
        [['docs', 'config', ''], 'config', true],
        [['docs', '  !docs/README.md'], 'docs/README.md', false],
        [['docs', '!docs/README.md  '], 'docs/README.md', false],
      ],
      (p) => p,
    );
  });

  it('rejects what New or the first match would reject', () => {
    const rejected = [
      '!', // illegal exclusion pattern
      '[Local-Only]/', // passes filepath.Match, but RE2 refuses the range l-O (moby#52203)
      'a\\', // trailing backslash
      '*a{1001}', // RE2 repeat count limit
      '*\\q', // RE2 has no \q escape
    ];
    for (const pattern of rejected) {
      expect(() => createIgnoreMatcher(['ok', pattern]), pattern).toThrow(
        expect.objectContaining({ code: 'TSB_DOCKERIGNORE_INVALID', path: '', line: 2 }),
      );
    }
  });
});

// Patterns as a .dockerignore file would spell them, run through ReadAll first.
const fromFile = (lines: readonly string[]): string[] => parseDockerignore(lines.join('\n'));

describe('.dockerignore rules end to end (parseDockerignore + createIgnoreMatcher)', () => {
  const table: readonly (readonly [string, Case])[] = [
    ['plain name matches only at the root', [['foo'], 'a/foo', false]],
    ['plain name excludes a file at the root', [['foo'], 'foo', true]],
    ['a matching directory excludes everything below it', [['foo'], 'foo/bar/baz.txt', true]],
    ['dir/ is the same as dir (it also matches a file)', [['build/'], 'build', true]],
    ['dir/ excludes its contents', [['build/'], 'build/out.o', true]],
    ['leading / is stripped', [['/secret'], 'secret', true]],
    ['leading / on an exception is stripped', [['*', '! /keep'], 'keep', false]],
    ['./a is cleaned to a', [['./a'], 'a/x', true]],
    ['a/../b is cleaned to b', [['a/../b'], 'b', true]],
    ['doubled slashes are cleaned', [['a//b'], 'a/b', true]],
    ['* does not cross /', [['*.md'], 'docs/a.md', false]],
    ['* matches a top-level dir and so its contents', [['d*'], 'docs/a.md', true]],
    ['*/x reaches exactly one level', [['*/tmp'], 'a/tmp/f', true]],
    ['*/x does not reach two levels', [['*/tmp'], 'a/b/tmp', false]],
    ['**/ matches any depth', [['**/*.log'], 'a/b/c.log', true]],
    ['**/ matches zero dirs', [['**/*.log'], 'c.log', true]],
    ['**/name excludes a nested dir', [['**/node_modules'], 'pkg/node_modules/x/index.js', true]],
    ['a/**/b spans several dirs', [['a/**/b'], 'a/x/y/b', true]],
    ['a/**/b spans zero dirs', [['a/**/b'], 'a/b', true]],
    ['foo/** excludes below foo', [['foo/**'], 'foo/x', true]],
    ['foo/** does not exclude foo itself', [['foo/**'], 'foo', false]],
    ['** alone excludes everything', [['**'], 'any/deep/file', true]],
    ['** alone never excludes the root', [['**'], '.', false]],
    ['**name is a plain suffix test in Docker', [['**file'], 'dir/xfile', true]],
    ['? matches one character', [['?.txt'], 'a.txt', true]],
    ['? does not match two', [['?.txt'], 'ab.txt', false]],
    ['? does not match /', [['a?b'], 'a/b', false]],
    ['[abc] class', [['file[12].txt'], 'file2.txt', true]],
    ['[a-z] range', [['[a-c]*'], 'build', true]],
    ['[^...] negated class', [['[^a]*'], 'abc', false]],
    ['[!...] is a literal ! in Go, not negation', [['[!a]x'], '!x', true]],
    ['[!...] does not negate', [['[!a]x'], 'bx', false]],
    ['\\! escapes a leading !', [['\\!important'], '!important', true]],
    ['\\# escapes a leading #', [['\\#notes'], '#notes', true]],
    ['\\* is a literal star', [['a\\*'], 'a*', true]],
    ['\\* is not a wildcard', [['a\\*'], 'ab', false]],
    ['matching is case-sensitive', [['README.md'], 'readme.md', false]],
    ['regexp metacharacters are literal', [['a+b'], 'aab', false]],
    ['regexp metacharacters match themselves', [['a+b(1)'], 'a+b(1)', true]],
    ['[*] is read as RE2 [[^/]*] (class, star, literal ])', [['[*]'], '[]', true]],
    ['[*] does not match a literal *', [['[*]'], '*', false]],
    ['| in a wildcard pattern is RE2 alternation (patternmatcher never escapes |{})', [['x*|y'], 'y', true]],
    ['{n} in a wildcard pattern is an RE2 repeat', [['*a{2}'], 'aa', true]],
    ['{n} in a pattern without wildcards is literal', [['a{2}'], 'a{2}', true]],
    ['{n} in a pattern without wildcards is not a repeat', [['a{2}'], 'aa', false]],
    ['a trailing \\ after a wildcard escapes the final $ anchor', [['a*\\'], 'ab$x', true]],
    ['[[:digit:]] is an RE2 POSIX class', [['x[[:digit:]]'], 'x7', true]],
    ['[[:digit:]] is not a glob class followed by ]', [['x[[:digit:]]'], 'x:]', false]],
    ['? and * match a newline (negated RE2 classes do)', [['a?b*'], 'a\nb\n', true]],
    ['** does not span a newline (RE2 . without s)', [['a/**/b'], 'a/x\ny/b', false]],
    ['exception re-includes a file inside an excluded dir', [['dir', '!dir/keep'], 'dir/keep', false]],
    ['exception re-includes a whole subtree', [['dir', '!dir/keep'], 'dir/keep/deep/f', false]],
    ['siblings of the exception stay excluded', [['dir', '!dir/keep'], 'dir/other', true]],
    ['the excluded dir itself stays excluded', [['dir', '!dir/keep'], 'dir', true]],
    ['last matching pattern wins: exclude after exception', [['*.md', '!README.md', 'README*'], 'README.md', true]],
    ['last matching pattern wins: exception after exclude', [['*.md', '!README.md'], 'README.md', false]],
    ['an exception before any exclusion does nothing', [['!a', 'a'], 'a', true]],
    ['exception with wildcard', [['logs', '!logs/*.keep'], 'logs/x.keep', false]],
    ['exception with ** re-includes at any depth', [['**', '!**/*.go'], 'cmd/main.go', false]],
    ['other files stay excluded under **', [['**', '!**/*.go'], 'cmd/main.c', true]],
    ['comment lines are skipped', [['# secret', 'other'], '# secret', false]],
    ['# not in column 1 is a pattern', [['  # secret'], '# secret', true]],
    ['surrounding whitespace is trimmed', [['  secret \t'], 'secret', true]],
    ['relPath is cleaned', [['a/b'], 'a//b/./c', true]],
  ];
  it.each(table)('%s', (_name, [patterns, rel, want]) => {
    expect(createIgnoreMatcher(fromFile(patterns)).excludes(rel)).toBe(want);
  });
});

describe('parseDockerignore (ignorefile.ReadAll)', () => {
  it('matches patternmatcher TestReadAll', () => {
    const content = 'test1\n/test2\n/a/file/here\n\nlastfile\n# this is a comment\n! /inverted/abs/path\n!\n! ';
    expect(parseDockerignore(content)).toEqual([
      'test1',
      'test2',
      'a/file/here',
      'lastfile',
      '!inverted/abs/path',
      '!',
      '!',
    ]);
  });

  it('strips a BOM, CRLF endings and cleans paths', () => {
    expect(parseDockerignore('\uFEFF# c\r\n./a/\r\nb/../c\r\n/\r\n!./d//e/\r\n')).toEqual(['a', 'c', '/', '!d/e']);
  });

  it('treats # as a comment only in column 1', () => {
    expect(parseDockerignore(' #x\n#y')).toEqual(['#x']);
  });

  it('returns [] for empty text', () => {
    expect(parseDockerignore('')).toEqual([]);
    expect(parseDockerignore('\n\n   \n')).toEqual([]);
  });
});

describe('mayReincludeUnder', () => {
  it('is false when there are no exceptions', () => {
    const m = createIgnoreMatcher(['node_modules', '*.log']);
    expect(m.mayReincludeUnder('node_modules')).toBe(false);
  });

  it('is true only for directories on the path to a literal exception', () => {
    const m = createIgnoreMatcher(['vendor', '!vendor/keep/me.txt']);
    expect(m.mayReincludeUnder('vendor')).toBe(true);
    expect(m.mayReincludeUnder('vendor/keep')).toBe(true);
    expect(m.mayReincludeUnder('vendor/other')).toBe(false);
    expect(m.mayReincludeUnder('vendorx')).toBe(false);
    expect(m.mayReincludeUnder('.')).toBe(true);
  });

  it('treats a trailing /** or /* on an exception as a prefix', () => {
    const m = createIgnoreMatcher(['dist', '!dist/public/**']);
    expect(m.mayReincludeUnder('dist')).toBe(true);
    expect(m.mayReincludeUnder('dist/public')).toBe(true);
    expect(m.mayReincludeUnder('dist/private')).toBe(false);
  });

  it('is always true once any exception has a wildcard, as fsutil does', () => {
    const m = createIgnoreMatcher(['data', 'build', '!**/*.keep']);
    expect(m.mayReincludeUnder('data')).toBe(true);
    expect(m.excludes('data/x/a.keep')).toBe(false);
  });

  it('agrees with excludes(): a skipped directory has nothing re-included below it', () => {
    const m = createIgnoreMatcher(['a', '!a/b/c', 'x/*', '!x/y']);
    for (const file of ['a/q/c', 'a/b/d', 'x/z/y', 'x/w']) {
      const dir = path.posix.dirname(file);
      if (m.excludes(dir) && !m.mayReincludeUnder(dir)) expect(m.excludes(file), file).toBe(true);
    }
    expect(m.excludes('a/b/c/d')).toBe(false);
    expect(m.excludes('x/y/z')).toBe(false);
  });
});

describe('readDockerignore', () => {
  let tmp: string | undefined;
  afterEach(() => {
    if (tmp !== undefined) rmSync(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  function tree(files: Record<string, string>): string {
    tmp = mkdtempSync(path.join(tmpdir(), 'tsbuild-dockerignore-'));
    for (const [rel, body] of Object.entries(files)) {
      const abs = path.join(tmp, rel);
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, body);
    }
    return tmp;
  }

  it('returns null when neither file exists', () => {
    const root = tree({ 'ctx/Dockerfile': 'FROM scratch\n' });
    expect(readDockerignore(path.join(root, 'ctx'), path.join(root, 'ctx/Dockerfile'))).toBeNull();
  });

  it('reads <context>/.dockerignore', () => {
    const root = tree({ 'ctx/.dockerignore': '# c\n/node_modules\n!keep\n', 'ctx/Dockerfile': '' });
    expect(readDockerignore(path.join(root, 'ctx'), path.join(root, 'ctx/Dockerfile'))).toEqual({
      path: path.join(root, 'ctx/.dockerignore'),
      patterns: ['node_modules', '!keep'],
    });
  });

  it('prefers <Dockerfile>.dockerignore next to the Dockerfile', () => {
    const root = tree({
      'ctx/.dockerignore': 'from-context\n',
      'docker/app.Dockerfile': '',
      'docker/app.Dockerfile.dockerignore': 'from-dockerfile\n',
    });
    const got = readDockerignore(path.join(root, 'ctx'), path.join(root, 'docker/app.Dockerfile'));
    expect(got).toEqual({ path: path.join(root, 'docker/app.Dockerfile.dockerignore'), patterns: ['from-dockerfile'] });
  });

  it('an empty <Dockerfile>.dockerignore still takes precedence', () => {
    const root = tree({ 'ctx/.dockerignore': 'x\n', 'ctx/Dockerfile': '', 'ctx/Dockerfile.dockerignore': '' });
    const got = readDockerignore(path.join(root, 'ctx'), path.join(root, 'ctx/Dockerfile'));
    expect(got).toEqual({ path: path.join(root, 'ctx/Dockerfile.dockerignore'), patterns: [] });
  });

  it('only the exact <name>.dockerignore counts; falls back to the context file', () => {
    const root = tree({
      'ctx/.dockerignore': 'from-context\n',
      'ctx/app.Dockerfile': '',
      'ctx/Dockerfile.dockerignore': 'wrong-name\n',
    });
    const got = readDockerignore(path.join(root, 'ctx'), path.join(root, 'ctx/app.Dockerfile'));
    expect(got?.patterns).toEqual(['from-context']);
  });

  it('resolves a relative dockerfilePath against cwd', () => {
    const root = tree({ 'ctx/.dockerignore': 'a\n', 'ctx/Dockerfile': '', 'ctx/Dockerfile.dockerignore': 'b\n' });
    const rel = path.relative(process.cwd(), path.join(root, 'ctx/Dockerfile'));
    expect(readDockerignore(path.join(root, 'ctx'), rel)?.patterns).toEqual(['b']);
  });

  it('ignores a directory named .dockerignore', () => {
    const root = tree({ 'ctx/.dockerignore/x': '' });
    expect(readDockerignore(path.join(root, 'ctx'), path.join(root, 'ctx/Dockerfile'))).toBeNull();
  });

  it('names the file and line of a malformed pattern', () => {
    const root = tree({ 'ctx/.dockerignore': '# header\n\nok\nbad[\n' });
    const file = path.join(root, 'ctx/.dockerignore');
    let caught: unknown;
    try {
      readDockerignore(path.join(root, 'ctx'), path.join(root, 'ctx/Dockerfile'));
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(DockerignoreError);
    expect(caught).toMatchObject({ code: 'TSB_DOCKERIGNORE_INVALID', path: file, line: 4 });
  });

  it('rejects a lone "!" line', () => {
    const root = tree({ 'ctx/.dockerignore': 'a\n ! \n' });
    expect(() => readDockerignore(path.join(root, 'ctx'), path.join(root, 'ctx/Dockerfile'))).toThrow(
      expect.objectContaining({ code: 'TSB_DOCKERIGNORE_INVALID', line: 2 }),
    );
  });
});
