// The analysts' plane against CSRF, guessing and snooping: the CSRF header and Origin allow-list, sign-in throttling,
// the password policy, user lifecycle, the audit API, security headers and /metrics (issue 18), on real Postgres and NATS.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMON_PASSWORDS } from '../services/auth/common-passwords.js';
import { createUser, passwordProblem } from '../services/auth/users.js';
import { loadConfig, type Config } from '../services/core/config.js';
import { createDb, migrateToLatest, type Db } from '../services/core/db/index.js';
import { createLogger } from '../services/core/log.js';
import { buildApp } from '../services/http/app.js';
import { createTestDatabase, injectLogin, startTestNats, type TestDatabase, type TestNats } from './harness.js';

let nats: TestNats;
let tdb: TestDatabase;
let db: Db;
let nc: NatsConnection;
let app: FastifyInstance;
const apps: FastifyInstance[] = [];
const METRICS = 'a-metrics-token-of-some-length';

async function makeApp(overrides: Partial<Record<keyof Config, string>> = {}): Promise<FastifyInstance> {
  const config = loadConfig({}, { DATABASE_URL: tdb.url, NATS_URL: nats.url, CORS_ORIGINS: 'https://soc.example', METRICS_TOKEN: METRICS, ...overrides });
  const a = await buildApp({ nc, config, log: createLogger('security-analyst-test', 'silent'), db: () => db }, { plugins: ['ingest', 'api', 'commands', 'enroll'] });
  apps.push(a);
  return a;
}

beforeAll(async () => {
  [nats, tdb] = await Promise.all([startTestNats(), createTestDatabase()]);
  db = createDb(tdb.url);
  await migrateToLatest(db);
  nc = await connect({ servers: nats.url });
  app = await makeApp();
  await createUser(db, 'root', 'admin', 'admin-password-long');
  await createUser(db, 'vic', 'viewer', 'viewer-password-long');
}, 120_000);

afterAll(async () => {
  for (const a of apps) await a.close();
  await nc?.close();
  await db?.destroy();
  await tdb?.drop();
  await nats?.close();
});

const auditRows = (action: string) => db.selectFrom('audit_log').selectAll().where('action', '=', action).orderBy('id').execute();

