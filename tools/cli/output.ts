// Terminal output of the `soc` commands: tables with a header row, and text made safe to print.

/**
 * Text from stored data made harmless for a terminal: control characters (C0, DEL, C1, which can move the cursor,
 * set the window title or clear the screen) and line and paragraph separators are shown as \xNN / \uNNNN escapes.
 */
export function terminalSafe(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

/** Columns padded to their widest cell, under a header row; every cell made terminal-safe. */
export function table(header: string[], rows: string[][]): string {
  const safe = rows.map((r) => r.map(terminalSafe));
  const widths = header.map((h, i) => Math.max(h.length, ...safe.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  return [line(header), ...safe.map(line)].join('\n') + '\n';
}
