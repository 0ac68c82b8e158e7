// The HTTP side of security: POST /api/enroll and the admins' enrollment routes, ingest source tokens bound to a
// source and format, per-token rate limits, CORS by allow-list, and bodies that are too big or malformed.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { createUser as createUserKey } from '@nats-io/nkeys';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../services/auth/users.js';
import { loadConfig, type Config } from '../services/core/config.js';
import { createDb, migrateToLatest, type Db } from '../services/core/db/index.js';
import { createLogger } from '../services/core/log.js';
import { ensureTopology } from '../services/core/topology.js';
import { buildApp } from '../services/http/app.js';
import { createEnrollmentToken } from '../services/enroll/enroll.js';
import { addSource, revokeSource } from '../services/ingest/sources.js';
import { ensureNatsAuth } from '../services/core/nats-accounts.js';
import { createTestDatabase, injectLogin, startTestNats, tempDir, type TestDatabase, type TestNats } from './harness.js';

let nats: TestNats;
let tdb: TestDatabase;
let db: Db;
let nc: NatsConnection;
let jsm: JetStreamManager;
let dir: string;
let config: Config;
let app: FastifyInstance;
const apps: FastifyInstance[] = [];
const users: Record<string, string> = {};

async function makeApp(overrides: Partial<Record<keyof Config, string>> = {}): Promise<FastifyInstance> {
  const cfg = loadConfig({}, {
    DATABASE_URL: tdb.url, NATS_URL: nats.url, NATS_AUTH_DIR: join(dir, 'nats-auth'), AGENT_NATS_URLS: 'tls://soc.example:4222',
    INGEST_MAX_BODY_BYTES: '4096', CORS_ORIGINS: 'https://soc.example', ...overrides,
  });
  const deps = { nc, config: cfg, log: createLogger('security-api-test', 'silent'), db: () => db };
  const a = await buildApp(deps, { plugins: ['ingest', 'api', 'enroll'] });
  apps.push(a);
  return a;
}

beforeAll(async () => {
  [nats, tdb] = await Promise.all([startTestNats(), createTestDatabase()]);
  dir = tempDir('minisoc-sec-api-');
  await ensureNatsAuth(join(dir, 'nats-auth'));
  db = createDb(tdb.url);
  await migrateToLatest(db);
  nc = await connect({ servers: nats.url });
  jsm = await jetstreamManager(nc);
  await ensureTopology(jsm, { maxBytes: 64 * 1024 * 1024, maxAgeS: 3600, replicas: 1, ackWaitMs: 30_000 });
  app = await makeApp();
  config = loadConfig({}, { NATS_URL: nats.url });
  for (const role of ['viewer', 'analyst', 'admin'] as const) {
    await createUser(db, `${role}1`, role, `${role}-password`);
    users[role] = await injectLogin(app, `${role}1`, `${role}-password`);
  }
}, 120_000);

