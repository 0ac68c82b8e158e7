// Detect split into 3 shards (DETECT_SHARDS=3, one process per DETECT_SHARD=i/3): each shard reads every
// batch through its own durable, so the rules of every shard alert; the single-shard durable left from an
// earlier layout is removed instead of filling the stream.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { ruleShard } from '../services/detect/detector.js';
import { ensureTopology } from '../services/core/topology.js';
import { freePort } from '../tools/local/postgres.js';
import { createTestDatabase, runNode, startTestNats, tempDir, waitFor, waitForConsumersDone, type Proc, type TestDatabase, type TestNats } from './harness.js';

const RULES = {
  sqli: { id: '8c437b85-57cd-4a50-920a-fe6189848e48', url: (n: number) => `/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--&n=${n}` },
  xss: { id: 'bcd408ab-3e3a-4cb6-9f86-0d68fbd99c39', url: (n: number) => `/search?q=%3Cscript%3Ealert(1)%3C/script%3E&n=${n}` },
  traversal: { id: '6b26dd89-f1c8-427a-9547-bee8973ddd97', url: (n: number) => `/download?file=../../../../etc/passwd&n=${n}` },
};

let nats: TestNats;
let database: TestDatabase;
let dataDir: string;
let db: pg.Client;
let env: Record<string, string | undefined>;
const procs: Proc[] = [];

beforeAll(async () => {
  [nats, database] = await Promise.all([startTestNats(), createTestDatabase()]);
  dataDir = tempDir('minisoc-shards-');
  // An earlier single-detect layout left its durable behind.
  const nc = await connect({ servers: nats.url });
  await ensureTopology(await jetstreamManager(nc), { maxBytes: 256 * 1024 * 1024, maxAgeS: 3600, replicas: 1, ackWaitMs: 5000 });
  await nc.close();
  env = {
    NATS_URL: nats.url, DATABASE_URL: database.url, DATA_DIR: dataDir, HTTP_PORT: String(await freePort()), DETECT_SHARDS: '3',
    INGEST_ALLOW_ANONYMOUS: 'true', STAGE_ACK_WAIT_MS: '5000',
  };
  procs.push(runNode('tools/cli/soc.js', ['up'], { ...env, SOC_SERVICES: 'ingest,normalize,enrich,store' }));
  await waitFor('the ingest API', async () => (await fetch(`http://127.0.0.1:${env.HTTP_PORT}/healthz`)).ok, 240_000);
  for (let i = 0; i < 3; i++) procs.push(runNode('services/detect/main.js', [], { ...env, DETECT_SHARD: `${i}/3` }));
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  for (const p of procs.reverse()) await p.kill('SIGTERM');
  await nats?.close();
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('detect shards', () => {
  it('puts the three web rules in three different shards (what this test relies on)', () => {
    expect(Object.values(RULES).map((r) => ruleShard(r.id, 3)).sort()).toEqual([0, 1, 2]);
  });

  it('alerts on the rules of every shard, each match once', async () => {
    const nc = await connect({ servers: nats.url });
    const jsm = await jetstreamManager(nc);
    await waitFor('one durable per shard, and the old one gone', async () => {
      const names: string[] = [];
      for await (const c of jsm.consumers.list('ENRICHED')) names.push(c.name);
      return names.sort().join() === 'detect-0-of-3,detect-1-of-3,detect-2-of-3,store';
    }, 60_000, 250);
    await nc.close();

    const lines: string[] = [];
    Object.values(RULES).forEach((r, k) => {
      for (let n = 0; n < 20; n++) lines.push(`10.77.${k}.${n} - - [22/Nov/2026:10:00:00 +0000] "GET ${r.url(n)} HTTP/1.1" 200 512 "-" "Mozilla/5.0"`);
    });
    const res = await fetch(`http://127.0.0.1:${env.HTTP_PORT}/api/ingest?source=shards&format=access`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: lines.join('\n') });
    expect(res.status).toBe(202);
    const matches = async (ruleId: string) => Number((await db.query(
      `SELECT count(*)::int AS n FROM alert_matches m JOIN alerts a ON a.id = m.alert_id WHERE a.rule_id = $1`, [ruleId])).rows[0].n);
    await waitFor('20 matches of each rule', async () => {
      for (const r of Object.values(RULES)) if ((await matches(r.id)) < 20) return false;
      return true;
    }, 120_000, 250).catch((err: Error) => { throw new Error(`${err.message}\n${procs.map((p) => p.output().slice(-1500)).join('\n---\n')}`); });
    // A second match would come from a batch still in flight: wait until every shard and store have none left.
    await waitForConsumersDone(nats.url, [
      ...[0, 1, 2].map((i) => ({ stream: 'ENRICHED', durable: `detect-${i}-of-3` })), { stream: 'ALERTS', durable: 'store' },
    ]);
    for (const r of Object.values(RULES)) expect(await matches(r.id)).toBe(20);
  });

  it('refuses to start a shard whose count differs from DETECT_SHARDS, with the fix in the message', async () => {
    const wrong = runNode('services/detect/main.js', [], { ...env, DETECT_SHARD: '0/2' });
    expect(await wrong.exited).not.toBe(0);
    expect(wrong.output()).toContain('DETECT_SHARD=0/2 but DETECT_SHARDS=3: set DETECT_SHARDS=2 for every service');
  });
});
