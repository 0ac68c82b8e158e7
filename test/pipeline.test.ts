// End to end through `soc up` as a user starts it: its own nats-server and embedded Postgres.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { freePort } from '../tools/local/postgres.js';
import { runCli, tempDir, waitFor, type Proc, startSocUp, type SocRuntime } from './harness.js';

const METRICS = 'metrics-token-for-the-pipeline-test';
let dataDir: string;
let soc: Proc;
let http: string;
let env: Record<string, string | undefined>;
let db: pg.Client;

beforeAll(async () => {
  dataDir = tempDir('minisoc-up-');
  env = { DATA_DIR: dataDir, HTTP_PORT: String(await freePort()), NATS_URL: undefined, DATABASE_URL: undefined, STAGE_MAX_BACKOFF_MS: '2000', INGEST_ALLOW_ANONYMOUS: 'true', METRICS_TOKEN: METRICS };
  let runtime: SocRuntime;
  ({ soc, runtime } = await startSocUp(env));
  http = runtime.httpUrl;
  db = new pg.Client({ connectionString: runtime.databaseUrl });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  if (soc) {
    const code = await soc.kill('SIGTERM');
    expect(code, soc.output()).toBe(0);
  }
  rmSync(dataDir, { recursive: true, force: true });
});

async function post(path: string, body: string, type = 'application/json'): Promise<Response> {
  return fetch(`${http}${path}`, { method: 'POST', headers: { 'content-type': type }, body });
}

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await db.query(sql, params);
  return Number(rows[0].n);
}

describe('soc up', () => {
  it('stores exactly the 10,000 events posted to /api/ingest, and soc events lists them', async () => {
    for (let r = 0; r < 10; r++) {
      const lines = Array.from({ length: 1000 }, (_, i) => JSON.stringify({
        '@timestamp': new Date(Date.UTC(2026, 10, 22, 10, 0, 0, r * 1000 + i)).toISOString(),
        host: `web-${i % 7}`, src_ip: `10.1.${r}.${i % 250}`, user: `u${i % 13}`, message: 'GET /index.html', labels: { n: r * 1000 + i },
      }));
      const res = await post('/api/ingest?source=load', lines.join('\n'), 'application/x-ndjson');
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ accepted: 1000 });
    }
    await waitFor('10,000 stored events', async () => (await count(`SELECT count(*) AS n FROM events WHERE source_id = 'load'`)) >= 10_000, 120_000, 250);
    const cli = await runCli(['events', '--json', '--source', 'load', '--limit', '20000'], { DATA_DIR: dataDir, DATABASE_URL: undefined });
    expect(cli.code, cli.stderr).toBe(0);
    const docs = cli.stdout.trim().split('\n').map((l) => JSON.parse(l) as { labels: { n: string }; source: { ip: string } });
    expect(docs).toHaveLength(10_000);
    const ns = new Set(docs.map((d) => Number(d.labels.n)));
    expect(ns.size).toBe(10_000);
    expect(Math.min(...ns)).toBe(0);
    expect(Math.max(...ns)).toBe(9999);
  });

  it('answers a malformed body with 400 and stores nothing of it', async () => {
    const res = await post('/api/ingest?source=broken', '[{"a":1}, {"b": ]');
    expect(res.status).toBe(400);
    expect(((await res.json()) as { message: string }).message).toMatch(/^invalid JSON/);
    // A record posted after it, on the same subject, is stored: anything of the broken body would have come first.
    expect((await post('/api/ingest?source=broken', '[{"message":"marker after the broken body"}]')).status).toBe(202);
    await waitFor('the marker record', async () => (await count(`SELECT count(*) AS n FROM events WHERE source_id = 'broken' AND doc->>'message' = 'marker after the broken body'`)) === 1);
    expect(await count(`SELECT count(*) AS n FROM events WHERE source_id = 'broken'`)).toBe(1);
  });

  it('dead-letters a record it cannot normalize, with the reason, counts it, and keeps running', async () => {
    const res = await post('/api/ingest?source=mixed', '[{"ok":true}, 17, {"source.ip":"not-an-ip"}]');
    expect(res.status).toBe(202);
    const rows = await waitFor('two dead letters', async () => {
      const { rows } = await db.query(`SELECT record_index, error, convert_from(payload, 'UTF8') AS payload FROM dead_letters WHERE source_id = 'mixed' ORDER BY record_index`);
      return rows.length === 2 && rows;
    });
    expect(rows).toEqual([
      { record_index: 1, error: 'expected a JSON object, got a number', payload: '17' },
      { record_index: 2, error: 'source.ip: "not-an-ip" is not an IP address', payload: '{"source.ip":"not-an-ip"}' },
    ]);
    await waitFor('the good record', async () => (await count(`SELECT count(*) AS n FROM events WHERE source_id = 'mixed'`)) === 1);
    expect((await fetch(`${http}/metrics`)).status).toBe(401);
    const metrics = await (await fetch(`${http}/metrics`, { headers: { authorization: `Bearer ${METRICS}` } })).text();
    expect(metrics).toMatch(/minisoc_stage_dead_lettered_total\{stage="normalize",stream="INGEST"[^}]*\} 2$/m);
    expect((await fetch(`${http}/healthz`)).status).toBe(200);
  });
});
