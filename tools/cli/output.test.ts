import { describe, expect, it } from 'vitest';
import { table, terminalSafe } from './output.js';

describe('soc output', () => {
  it('escapes control characters that would retitle, move or clear the terminal, and keeps ordinary text', () => {
    expect(terminalSafe('\u001b]0;pwned\u0007\u001b[2Jlogin failed\r\n\u009b\u2028ok é')).toBe('\\x1b]0;pwned\\x07\\x1b[2Jlogin failed\\x0d\\x0a\\x9b\\u2028ok é');
  });

  it('prints a header row over columns padded to their widest cell, cells made safe', () => {
    expect(table(['ID', 'TITLE'], [['a-1', 'x\u001b[2J'], ['alert-22', 'y']])).toBe('ID        TITLE\na-1       x\\x1b[2J\nalert-22  y\n');
  });
});