describe('CSRF', () => {
  it('refuses a state-changing request that rides on the session cookie without the header, form posts included', async () => {
    const session = await injectLogin(app, 'root', 'admin-password-long');
    const cookie = `soc_session=${session}`;
    // What a form of another page can send: text/plain or urlencoded, the cookie, no custom header.
    for (const [url, type] of [['/api/dlq/retry', 'text/plain'], ['/api/logout', 'application/x-www-form-urlencoded'], ['/api/agents/a1/revoke', 'text/plain']] as const) {
      const res = await app.inject({ method: 'POST', url, headers: { cookie, 'content-type': type }, payload: 'x=1' });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(403);
      expect(res.json().message).toMatch(/x-minisoc-request/);
    }
    const ok = await app.inject({ method: 'POST', url: '/api/dlq/retry', headers: { cookie, 'x-minisoc-request': '1' } });
    expect(ok.statusCode, ok.body).toBe(200);
    // The session still works: the refused logout did nothing.
    expect((await app.inject({ method: 'GET', url: '/api/me', headers: { cookie } })).statusCode).toBe(200);
    // A refusal of someone signed in is audited, with the origin it came from.
    const denied = await auditRows('http.forbidden');
    expect(denied.map((r) => r.target)).toEqual(expect.arrayContaining(['POST /api/dlq/retry', 'POST /api/logout']));
    expect(denied.every((r) => r.actor === 'root')).toBe(true);
  });

  it('refuses a foreign Origin on any route, and accepts the app\'s own and CORS_ORIGINS', async () => {
    const session = await injectLogin(app, 'root', 'admin-password-long');
    const headers = { cookie: `soc_session=${session}`, 'x-minisoc-request': '1' };
    const foreign = await app.inject({ method: 'POST', url: '/api/dlq/retry', headers: { ...headers, origin: 'http://localhost:9999' } });
    expect(foreign.statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/api/me', headers: { ...headers, origin: 'http://evil.example' } })).statusCode).toBe(403);
    expect((await app.inject({ method: 'POST', url: '/api/dlq/retry', headers: { ...headers, origin: 'http://localhost:80', host: 'localhost:80' } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'POST', url: '/api/dlq/retry', headers: { ...headers, origin: 'https://soc.example' } })).statusCode).toBe(200);
  });

  it('needs the header for sign-in too, but not for Bearer clients, agents enrolling or ingest', async () => {
    const login = await app.inject({ method: 'POST', url: '/api/login', payload: { name: 'root', password: 'admin-password-long' } });
    expect(login.statusCode).toBe(403);
    const session = await injectLogin(app, 'root', 'admin-password-long');
    expect((await app.inject({ method: 'POST', url: '/api/dlq/retry', headers: { authorization: `Bearer ${session}` } })).statusCode).toBe(200);
    // The enrollment route answers on its own terms (no NATS keys here: 503), not with the CSRF refusal.
    const enroll = await app.inject({ method: 'POST', url: '/api/enroll', payload: { token: 'soce_x', agentId: 'a1', publicKey: 'U'.repeat(56) } });
    expect(enroll.statusCode).not.toBe(403);
    const ingest = await app.inject({ method: 'POST', url: '/api/ingest?source=web', headers: { 'content-type': 'application/x-ndjson' }, payload: '{"message":"x"}\n' });
    expect(ingest.statusCode).toBe(401);
  });

  it('answers sign-in with the cookie only: no token in the body', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/login', headers: { 'x-minisoc-request': '1' }, payload: { name: 'vic', password: 'viewer-password-long' } });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toMatch(/token/i);
    expect(Object.keys(res.json() as object).sort()).toEqual(['expiresAt', 'user']);
  });
});

describe('sign-in throttling', () => {
  const login = (a: FastifyInstance, name: string, password: string, remoteAddress: string) =>
    a.inject({ method: 'POST', url: '/api/login', remoteAddress, headers: { 'x-minisoc-request': '1' }, payload: { name, password } });

  it('locks an account after 5 wrong passwords, even for the right one, and audits the lockout', async () => {
    const a = await makeApp();
    await createUser(db, 'tess', 'viewer', 'tess-password-long');
    for (let i = 0; i < 5; i++) expect((await login(a, 'tess', `wrong-${i}`, `10.1.0.${i}`)).statusCode).toBe(401);
    const locked = await login(a, 'tess', 'tess-password-long', '10.1.0.99');
    expect(locked.statusCode).toBe(429);
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await auditRows('login.locked')).some((r) => r.target === 'tess')).toBe(true);
    // Another account from the same addresses is not affected.
    expect((await login(a, 'vic', 'viewer-password-long', '10.1.0.1')).statusCode).toBe(200);
  });

  it('locks an address after 20 failures across names, and then writes no more login.failed rows', async () => {
    const a = await makeApp();
    const before = (await auditRows('login.failed')).length;
    for (let i = 0; i < 20; i++) expect((await login(a, `nobody${i}`, 'x', '10.2.0.1')).statusCode).toBe(401);
    for (let i = 0; i < 50; i++) expect((await login(a, `nobody${i}`, 'x', '10.2.0.1')).statusCode).toBe(429);
    expect((await login(a, 'vic', 'viewer-password-long', '10.2.0.1')).statusCode).toBe(429);
    expect((await auditRows('login.failed')).length - before).toBe(20);
    expect((await login(a, 'vic', 'viewer-password-long', '10.2.0.2')).statusCode).toBe(200);
  });

  it('keeps the attempted name short and printable in the audit log', async () => {
    const a = await makeApp();
    const hostile = `x\u001b[31mred\n${"y".repeat(40)}`;
    expect((await login(a, hostile, 'x', '10.3.0.1')).statusCode).toBe(401);
    const row = (await auditRows('login.failed')).at(-1)!;
    expect(row.actor).toBe('anonymous');
    expect(row.target).toMatch(/^[\x21-\x7e]{1,64}$/);
    expect(row.target!.startsWith('x?[31mred?y')).toBe(true);
  });
});

