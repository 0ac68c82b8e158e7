// GET /api/export over real HTTP: 20,000 events as CSV with exact row count, columns and escaping.
import { get } from 'node:http';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../services/auth/users.js';
import { loadConfig } from '../services/core/config.js';
import { createDb, ensurePartitions, migrateToLatest, type Db } from '../services/core/db/index.js';
import { createLogger } from '../services/core/log.js';
import { buildApp } from '../services/http/app.js';
import { createTestDatabase, sessionFrom, startTestNats, type TestDatabase, type TestNats } from './harness.js';

const ROWS = 20_000;
let nats: TestNats;
let tdb: TestDatabase;
let db: Db;
let nc: NatsConnection;
let app: FastifyInstance;
let url: string;
let token: string;

/** RFC 4180 records: quoted fields may hold commas, doubled quotes and newlines. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; } else if (c === '"') quoted = false; else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { record.push(field); field = ''; } else if (c === '\n') { record.push(field); records.push(record); record = []; field = ''; } else field += c;
  }
  if (field || record.length) { record.push(field); records.push(record); }
  return records;
}

/** The message of event n: every third one carries the characters CSV must escape. */
const message = (n: number) => (n % 3 === 0 ? `quote "q${n}", comma, and\nnewline` : `plain ${n}`);

beforeAll(async () => {
  [nats, tdb] = await Promise.all([startTestNats(), createTestDatabase()]);
  db = createDb(tdb.url);
  await migrateToLatest(db);
  nc = await connect({ servers: nats.url });
  const config = loadConfig({}, { DATABASE_URL: tdb.url, NATS_URL: nats.url });
  const log = createLogger('api-export-test', 'silent');
  await ensurePartitions(db, ['2026-11-21']);
  await sql`
    INSERT INTO events (id, ts, source_id, category, host_name, source_ip, message, doc)
    SELECT 'ev' || lpad(n::text, 6, '0'), timestamptz '2026-11-21T00:00:00Z' + n * interval '1 second', 'bulk', ARRAY['network', 'web'],
      'host-' || (n % 5), ('10.0.' || (n % 200) || '.' || (n % 250))::inet,
      CASE WHEN n % 3 = 0 THEN 'quote "q' || n || '", comma, and' || chr(10) || 'newline' ELSE 'plain ' || n END, '{}'::jsonb
    FROM generate_series(0, ${ROWS - 1}) AS n`.execute(db);
  app = await buildApp({ nc, config, log, db: () => db }, { plugins: ['api'] });
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  await createUser(db, 'reader', 'viewer', 'reader-password');
  const res = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-minisoc-request': '1' }, body: JSON.stringify({ name: 'reader', password: 'reader-password' }) });
  token = sessionFrom(res.headers.getSetCookie());
});

afterAll(async () => {
  await app?.close();
  await nc?.close();
  await db?.destroy();
  await tdb?.drop();
  await nats?.close();
});

describe('GET /api/export', () => {
  it('streams 20,000 events as CSV: header, exact row count, order and escaping of quotes, commas and newlines', async () => {
    const res = await fetch(`${url}/api/export?kind=events&format=csv`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="minisoc-events-\d{8}T\d{6}Z\.csv"$/);
    const records = parseCsv(await res.text());
    expect(records[0]).toEqual(['ts', 'id', 'source_id', 'host_name', 'agent_id', 'category', 'action', 'outcome', 'source_ip', 'source_port',
      'destination_ip', 'destination_port', 'user_name', 'process_name', 'message']);
    const rows = records.slice(1);
    expect(rows).toHaveLength(ROWS);
    for (let n = 0; n < ROWS; n++) {
      const r = rows[n]!;
      expect(r.length).toBe(15);
      if (r[1] !== `ev${String(n).padStart(6, '0')}` || r[14] !== message(n)) {
        expect({ n, id: r[1], message: r[14] }).toEqual({ n, id: `ev${String(n).padStart(6, '0')}`, message: message(n) });
      }
    }
    expect(rows[3]).toEqual([new Date(Date.UTC(2026, 10, 21, 0, 0, 3)).toISOString(), 'ev000003', 'bulk', 'host-3', '', 'network;web', '', '', '10.0.3.3', '', '', '', '', '', message(3)]);
  });

  it('applies the event filters to the export and streams NDJSON', async () => {
    const res = await fetch(`${url}/api/export?kind=events&format=ndjson&host=host-1&q=newline`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
    const lines = (await res.text()).trim().split('\n');
    // n % 5 == 1 and n % 3 == 0: n = 6, 21, 36, ... (one in 15).
    expect(lines).toHaveLength(Math.ceil((ROWS - 6) / 15));
    expect(JSON.parse(lines[0]!)).toEqual({});
  });

  it('gives its connection back when the client goes away half way', async () => {
    for (let i = 0; i < 6; i++) {
      // A client that reads the first chunk and then drops the connection.
      await new Promise<void>((resolve, reject) => {
        const req = get(`${url}/api/export?kind=events&format=csv`, { headers: { authorization: `Bearer ${token}` } }, (res) => {
          res.once('data', () => { req.destroy(); resolve(); });
        });
        req.on('error', (err) => (req.destroyed ? resolve() : reject(err)));
      });
    }
    // The export pool has 4 connections: six abandoned exports would hang the next one if they leaked.
    const res = await fetch(`${url}/api/export?kind=events&format=csv&host=host-0`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(60_000) });
    expect(parseCsv(await res.text())).toHaveLength(ROWS / 5 + 1);
  });
});
