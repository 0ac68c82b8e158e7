// A source's declared kind travels from `ingest_sources.kind` through ingest (RawBatch.source_kind) and normalize
// (observer.type) to the detect logsource, so a proxy's requests meet proxy rules and a web server's do not.
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../services/core/config.js';
import { createDb, migrateToLatest, type Db } from '../services/core/db/index.js';
import { createLogger } from '../services/core/log.js';
import { ensureNatsAuth } from '../services/core/nats-accounts.js';
import { RawBatch } from '../services/core/proto.js';
import { ensureTopology } from '../services/core/topology.js';
import { eventLogsource } from '../services/detect/index.js';
import { buildApp } from '../services/http/app.js';
import { addSource, listSources, sourceForToken } from '../services/ingest/sources.js';
import { normalizeRaw } from '../services/normalize/core.js';
import { createTestDatabase, startTestNats, tempDir, type TestDatabase, type TestNats } from './harness.js';

let nats: TestNats;
let tdb: TestDatabase;
let db: Db;
let nc: NatsConnection;
let jsm: JetStreamManager;
let app: FastifyInstance;
let dir: string;

beforeAll(async () => {
  [nats, tdb] = await Promise.all([startTestNats(), createTestDatabase()]);
  dir = tempDir('minisoc-source-kind-');
  await ensureNatsAuth(join(dir, 'nats-auth'));
  db = createDb(tdb.url);
  await migrateToLatest(db);
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  await ensureTopology(jsm, { maxBytes: 64 * 1024 * 1024, maxAgeS: 3600, replicas: 1, ackWaitMs: 30_000 });
  const config = loadConfig({}, { DATABASE_URL: tdb.url, NATS_URL: nats.url, NATS_AUTH_DIR: join(dir, 'nats-auth') });
  app = await buildApp({ nc, config, log: createLogger('source-kind-test', 'silent'), db: () => db }, { plugins: ['ingest'] });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await nc?.close();
  await db?.destroy();
  await nats?.close();
  await tdb?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const LINE = '66.249.66.1 - - [05/Jan/2026:09:00:00 +0000] "GET /robots.txt HTTP/1.1" 200 68 "-" "Mozilla/5.0 (compatible; Googlebot/2.1)"';

describe('a source kind', () => {
  it('is stored with the source, refused when unknown, and listed', async () => {
    await expect(addSource(db, { name: 'odd', format: 'access', kind: 'mainframe', createdBy: 'test' })).rejects.toThrow(/kind "mainframe": expected one of webserver, proxy/);
    const token = await addSource(db, { name: 'squid', format: 'access', kind: 'proxy', createdBy: 'test' });
    expect(await sourceForToken(db, token)).toEqual({ name: 'squid', format: 'access', kind: 'proxy', host: '' });
    const plain = await addSource(db, { name: 'legacy', format: 'access', createdBy: 'test' });
    expect(await sourceForToken(db, plain)).toEqual({ name: 'legacy', format: 'access', kind: '', host: '' });
    expect((await listSources(db)).map((s) => [s.name, s.kind])).toEqual([['legacy', ''], ['squid', 'proxy']]);
  });

  it('rides on the raw batch and the normalized events, which detect places in its logsource', async () => {
    const token = (await addSource(db, { name: 'squid', format: 'access', kind: 'proxy', createdBy: 'test', rotate: true }));
    const res = await app.inject({ method: 'POST', url: '/api/ingest', headers: { 'content-type': 'text/plain', authorization: `Bearer ${token}` }, payload: LINE });
    expect(res.statusCode, res.body).toBe(202);
    const msg = await jsm.streams.getMessage('INGEST', { last_by_subj: 'ingest.squid' });
    const batch = RawBatch.decode(msg!.data);
    expect(batch.source_kind).toBe('proxy');
    const [event] = normalizeRaw(batch, { idPrefix: 'k', nowMs: Date.now() }).events;
    expect(event!.observer?.type).toBe('proxy');
    expect(eventLogsource(event!).categories).toEqual(['proxy']);
    const plain = normalizeRaw({ ...batch, source_kind: '' }, { idPrefix: 'k', nowMs: Date.now() }).events[0]!;
    expect(eventLogsource(plain).categories).toEqual(['webserver']);
  });
});

describe('a source host', () => {
  it('is checked, stored lowercase, and names the host of the events that name none', async () => {
    await expect(addSource(db, { name: 'bad-host', format: 'access', host: 'web 1;rm', createdBy: 'test' })).rejects.toThrow(/host "web 1;rm": expected a host name/);
    const token = await addSource(db, { name: 'shop-nginx', format: 'access', kind: 'webserver', host: 'Shop-Web-1', createdBy: 'test' });
    expect(await sourceForToken(db, token)).toEqual({ name: 'shop-nginx', format: 'access', kind: 'webserver', host: 'shop-web-1' });
    const res = await app.inject({ method: 'POST', url: '/api/ingest', headers: { 'content-type': 'text/plain', authorization: `Bearer ${token}` }, payload: LINE });
    expect(res.statusCode, res.body).toBe(202);
    const batch = RawBatch.decode((await jsm.streams.getMessage('INGEST', { last_by_subj: 'ingest.shop-nginx' }))!.data);
    expect(batch.source_host).toBe('shop-web-1');
    // An access log line names no host: the event (and an alert on it) gets the web server's.
    expect(normalizeRaw(batch, { idPrefix: 'h', nowMs: Date.now() }).events[0]!.host?.name).toBe('shop-web-1');
    // An event that names its own host keeps it.
    const own = normalizeRaw({ ...batch, format: 'json', records: ['{"host":"db-2","message":"x"}'] }, { idPrefix: 'h', nowMs: Date.now() }).events[0]!;
    expect(own.host?.name).toBe('db-2');
  });
});
