// Hostile records end to end through `soc up` on a real nats-server and PostgreSQL: prototype keys over HTTP and from an agent, oversized records, quadratic-shaped bodies.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { EventBatch, TelemetryBatch } from '../services/core/proto.js';
import { subjects } from '../services/core/topology.js';
import { freePort } from '../tools/local/postgres.js';
import { createTestDatabase, runNode, startTestNats, tempDir, waitFor, type Proc, type TestDatabase, type TestNats } from './harness.js';

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
  }, 90_000);
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
});
