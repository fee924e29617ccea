/**
 * Go's text/tabwriter as docker's tables use it (`tabwriter.NewWriter(out, 10, 1, 3, ' ', 0)`):
 * cells end at a tab, a column is at least 10 wide and 3 wider than its widest cell, and columns
 * are aligned per block of consecutive lines that have a cell in them. The text after a line's
 * last tab belongs to no column and is never padded.
 */

export interface TabwriterOptions {
  minWidth: number;
  padding: number;
}

export const DOCKER_TABLE: TabwriterOptions = { minWidth: 10, padding: 3 };

/** Display width as tabwriter counts it: one per rune. */
const width = (s: string) => [...s].length;

export function tabwrite(text: string, opts: TabwriterOptions = DOCKER_TABLE): string {
  const endsWithNewline = text.endsWith('\n');
  const lines = (endsWithNewline ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
  const out: string[] = [];
  const widths: number[] = [];

  const writeLines = (from: number, to: number) => {
    for (let l = from; l < to; l++) {
      const cells = lines[l];
      out.push(
        cells.map((c, j) => (j < cells.length - 1 && j < widths.length ? c + ' '.repeat(Math.max(0, widths[j] - width(c))) : c)).join(''),
      );
    }
  };

  // the recursion of Go's Writer.format: one column block at a time, left to right
  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    let start = line0;
    for (let l = line0; l < line1; l++) {
      if (column >= lines[l].length - 1) continue;
      writeLines(start, l);
      start = l;
      let w = opts.minWidth;
      for (; l < line1 && column < lines[l].length - 1; l++) w = Math.max(w, width(lines[l][column]) + opts.padding);
      widths.push(w);
      format(start, l);
      widths.pop();
      start = l;
      l--;
    }
    writeLines(start, line1);
  };
  format(0, lines.length);
  return out.join('\n') + (endsWithNewline ? '\n' : '');
}
