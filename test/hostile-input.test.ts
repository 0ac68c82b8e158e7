// Hostile records end to end through `soc up` on a real nats-server and PostgreSQL: prototype keys over HTTP and from an agent, oversized records, quadratic-shaped bodies.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { EventBatch, TelemetryBatch } from '../services/core/proto.js';
import { subjects } from '../services/core/topology.js';
import { freePort } from '../tools/local/postgres.js';
import { hostileBodies } from './fuzz/hostile-bodies.js';
import { ROOT, createTestDatabase, runNode, startTestNats, tempDir, waitFor, type Proc, type TestDatabase, type TestNats } from './harness.js';

let nats: TestNats;
let database: TestDatabase;
let dataDir: string;
let soc: Proc;
let db: pg.Client;
let nc: NatsConnection;
let http: string;

beforeAll(async () => {
  [nats, database] = await Promise.all([startTestNats(), createTestDatabase()]);
  dataDir = tempDir('minisoc-hostile-');
  const port = await freePort();
  http = `http://127.0.0.1:${port}`;
  soc = runNode('tools/cli/soc.js', ['up'], {
    NATS_URL: nats.url, DATABASE_URL: database.url, DATA_DIR: dataDir, HTTP_PORT: String(port), INGEST_ALLOW_ANONYMOUS: 'true', STAGE_MAX_BACKOFF_MS: '1000',
  });
  await waitFor('the ingest API', async () => {
    if (soc.child.exitCode !== null) throw new Error(`soc up exited: ${soc.output()}`);
    return (await fetch(`${http}/healthz`).catch(() => undefined))?.ok;
  }, 240_000);
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.close();
  await db?.end();
  if (soc) expect(await soc.kill('SIGTERM'), soc.output()).toBe(0);
  await nats?.close();
  await database?.drop();
  rmSync(dataDir, { recursive: true, force: true });
});

async function post(source: string, body: string, type = 'application/x-ndjson'): Promise<Response> {
  return fetch(`${http}/api/ingest?source=${source}`, { method: 'POST', headers: { 'content-type': type }, body });
}

async function rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  return (await db.query(sql, params).catch(() => ({ rows: [] }))).rows as T[];
}

const refused = (key: string, where = 'the record') => `${where} uses the key "${key}", which is refused: it names an object prototype in JavaScript`;