describe('password policy', () => {
  it('refuses short and common passwords, the shipped list and its leetspeak included', () => {
    expect(passwordProblem('password')).toMatch(/at least 12/);
    expect(passwordProblem('password1234')).toMatch(/commonly used/);
    expect(passwordProblem('P4ssw0rd1234')).toMatch(/commonly used/);
    expect(passwordProblem('aaaaaaaaaaaaaa')).not.toBeNull();
    expect(passwordProblem('qwertyuiop123')).toMatch(/commonly used/);
    expect(passwordProblem('violet tram ledger 9')).toBeNull();
    expect(COMMON_PASSWORDS.length).toBeGreaterThan(3000);
    expect(COMMON_PASSWORDS.every((p) => p.length >= 12 && p === p.toLowerCase())).toBe(true);
  });

  it('is applied when an admin adds a user through the API', async () => {
    const session = await injectLogin(app, 'root', 'admin-password-long');
    const res = await app.inject({ method: 'POST', url: '/api/users', headers: { authorization: `Bearer ${session}` }, payload: { name: 'weak', role: 'viewer', password: 'letmein12345' } });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toMatch(/commonly used/);
  });
});

describe('user lifecycle', () => {
  it('lets an admin disable, re-enable, reset the password of, change the role of and sign out a user, each audited', async () => {
    await createUser(db, 'uma', 'analyst', 'uma-password-long');
    const admin = { authorization: `Bearer ${await injectLogin(app, 'root', 'admin-password-long')}` };
    const as = async (password: string) => injectLogin(app, 'uma', password);
    const me = async (token: string) => (await app.inject({ method: 'GET', url: '/api/me', headers: { authorization: `Bearer ${token}` } }));

    let uma = await as('uma-password-long');
    expect((await app.inject({ method: 'PATCH', url: '/api/users/uma', headers: admin, payload: { disabled: true } })).statusCode).toBe(200);
    expect((await me(uma)).statusCode).toBe(401);
    await expect(as('uma-password-long')).rejects.toThrow(/401/);
    expect((await app.inject({ method: 'PATCH', url: '/api/users/uma', headers: admin, payload: { disabled: false } })).statusCode).toBe(200);

    uma = await as('uma-password-long');
    expect((await app.inject({ method: 'POST', url: '/api/users/uma/password', headers: admin, payload: { password: 'qwerty123456' } })).statusCode).toBe(400);
    expect((await app.inject({ method: 'POST', url: '/api/users/uma/password', headers: admin, payload: { password: 'a brand new secret 7' } })).statusCode).toBe(200);
    expect((await me(uma)).statusCode).toBe(401);
    await expect(as('uma-password-long')).rejects.toThrow(/401/);

    uma = await as('a brand new secret 7');
    expect((await app.inject({ method: 'PATCH', url: '/api/users/uma', headers: admin, payload: { role: 'viewer' } })).statusCode).toBe(200);
    expect((await me(uma)).statusCode).toBe(401);
    uma = await as('a brand new secret 7');
    expect((await me(uma)).json()).toEqual({ user: { name: 'uma', role: 'viewer' } });

    const ended = await app.inject({ method: 'DELETE', url: '/api/users/uma/sessions', headers: admin });
    expect(ended.json()).toEqual({ name: 'uma', ended: 1 });
    expect((await me(uma)).statusCode).toBe(401);

    expect((await app.inject({ method: 'PATCH', url: '/api/users/nobody', headers: admin, payload: { disabled: true } })).statusCode).toBe(404);
    expect((await app.inject({ method: 'PATCH', url: '/api/users/root', headers: admin, payload: { disabled: true } })).statusCode).toBe(409);
    const actions = (await db.selectFrom('audit_log').select('action').where('target', '=', 'uma').where('actor', '=', 'root').execute()).map((r) => r.action);
    expect(actions).toEqual(expect.arrayContaining(['user.update', 'user.password-reset', 'user.sessions-end']));
  });

  it('is for admins only', async () => {
    const viewer = { authorization: `Bearer ${await injectLogin(app, 'vic', 'viewer-password-long')}` };
    for (const [method, url, payload] of [['PATCH', '/api/users/root', { disabled: true }], ['POST', '/api/users/root/password', { password: 'a brand new secret 7' }], ['DELETE', '/api/users/root/sessions', undefined]] as const) {
      expect((await app.inject({ method, url, headers: viewer, payload })).statusCode).toBe(403);
    }
  });
});