afterAll(async () => {
  for (const a of apps) await a.close();
  await nc?.close();
  await db?.destroy();
  await nats?.close();
  await tdb?.drop();
  rmSync(dir, { recursive: true, force: true });
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const ingestMessages = async () => (await jsm.streams.info('INGEST')).state.messages;

describe('POST /api/enroll', () => {
  it('answers a user JWT for the agent\'s key and the NATS URLs, once per token', async () => {
    const { token } = await createEnrollmentToken(db, { ttlS: 600, tags: ['lab'], createdBy: 'test' });
    const publicKey = createUserKey().getPublicKey();
    const res = await app.inject({ method: 'POST', url: '/api/enroll', payload: { token, agentId: 'api-1', publicKey } });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ natsUrls: ['tls://soc.example:4222'], inboxPrefix: '_INBOX_api-1', tags: ['lab'] });
    const claims = JSON.parse(Buffer.from(body.jwt.split('.')[1], 'base64url').toString());
    expect(claims.sub).toBe(publicKey);
    expect(claims.nats.pub.allow).toEqual(['telemetry.api-1', 'hb.api-1', 'cmdres.api-1']);
    expect(claims.nats.sub.allow).toEqual(['cmd.api-1', '_INBOX_api-1.>']);
    const again = await app.inject({ method: 'POST', url: '/api/enroll', payload: { token, agentId: 'api-2', publicKey: createUserKey().getPublicKey() } });
    expect(again.statusCode).toBe(401);
    const audit = await db.selectFrom('audit_log').select(['action', 'target']).where('action', 'like', 'agent.enroll%').orderBy('id').execute();
    expect(audit).toEqual([{ action: 'agent.enroll', target: 'api-1' }, { action: 'agent.enroll.refused', target: 'api-2' }]);
  });

  it('answers 401 to an unknown token, 400 to malformed or incomplete bodies and 413 to a big one, storing nothing', async () => {
    const publicKey = createUserKey().getPublicKey();
    const unknown = await app.inject({ method: 'POST', url: '/api/enroll', payload: { token: 'soce_nope', agentId: 'api-3', publicKey } });
    expect(unknown.statusCode).toBe(401);
    const bad = [
      { payload: '{"token": "x", ', headers: { 'content-type': 'application/json' } },
      { payload: { token: 'x', agentId: 'a.b', publicKey } },
      { payload: { token: 'x', agentId: 'api-3' } },
      { payload: { token: 'x', agentId: 'api-3', publicKey: 'short' } },
    ];
    for (const b of bad) {
      const res = await app.inject({ method: 'POST', url: '/api/enroll', ...b });
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    }
    const big = await app.inject({ method: 'POST', url: '/api/enroll', payload: { token: 'x'.repeat(5000), agentId: 'api-3', publicKey } });
    expect(big.statusCode).toBe(413);
    expect(await db.selectFrom('agent_credentials').select('agent_id').where('agent_id', '=', 'api-3').execute()).toEqual([]);
  });

  it('is rate limited per address', async () => {
    const limited = await makeApp({ ENROLL_RATE_LIMIT_PER_MIN: '3' });
    const codes: number[] = [];
    for (let i = 0; i < 5; i++) {
      codes.push((await limited.inject({ method: 'POST', url: '/api/enroll', payload: { token: 'soce_nope', agentId: 'rl', publicKey: createUserKey().getPublicKey() } })).statusCode);
    }
    expect(codes).toEqual([401, 401, 401, 429, 429]);
  });

  it('answers 503 when the server has no NATS keys', async () => {
    const bare = await makeApp({ NATS_AUTH_DIR: join(dir, 'nowhere') });
    const res = await bare.inject({ method: 'POST', url: '/api/enroll', payload: { token: 'soce_x', agentId: 'x', publicKey: createUserKey().getPublicKey() } });
    expect(res.statusCode).toBe(503);
  });
});

describe('admin enrollment routes', () => {
  it('need a signed-in admin: 401 without or with a wrong token, 403 for viewers and analysts', async () => {
    for (const url of ['/api/enrollment-tokens', '/api/agents/api-1/revoke']) {
      expect((await app.inject({ method: 'POST', url, payload: {} })).statusCode, url).toBe(401);
      expect((await app.inject({ method: 'POST', url, payload: {}, headers: bearer('wrong') })).statusCode, url).toBe(401);
      for (const role of ['viewer', 'analyst']) expect((await app.inject({ method: 'POST', url, payload: {}, headers: bearer(users[role]!) })).statusCode, `${url} ${role}`).toBe(403);
    }
  });

  it('let an admin make a token that enrolls an agent, and audit it', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/enrollment-tokens', headers: bearer(users.admin!), payload: { expiresInS: 600, tags: ['web'] } });
    expect(res.statusCode, res.body).toBe(200);
    const enrolled = await app.inject({ method: 'POST', url: '/api/enroll', payload: { token: res.json().token, agentId: 'api-9', publicKey: createUserKey().getPublicKey() } });
    expect(enrolled.json().tags).toEqual(['web']);
    expect(await db.selectFrom('audit_log').select('actor').where('action', '=', 'agent.enroll-token').execute()).toEqual([{ actor: 'admin1' }]);
    const bad = await app.inject({ method: 'POST', url: '/api/enrollment-tokens', headers: bearer(users.admin!), payload: { expiresInS: 5 } });
    expect(bad.statusCode).toBe(400);
  });
});

