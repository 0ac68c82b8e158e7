// Overload: nothing consumes the INGEST stream and it is small, so it fills. Ingest must then refuse with
// 503 and Retry-After (the client keeps the data) instead of buffering, and its memory must stay flat.
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort } from '../tools/local/postgres.js';
import { createTestDatabase, runNode, startTestNats, tempDir, waitFor, type Proc, type TestDatabase, type TestNats } from './harness.js';

const MAX_BYTES = 4 * 1024 * 1024;
let nats: TestNats;
let database: TestDatabase;
let dataDir: string;
let soc: Proc;
let port: string;

beforeAll(async () => {
  [nats, database] = await Promise.all([startTestNats(), createTestDatabase()]);
  dataDir = tempDir('minisoc-overload-');
  port = String(await freePort());
  soc = runNode('tools/cli/soc.js', ['up'], {
    NATS_URL: nats.url, DATABASE_URL: database.url, DATA_DIR: dataDir, HTTP_PORT: port, SOC_SERVICES: 'ingest',
    STREAM_MAX_BYTES: String(MAX_BYTES), INGEST_ALLOW_ANONYMOUS: 'true',
  });
  await waitFor('the ingest API', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 240_000);
});

afterAll(async () => {
  await soc?.kill('SIGTERM');
  await nats?.close();
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

const rssMb = (pid: number) => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;

describe('overload', () => {
  it('answers 503 with Retry-After once the stream is full, and does not grow', async () => {
    const body = Array.from({ length: 500 }, (_, i) => JSON.stringify({ n: i, message: 'x'.repeat(400) })).join('\n');
    const send = () => fetch(`http://127.0.0.1:${port}/api/ingest?source=flood`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
    let accepted = 0;
    let first503: Response | undefined;
    for (let i = 0; i < 200 && !first503; i++) {
      const res = await send();
      if (res.status === 202) accepted++;
      else if (res.status === 503) first503 = res;
      else throw new Error(`unexpected ${res.status}: ${await res.text()}`);
    }
    expect(first503, 'the full stream refuses').toBeDefined();
    expect(first503!.headers.get('retry-after')).toBe('1');
    expect(((await first503!.json()) as { message: string }).message).toMatch(/did not accept the batch .*retry with Idempotency-Key/);
    expect(accepted).toBeGreaterThan(0);

    const pid = soc.child.pid!;
    const before = rssMb(pid);
    let refused = 0;
    let peak = before;
    // 3,552 more requests of ~225 KB each (~780 MB offered), 8 at a time: all refused, none kept.
    for (let round = 0; round < 444; round++) {
      const answers = await Promise.all(Array.from({ length: 8 }, send));
      for (const r of answers) {
        expect(r.status).toBe(503);
        await r.arrayBuffer();
        refused++;
      }
      peak = Math.max(peak, rssMb(pid));
    }
    expect(refused).toBe(3552);
    // A server that kept what it refuses would grow by the 780 MB offered. Measured here: RSS rises by
    // ~110 MB of garbage not yet collected within the first ~260 MB offered, then stays there.
    expect(peak - before).toBeLessThan(250);
    const nc = await connect({ servers: nats.url });
    const info = await (await jetstreamManager(nc)).streams.info('INGEST');
    await nc.close();
    expect(info.state.bytes).toBeLessThanOrEqual(MAX_BYTES);
    expect(info.state.messages).toBe(accepted);
  });
});
