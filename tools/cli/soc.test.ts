// The soc program as a shell uses it: a reader that closes the pipe early (`soc rules list | head -1`) ends it quietly.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../test/harness.js';

describe('soc', () => {
  it('exits 0 without a stack trace when its reader closes the pipe', async () => {
    const child = spawn(process.execPath, [join(ROOT, 'dist/tools/cli/soc.js'), 'rules', 'list'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DATABASE_URL: undefined } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    // Like head -1: read the first chunk, then close our end.
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  }, 120_000);
});
