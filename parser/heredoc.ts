// Heredoc markers (`<<EOF`, `<<-"EOF"`, `2<<EOF`) as BuildKit's parser finds
// them: words of the joined line read by its shell lexer with raw quotes and
// escapes, each matched against `[fd]<<[-]NAME`.
import { ShellLexer, type LexEnv } from './shell-lexer.js';
import type { RawHeredoc } from './text-scan.js';

const HEREDOC_RE = /^(\d*)<<(-?)([^<]*)$/;
const NO_ENV: LexEnv = { get: () => undefined };
const lineLexer = new ShellLexer('\\', { rawQuotes: true, rawEscapes: true, skipUnsetEnv: true });
const nameLexer = new ShellLexer('\\', { skipUnsetEnv: true });
const rawNameLexer = new ShellLexer('\\', { skipUnsetEnv: true, rawQuotes: true });

/**
 * BuildKit ParseHeredoc on one word: `[fd]<<[-]NAME`; the delimiter may be
 * quoted (which turns expansion off) but must be a single word. Returns null
 * for a word that is not a heredoc marker; throws the lexer's error for a
 * marker that cannot be read (an unterminated quote).
 */
export function parseHeredocWord(word: string): Omit<RawHeredoc, 'content'> | null {
  const m = HEREDOC_RE.exec(word);
  if (!m) return null;
  const rest = m[3] ?? '';
  if (rest === '') return null;
  const words = nameLexer.processWords(rest, NO_ENV).words;
  if (words.length !== 1) return null;
  const rawWords = rawNameLexer.processWords(rest, NO_ENV).words;
  const name = words[0] as string;
  const quotes = (s: string): number => (s.match(/["']/g) ?? []).length;
  return { name, expand: quotes(name) === quotes(rawWords[0] ?? ''), chomp: m[2] === '-' };
}

/** BuildKit heredocsFromLine: every heredoc marker on the joined line, in order. */
export function heredocMarkers(line: string): Omit<RawHeredoc, 'content'>[] {
  let words: string[];
  try {
    words = lineLexer.processWords(line, NO_ENV).words;
  } catch {
    // BuildKit ignores the lexer error here: no words, so no heredocs.
    return [];
  }
  const out: Omit<RawHeredoc, 'content'>[] = [];
  for (const word of words) {
    const h = parseHeredocWord(word);
    if (h) out.push(h);
  }
  return out;
}

/** ChompHeredocContent: drop leading tabs of every line. */
export function chompHeredoc(content: string): string {
  return content.replace(/^\t+/gm, '');
}