describe('GET /api/audit', () => {
  it('filters by actor, action (or family) and time, for admins only, with logouts recorded', async () => {
    const vic = await injectLogin(app, 'vic', 'viewer-password-long');
    expect((await app.inject({ method: 'GET', url: '/api/audit', headers: { authorization: `Bearer ${vic}` } })).statusCode).toBe(403);
    await app.inject({ method: 'POST', url: '/api/logout', headers: { authorization: `Bearer ${vic}` } });
    const admin = { authorization: `Bearer ${await injectLogin(app, 'root', 'admin-password-long')}` };
    const get = async (q: string) => {
      const res = await app.inject({ method: 'GET', url: `/api/audit${q}`, headers: admin });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { items: { actor: string; action: string; target: string | null; at: string }[]; nextCursor: string | null };
    };
    const denials = await get('?actor=vic&action=http.forbidden');
    expect(denials.items.map((i) => i.target)).toContain('GET /api/audit');
    expect((await get('?actor=vic&action=logout')).items).toHaveLength(1);
    const logins = await get('?action=login.*&since=1h&limit=3');
    expect(logins.items).toHaveLength(3);
    expect(logins.items.every((i) => i.action.startsWith('login'))).toBe(true);
    const next = await get(`?action=login.*&since=1h&limit=3&cursor=${logins.nextCursor}`);
    expect(next.items[0]!.at <= logins.items[2]!.at).toBe(true);
    expect((await get(`?since=${new Date(Date.now() + 3600_000).toISOString()}`)).items).toHaveLength(0);
  });
});

describe('analysts\' reads', () => {
  it('run on their own pool with a statement timeout: a stuck search answers 503 while sign-in and writes go on', async () => {
    const a = await makeApp({ ANALYST_QUERY_TIMEOUT_MS: '500' });
    const admin = { authorization: `Bearer ${await injectLogin(a, 'root', 'admin-password-long')}` };
    // Another session holds the alerts table, as a long query would hold the time of the pool.
    const blocker = new pg.Client({ connectionString: tdb.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE alerts IN ACCESS EXCLUSIVE MODE');
      const slow = await a.inject({ method: 'GET', url: '/api/incidents', headers: admin });
      expect(slow.statusCode, slow.body).toBe(503);
      expect(slow.json().message).toMatch(/ANALYST_QUERY_TIMEOUT_MS/);
      expect((await a.inject({ method: 'GET', url: '/api/me', headers: admin })).statusCode).toBe(200);
      expect((await a.inject({ method: 'POST', url: '/api/dlq/retry', headers: admin })).statusCode).toBe(200);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    expect((await a.inject({ method: 'GET', url: '/api/incidents', headers: admin })).statusCode).toBe(200);
  });
});

describe('headers and /metrics', () => {
  it('sends a CSP with frame-ancestors none, nosniff, and HSTS only under TLS', async () => {
    const res = await app.inject({ method: 'GET', url: '/livez' });
    expect(res.headers['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    expect(res.headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });

  it('serves /metrics to the metrics token or an admin only', async () => {
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer wrong-token-wrong-token' } })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${await injectLogin(app, 'vic', 'viewer-password-long')}` } })).statusCode).toBe(403);
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS}` } })).statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/metrics', headers: { cookie: `soc_session=${await injectLogin(app, 'root', 'admin-password-long')}` } })).statusCode).toBe(200);
  });
});
