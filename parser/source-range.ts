/** One-based line and column (columns count UTF-16 code units). */
export interface Position {
  line: number;
  column: number;
}

/** A region of the Dockerfile, one-based, end inclusive of its last line. */
export interface SourceRange {
  start: Position;
  end: Position;
}

export function rangeOfLine(line: number, column = 1, endColumn = column): SourceRange {
  return { start: { line, column }, end: { line, column: endColumn } };
}
