// PostgreSQL stopped for 30 s while events keep arriving: the stream holds them (store retries, nothing is
// dead-lettered), and once the database is back every event is stored exactly once.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort, startEmbeddedPostgres, type LocalPostgres } from '../tools/local/postgres.js';
import { Pipeline, expectExactly, post } from './chaos.js';
import { startTestNats, tempDir, type TestNats } from './harness.js';

let nats: TestNats;
let pgDir: string;
let pgPort: number;
let server: LocalPostgres;
let dataDir: string;
let pipeline: Pipeline;
let db: pg.Client;

beforeAll(async () => {
  // A cluster of our own, since this test stops it.
  pgDir = tempDir('minisoc-chaos-pg-');
  pgPort = await freePort();
  [nats, server] = await Promise.all([startTestNats(), startEmbeddedPostgres({ dir: join(pgDir, 'pg'), port: pgPort, database: 'chaos' })]);
  dataDir = tempDir('minisoc-chaos-pgdata-');
  pipeline = new Pipeline({
    NATS_URL: nats.url, DATABASE_URL: server.url, DATA_DIR: dataDir, HTTP_PORT: String(await freePort()),
    STAGE_MAX_BACKOFF_MS: '2000', STAGE_ACK_WAIT_MS: '5000',
  });
  db = new pg.Client({ connectionString: server.url });
  await db.connect();
  await pipeline.start(db);
});

afterAll(async () => {
  await db?.end().catch(() => undefined);
  await pipeline?.stop();
  await nats?.close();
  await server?.stop().catch(() => undefined);
  for (const d of [dataDir, pgDir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('chaos: database outage', () => {
  it('holds events while Postgres is down for 30 s, then stores each exactly once', async () => {
    await post(pipeline.env.HTTP_PORT!, 'pgdown', 0, 4000);
    await db.end();
    await server.stop();
    const downAt = Date.now();
    // Ingest keeps accepting while the database is away: the streams hold the events.
    await post(pipeline.env.HTTP_PORT!, 'pgdown', 4000, 10_000);
    await new Promise((r) => setTimeout(r, Math.max(0, 30_000 - (Date.now() - downAt))));
    // What store could not write waits in the stream.
    const nc = await connect({ servers: nats.url });
    const info = await (await jetstreamManager(nc)).consumers.info('ENRICHED', 'store');
    await nc.close();
    expect(info.num_pending + info.num_ack_pending).toBeGreaterThan(0);
    server = await startEmbeddedPostgres({ dir: join(pgDir, 'pg'), port: pgPort, database: 'chaos' });
    db = new pg.Client({ connectionString: server.url });
    await db.connect();
    // Stages are alive, not crashed and restarted: each process is still the one started.
    for (const [name, p] of pipeline.stages) expect(p.child.exitCode, `${name}: ${p.output()}`).toBeNull();
    await expectExactly(db, 'pgdown', 10_000, () => pipeline.output());
  }, 400_000);
});