describe('hostile input through the whole pipeline', () => {
  it('dead-letters HTTP records with prototype keys, with the reason and the whole record, and stores the rest', async () => {
    const records = ['{"__proto__":{"polluted":"yes"}}', '{"message":"kept 1"}', '{"constructor":{"prototype":{"polluted":"yes"}}}', '{"a":{"__proto__":{"polluted":"yes"}}}'];
    const res = await post('proto-http', records.join('\n'));
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ accepted: 4 });
    const dead = await waitFor('three dead letters', async () => {
      const r = await rows<{ record_index: number; error: string; payload: string }>(
        `SELECT record_index, error, convert_from(payload, 'UTF8') AS payload FROM dead_letters WHERE source_id = 'proto-http' ORDER BY record_index`);
      return r.length === 3 && r;
    });
    expect(dead).toEqual([
      { record_index: 0, error: refused('__proto__'), payload: records[0] },
      { record_index: 2, error: refused('constructor'), payload: records[2] },
      { record_index: 3, error: refused('__proto__', 'the object at a'), payload: records[3] },
    ]);
    await waitFor('the good record', async () => (await rows(`SELECT 1 FROM events WHERE source_id = 'proto-http'`)).length === 1);
  });

  it('dead-letters agent events with prototype keys in extra_json or labels and stores the agent\'s other events', async () => {
    const js = jetstream(nc);
    const batch = TelemetryBatch.encode({
      agent_id: 'hostile-1', batch_seq: 1, created_ms: Date.now(), events: [
        { message: 'bad extra', extra_json: '{"__proto__":{"polluted":"yes"}}' },
        { message: 'agent ok', extra_json: '{"proc":{"threads":4}}' },
        { message: 'bad label', labels: JSON.parse('{"__proto__":"polluted"}') as Record<string, string> },
      ],
    }).finish();
    await js.publish(subjects.telemetry('hostile-1'), batch, { msgID: 'hostile-1:1' });
    const dead = await waitFor('two dead letters', async () => {
      const r = await rows<{ record_index: number; error: string }>(`SELECT record_index, error FROM dead_letters WHERE source_id = 'hostile-1' ORDER BY record_index`);
      return r.length === 2 && r;
    });
    expect(dead).toEqual([{ record_index: 0, error: `extra_json: ${refused('__proto__')}` }, { record_index: 2, error: refused('__proto__', 'labels') }]);
    const stored = await waitFor('the good agent event', async () => {
      const r = await rows<{ doc: Record<string, unknown> }>(`SELECT doc FROM events WHERE source_id = 'hostile-1'`);
      return r.length === 1 && r;
    });
    expect(stored[0]!.doc).toMatchObject({ message: 'agent ok', proc: { threads: 4 } });
  });

  it('stores an event published past normalize with a __proto__ extra key as plain data, and keeps serving', async () => {
    const js = jetstream(nc);
    const batch = EventBatch.encode({ source_id: 'bypass', events: [{ id: 'bypass-1', timestamp: new Date().toISOString(), message: 'bypassed', extra_json: '{"__proto__":{"polluted":"yes"},"x":1}' }] }).finish();
    await js.publish(subjects.enriched('bypass'), batch, { msgID: 'bypass-1' });
    const stored = await waitFor('the bypassing event', async () => {
      const r = await rows<{ doc: string }>(`SELECT doc::text AS doc FROM events WHERE id = 'bypass-1'`);
      return r.length === 1 && r;
    });
    const doc = JSON.parse(stored[0]!.doc) as Record<string, unknown>;
    expect(Object.getOwnPropertyDescriptor(doc, '__proto__')?.value).toEqual({ polluted: 'yes' });
    expect(doc).toMatchObject({ message: 'bypassed', x: 1 });
    // Still serving, and later records still flow through every stage.
    expect((await post('after', '{"message":"after"}')).status).toBe(202);
    await waitFor('a record posted afterwards', async () => (await rows(`SELECT 1 FROM events WHERE source_id = 'after'`)).length === 1);
    expect((await fetch(`${http}/healthz`)).status).toBe(200);
  });

  it('answers 413 for a record no stream message can carry, and 400 at once for a quadratic-shaped XML body', async () => {
    const big = await post('big', JSON.stringify({ message: 'x'.repeat(7_700_000) }));
    expect(big.status).toBe(413);
    expect(((await big.json()) as { message: string }).message).toMatch(/^record 1 is \d+ bytes, over the \d+ bytes one event stream message carries/);
    const xml = await post('xml', '<Event>'.repeat(1_000_000), 'application/xml');
    expect(xml.status).toBe(400);
    expect(((await xml.json()) as { message: string }).message).toMatch(/^no <Event> element found/);
    const deep = await post('deep', '['.repeat(3_000_000) + ']'.repeat(3_000_000), 'application/json');
    expect(deep.status).toBe(400);
    expect(((await deep.json()) as { message: string }).message).toMatch(/^line 1: JSON nests deeper than 32 levels/);
  });

  it('takes hostile bodies of every format while an ordinary stream flows: each answered or dead-lettered, every ordinary event stored once, /healthz answering', async () => {
    const health: { ms: number; status: number; failing?: string[] }[] = [];
    let running = true;
    const prober = (async () => {
      while (running) {
        const t0 = performance.now();
        const res = await fetch(`${http}/healthz`, { signal: AbortSignal.timeout(30_000) }).catch(() => undefined);
        const ms = performance.now() - t0;
        health.push({ ms, status: res?.status ?? 0, failing: res && res.status !== 200 ? (await res.json() as { failing: string[] }).failing : undefined });
        if (res?.status === 200) await res.arrayBuffer();
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // The ordinary stream: numbered NDJSON records in small requests, retried on 503 with the same key.
    let sent = 0;
    const ordinary = (async () => {
      while (running || sent < 2000) {
        const from = sent;
        const body = Array.from({ length: 50 }, (_, i) => JSON.stringify({ message: `ordinary ${from + i}`, n: from + i })).join('\n');
        for (;;) {
          const res = await fetch(`${http}/api/ingest?source=ordinary`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': `o-${from}` }, body });
          if (res.status === 202) break;
          expect(res.status).toBe(503);
          await new Promise((r) => setTimeout(r, 200));
        }
        sent += 50;
        if (sent >= 2000 && !running) break;
      }
    })();
    // 1 MiB of each hostile shape: a 4xx with a reason, or accepted with its bad records dead-lettered.
    const answers: { name: string; status: number; message?: string }[] = [];
    let accepted = 0;
    for (const shape of hostileBodies(1024 * 1024)) {
      const res = await fetch(`${http}/api/ingest?source=hostile&format=${shape.format}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: shape.body() });
      const body = await res.json() as { message?: string; accepted?: number };
      answers.push({ name: shape.name, status: res.status, message: body.message });
      if (res.status === 202) accepted += body.accepted!;
      if (res.status !== 202) {
        expect([400, 413], shape.name).toContain(res.status);
        expect(body.message, shape.name).toBeTruthy();
      }
    }
    running = false;
    await ordinary;
    await prober;
    await waitFor('every ordinary event stored', async () => {
      const r = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE source_id = 'ordinary'`);
      return r[0]!.n >= sent;
    }, 240_000, 500);
    const counts = await rows<{ n: number; d: number }>(`SELECT count(*)::int AS n, count(DISTINCT doc->>'message')::int AS d FROM events WHERE source_id = 'ordinary'`);
    expect(counts[0]).toEqual({ n: sent, d: sent });
    // Every record of an accepted hostile body was stored or dead-lettered with its reason: none left behind.
    const settled = async () => {
      const [e] = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM events WHERE source_id = 'hostile'`);
      const [d] = await rows<{ n: number }>(`SELECT count(*)::int AS n FROM dead_letters WHERE source_id = 'hostile' AND record_index >= 0 AND error <> ''`);
      return e!.n + d!.n;
    };
    await waitFor(`the ${accepted} accepted hostile records stored or dead-lettered`, async () => (await settled()) >= accepted, 240_000, 500);
    expect(await settled()).toBe(accepted);
    // Every probe was answered: healthy, or unhealthy only for the reason that is due on a busy machine (the
    // HTTP process's event loop over a second behind while it cuts a large body). Never a service down.
    const unhealthy = health.filter((h) => h.status !== 200);
    for (const h of unhealthy) {
      expect(h.status, JSON.stringify(h)).toBe(503);
      expect(h.failing!.every((f) => /^event loop: \d+ ms behind$/.test(f)), JSON.stringify(h)).toBe(true);
    }
    const after = await (await fetch(`${http}/healthz`)).json() as { services: { name: string; restarts: number }[] | null };
    for (const svc of after.services ?? []) expect(svc.restarts, svc.name).toBe(0);
    const ok = health.map((h) => h.ms).sort((a, b) => a - b);
    mkdirSync(join(ROOT, 'test-output'), { recursive: true });
    writeFileSync(join(ROOT, 'test-output', 'hostile-healthz.json'), `${JSON.stringify({
      probes: ok.length, unhealthy: unhealthy.length, p50Ms: ok[Math.floor(ok.length / 2)], p99Ms: ok[Math.floor(ok.length * 0.99)], maxMs: ok[ok.length - 1], answers,
    }, null, 2)}\n`);
  }, 900_000);
});
