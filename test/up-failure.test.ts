// `soc up` failing half way (its HTTP port is taken) stops the nats-server and Postgres it had started and
// says why in one line, instead of leaving them running behind a stack trace.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../tools/local/postgres.js';
import { runNode, tempDir } from './harness.js';

const dataDir = tempDir('minisoc-up-fail-');
let blocker: Server | undefined;

afterAll(() => {
  blocker?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Processes whose command line names this data directory. */
function leftovers(): string[] {
  const out = execFileSync('ps', ['-eo', 'pid,args'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.includes(dataDir) && !l.includes('ps -eo'));
}

describe('soc up start failure', () => {
  it('stops what it started and names the taken port', async () => {
    const port = await freePort();
    blocker = createServer();
    await new Promise<void>((r) => blocker!.listen(port, '127.0.0.1', r));
    const soc = runNode('tools/cli/soc.js', ['up'], { DATA_DIR: dataDir, HTTP_PORT: String(port), NATS_URL: undefined, DATABASE_URL: undefined });
    expect(await soc.exited).toBe(2);
    expect(soc.stderr()).toContain(`address already in use 127.0.0.1:${port}: another program (or another soc up) has the port`);
    expect(soc.stderr()).not.toMatch(/^\s+at /m);
    expect(leftovers()).toEqual([]);
  });
});