describe('POST /api/ingest with source tokens', () => {
  it('refuses a request without a token, with a wrong, revoked or user token (401), storing nothing', async () => {
    const token = await addSource(db, { name: 'gone', format: 'ndjson', createdBy: 'test' });
    await revokeSource(db, 'gone');
    const before = await ingestMessages();
    for (const headers of [{}, bearer('socs_wrong'), bearer(token), bearer(users.admin!)]) {
      const res = await app.inject({ method: 'POST', url: '/api/ingest?source=gone', headers: { 'content-type': 'application/x-ndjson', ...headers }, payload: '{"a":1}\n' });
      expect(res.statusCode, JSON.stringify(headers)).toBe(401);
      expect(res.json()).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    }
    expect(await ingestMessages()).toBe(before);
  });

  it('accepts a token for its own source in its declared format, and 403 for any other source or format', async () => {
    const token = await addSource(db, { name: 'web', format: 'access', createdBy: 'test' });
    const line = '203.0.113.9 - - [22/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 12 "-" "curl/8"';
    const ok = await app.inject({ method: 'POST', url: '/api/ingest', headers: { 'content-type': 'text/plain', ...bearer(token) }, payload: line });
    expect(ok.statusCode, ok.body).toBe(202);
    const batch = await jsm.streams.getMessage('INGEST', { last_by_subj: 'ingest.web' });
    expect(batch).toBeTruthy();
    const before = await ingestMessages();
    for (const url of ['/api/ingest?source=dns', '/api/ingest?source=web&format=json']) {
      const res = await app.inject({ method: 'POST', url, headers: { 'content-type': 'text/plain', ...bearer(token) }, payload: line });
      expect(res.statusCode, url).toBe(403);
    }
    expect(await ingestMessages()).toBe(before);
    await expect(addSource(db, { name: 'web', format: 'json', createdBy: 'test' })).rejects.toThrow(/already exists/);
    const rotated = await addSource(db, { name: 'web', format: 'access', createdBy: 'test', rotate: true });
    expect((await app.inject({ method: 'POST', url: '/api/ingest', headers: { 'content-type': 'text/plain', ...bearer(token) }, payload: line })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/api/ingest', headers: { 'content-type': 'text/plain', ...bearer(rotated) }, payload: line })).statusCode).toBe(202);
  });

  it('answers 413 to an oversized body and 400 to a malformed one, storing nothing', async () => {
    const token = await addSource(db, { name: 'json-src', format: 'json', createdBy: 'test' });
    const before = await ingestMessages();
    const big = await app.inject({ method: 'POST', url: '/api/ingest', headers: { 'content-type': 'application/json', ...bearer(token) }, payload: JSON.stringify({ x: 'y'.repeat(5000) }) });
    expect(big.statusCode).toBe(413);
    const bad = await app.inject({ method: 'POST', url: '/api/ingest', headers: { 'content-type': 'application/json', ...bearer(token) }, payload: '[{"a":1}, {"b": ]' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(await ingestMessages()).toBe(before);
  });

  it('limits requests per token, not per address', async () => {
    const limited = await makeApp({ INGEST_RATE_LIMIT_PER_MIN: '2' });
    const a = await addSource(db, { name: 'rate-a', format: 'ndjson', createdBy: 'test' });
    const b = await addSource(db, { name: 'rate-b', format: 'ndjson', createdBy: 'test' });
    const post = async (t: string) => (await limited.inject({ method: 'POST', url: '/api/ingest', headers: { 'content-type': 'application/x-ndjson', ...bearer(t) }, payload: '{"a":1}\n' })).statusCode;
    expect([await post(a), await post(a), await post(a)]).toEqual([202, 202, 429]);
    expect(await post(b)).toBe(202);
  });

  it('accepts anonymous posts only when INGEST_ALLOW_ANONYMOUS is set, still checking a token that is sent', async () => {
    const open = await makeApp({ INGEST_ALLOW_ANONYMOUS: 'true' });
    expect((await open.inject({ method: 'POST', url: '/api/ingest?source=dev', headers: { 'content-type': 'application/x-ndjson' }, payload: '{"a":1}\n' })).statusCode).toBe(202);
    expect((await open.inject({ method: 'POST', url: '/api/ingest?source=dev', headers: { 'content-type': 'application/x-ndjson', ...bearer('socs_wrong') }, payload: '{"a":1}\n' })).statusCode).toBe(401);
    expect(config.INGEST_ALLOW_ANONYMOUS).toBe(false);
  });
});

describe('CORS', () => {
  it('answers the listed origin only', async () => {
    const pre = (origin: string) => app.inject({ method: 'OPTIONS', url: '/api/ingest', headers: { origin, 'access-control-request-method': 'POST' } });
    expect((await pre('https://soc.example')).headers['access-control-allow-origin']).toBe('https://soc.example');
    expect((await pre('https://evil.example')).headers['access-control-allow-origin']).toBeUndefined();
  });

  it('refuses * in CORS_ORIGINS', () => {
    expect(() => loadConfig({}, { CORS_ORIGINS: 'https://a.example,*' })).toThrow(/CORS_ORIGINS.*not accepted/s);
  });
});
