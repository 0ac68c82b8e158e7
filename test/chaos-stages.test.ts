// Every stage killed with SIGKILL mid-stream and restarted, and nats-server stopped (SIGTERM, SIGKILL) and
// restarted: exactly the events and alert matches posted are stored, none lost, none twice.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import pg from 'pg';
import { freePort } from '../tools/local/postgres.js';
import { Pipeline, STAGES, expectExactly, post } from './chaos.js';
import { createTestDatabase, startTestNats, tempDir, type TestDatabase, type TestNats } from './harness.js';

let nats: TestNats;
let database: TestDatabase;
let dataDir: string;
let pipeline: Pipeline;
let db: pg.Client;

beforeAll(async () => {
  [nats, database] = await Promise.all([startTestNats(), createTestDatabase()]);
  dataDir = tempDir('minisoc-chaos-');
  pipeline = new Pipeline({
    NATS_URL: nats.url, DATABASE_URL: database.url, DATA_DIR: dataDir, HTTP_PORT: String(await freePort()),
    STAGE_MAX_BACKOFF_MS: '1000', STAGE_ACK_WAIT_MS: '5000',
  });
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  await pipeline.start(db);
}, 400_000);

afterAll(async () => {
  await db?.end();
  await pipeline?.stop();
  await nats?.close();
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('chaos: crashes', () => {
  it('loses and duplicates nothing when each stage is killed with SIGKILL mid-stream and restarted', async () => {
    // 40 batches of 500; after batches 5, 13, 21 and 29 one stage dies (normalize, enrich, detect, store).
    await post(pipeline.env.HTTP_PORT!, 'kill', 0, 20_000, 500, async (i) => {
      const victim = STAGES[(i - 5) / 8];
      if ((i - 5) % 8 !== 0 || !victim) return;
      await pipeline.kill(victim, 'SIGKILL');
      pipeline.startStage(victim);
    });
    await expectExactly(db, 'kill', 20_000, () => pipeline.output());
  }, 400_000);

  for (const signal of ['SIGTERM', 'SIGKILL'] as const) {
    it(`loses and duplicates nothing across a nats-server ${signal} and restart mid-stream, with ingest retried by the client`, async () => {
      const source = `natsdown-${signal.toLowerCase()}`;
      let restarted: Promise<void> | undefined;
      const { retries } = await post(pipeline.env.HTTP_PORT!, source, 0, 10_000, 500, async (i) => {
        if (i !== 6) return;
        await nats.stop(signal);
        // Back after a few seconds on the same port and store; meanwhile the client's posts get 503 and are retried.
        restarted = new Promise((r) => setTimeout(r, 3000)).then(() => nats.restart());
      });
      await restarted;
      await expectExactly(db, source, 10_000, () => `client retries: ${retries}\n${pipeline.output()}`);
    }, 400_000);
  }
});
