// A 3-node NATS cluster with every stream replicated 3 times loses one node mid-stream (SIGKILL): the
// pipeline carries on through the other two, and every event is stored exactly once.
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ensureTopology } from '../services/core/topology.js';
import { startNatsServer, type LocalNats } from '../tools/local/nats-server.js';
import { freePort } from '../tools/local/postgres.js';
import { Pipeline, expectExactly, post } from './chaos.js';
import { createTestDatabase, tempDir, waitFor, type TestDatabase } from './harness.js';

let dir: string;
let nodes: LocalNats[] = [];
let database: TestDatabase;
let pipeline: Pipeline;
let db: pg.Client;
let urls: string;

async function startCluster(): Promise<LocalNats[]> {
  const clientPorts = [await freePort(), await freePort(), await freePort()];
  const routePorts = [await freePort(), await freePort(), await freePort()];
  const routes = routePorts.map((p) => `"nats://127.0.0.1:${p}"`).join(', ');
  return Promise.all(clientPorts.map((port, i) => {
    const conf = join(dir, `n${i}.conf`);
    writeFileSync(conf, [
      `server_name: n${i}`, 'max_payload: 8MB', 'max_pending: 64MB',
      'jetstream { max_memory_store: 256MB, max_file_store: 4GB }',
      `cluster { name: minisoc-chaos, listen: "127.0.0.1:${routePorts[i]}", routes: [${routes}] }`,
    ].join('\n'));
    return startNatsServer({ storeDir: join(dir, `n${i}`), port, configFile: conf, logFile: join(dir, `n${i}.log`) });
  }));
}

beforeAll(async () => {
  dir = tempDir('minisoc-chaos-cluster-');
  [nodes, database] = await Promise.all([startCluster(), createTestDatabase()]);
  urls = nodes.map((n) => n.url).join(',');
  // JetStream needs a meta leader before the replicated streams can be created.
  const nc = await connect({ servers: urls.split(',') });
  await waitFor('the cluster to create R3 streams', async () => {
    await ensureTopology(await jetstreamManager(nc), { maxBytes: 512 * 1024 * 1024, maxAgeS: 3600, replicas: 3, ackWaitMs: 5000 });
    return true;
  }, 60_000, 500);
  const info = await (await jetstreamManager(nc)).streams.info('INGEST');
  expect(info.config.num_replicas).toBe(3);
  expect(info.cluster?.replicas?.length).toBe(2);
  await nc.close();
  pipeline = new Pipeline({
    NATS_URL: urls, DATABASE_URL: database.url, DATA_DIR: tempDir('minisoc-chaos-cluster-data-'), HTTP_PORT: String(await freePort()),
    STREAM_REPLICAS: '3', STAGE_MAX_BACKOFF_MS: '1000', STAGE_ACK_WAIT_MS: '5000', STREAM_MAX_BYTES: String(512 * 1024 * 1024),
  });
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  await pipeline.start(db);
});

afterAll(async () => {
  await db?.end();
  await pipeline?.stop();
  for (const n of nodes) await n.stop().catch(() => undefined);
  await database?.drop();
  for (const d of [dir, pipeline?.env.DATA_DIR]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('chaos: cluster', () => {
  it('loses and duplicates nothing when one of three NATS nodes is killed mid-stream', async () => {
    // The node leading the INGEST stream goes, so a leader election happens under load.
    const nc = await connect({ servers: urls.split(',') });
    const leader = (await (await jetstreamManager(nc)).streams.info('INGEST')).cluster?.leader;
    await nc.close();
    const victim = nodes.find((n, i) => `n${i}` === leader) ?? nodes[0]!;
    const { retries } = await post(pipeline.env.HTTP_PORT!, 'cluster', 0, 10_000, 500, async (i) => {
      if (i === 6) victim.process.kill('SIGKILL');
    });
    await expectExactly(db, 'cluster', 10_000, () => `client retries: ${retries}\n${pipeline.output()}`);
  }, 400_000);
});
