// Renders an error that carries a Dockerfile range the way BuildKit does:
// one line naming file:line:column, then the offending lines with context.
import type { SourceRange } from '../../parser/index.js';

export function formatSnippet(text: string, range: SourceRange, context = 2): string {
  const lines = text.replace(/(\r\n|\r|\n)$/, '').split(/\r\n|\r|\n/);
  const first = Math.max(1, range.start.line - context);
  const last = Math.min(lines.length, range.end.line + context);
  const width = String(last).length;
  const out = ['--------------------'];
  for (let n = first; n <= last; n++) {
    const marker = n >= range.start.line && n <= range.end.line ? '>>>' : '   ';
    out.push(` ${String(n).padStart(width)} | ${marker} ${lines[n - 1] ?? ''}`);
  }
  out.push('--------------------');
  return out.join('\n');
}
