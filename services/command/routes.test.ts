// The agents and commands routes against a real Postgres and nats-server: roles, validation, lifecycle reads.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, injectLogin, startTestNats, type TestDatabase, type TestNats } from '../../test/harness.js';
import { createUser } from '../auth/users.js';
import { loadConfig } from '../core/config.js';
import { createDb, migrateToLatest, type Db } from '../core/db/index.js';
import { createLogger } from '../core/log.js';
import { buildApp } from '../http/app.js';

let nats: TestNats;
let tdb: TestDatabase;
let db: Db;
let nc: NatsConnection;
let app: FastifyInstance;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  [nats, tdb] = await Promise.all([startTestNats(), createTestDatabase()]);
  db = createDb(tdb.url);
  await migrateToLatest(db);
  nc = await connect({ servers: nats.url });
  const config = loadConfig({}, { DATABASE_URL: tdb.url, NATS_URL: nats.url });
  const log = createLogger('command-routes-test', 'silent');
  const deps = { nc, config, log, db: () => db };
  app = await buildApp(deps, { plugins: ['api', 'commands'] });
  for (const role of ['viewer', 'analyst', 'admin'] as const) {
    await createUser(db, `${role}1`, role, `${role}-password`);
    tokens[role] = await injectLogin(app, `${role}1`, `${role}-password`);
  }
  await db.insertInto('agents').values({
    id: 'web-1', hostname: 'web-1', os: 'Debian 12', version: '0.1.0', ips: ['10.0.0.5'], status: 'degraded', status_reason: 'spool full (3 batches, 900 bytes)',
    doc: JSON.stringify({ spoolDepth: 3, queueDepth: 1, dropped: 2, clockSkewMs: -40, lastError: '', intervalS: 10 }),
  }).execute();
});

afterAll(async () => {
  await app?.close();
  await db?.destroy();
  await nc?.close();
  await nats?.close();
  await tdb?.drop();
});

const as = (role: string | undefined) => (role ? { authorization: `Bearer ${tokens[role]}` } : {});

describe('agents and commands over HTTP', () => {
  it('asks for a token on every route, and the admin role to send a command', async () => {
    for (const [method, url] of [['GET', '/api/agents'], ['GET', '/api/agents/web-1'], ['GET', '/api/commands'], ['GET', '/api/commands/x'], ['POST', '/api/agents/web-1/commands']] as const) {
      const res = await app.inject({ method, url, payload: method === 'POST' ? { action: 'ping' } : undefined });
      expect(res.statusCode, url).toBe(401);
    }
    for (const role of ['viewer', 'analyst']) {
      const res = await app.inject({ method: 'POST', url: '/api/agents/web-1/commands', headers: as(role), payload: { action: 'ping' } });
      expect(res.statusCode).toBe(403);
      expect(res.json().message).toContain('needs the admin role');
    }
    expect(await db.selectFrom('commands').select('id').execute()).toEqual([]);
  });

  it('lists agents with their health for a viewer', async () => {
    const res = await app.inject({ method: 'GET', url: '/api/agents', headers: as('viewer') });
    expect(res.statusCode).toBe(200);
    expect(res.json().items).toEqual([expect.objectContaining({
      id: 'web-1', status: 'degraded', statusReason: 'spool full (3 batches, 900 bytes)', spoolDepth: 3, queueDepth: 1, drops: 2, clockSkewMs: -40,
      lastError: null, heartbeatIntervalS: 10, ips: ['10.0.0.5'],
    })]);
    expect((await app.inject({ method: 'GET', url: '/api/agents?status=online', headers: as('viewer') })).json().items).toEqual([]);
    expect((await app.inject({ method: 'GET', url: '/api/agents?status=sleepy', headers: as('viewer') })).statusCode).toBe(400);
    expect((await app.inject({ method: 'GET', url: '/api/agents/nope', headers: as('viewer') })).statusCode).toBe(404);
  });

  it('queues a valid command for an admin, audits it, and refuses bad ones with the reason', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/agents/web-1/commands', headers: as('admin'), payload: { action: 'set-interval', args: { seconds: 30 }, expiresInS: 600 } });
    expect(res.statusCode, res.body).toBe(202);
    const cmd = res.json();
    expect(cmd).toMatchObject({ agentId: 'web-1', action: 'set-interval', args: { seconds: '30' }, status: 'queued', issuedBy: 'admin1', deliveredAt: null });
    expect(Date.parse(cmd.expiresAt) - Date.parse(cmd.issuedAt)).toBe(600_000);
    const audit = await db.selectFrom('audit_log').selectAll().where('action', '=', 'command.create').execute();
    expect(audit).toEqual([expect.objectContaining({ actor: 'admin1', target: 'agent:web-1' })]);

    const shown = await app.inject({ method: 'GET', url: `/api/commands/${cmd.id}`, headers: as('viewer') });
    expect(shown.json()).toEqual(cmd);
    const listed = await app.inject({ method: 'GET', url: '/api/commands?agent=web-1&status=queued', headers: as('viewer') });
    expect(listed.json().items.map((c: { id: string }) => c.id)).toEqual([cmd.id]);
    expect((await app.inject({ method: 'GET', url: '/api/agents/web-1', headers: as('viewer') })).json().commands).toHaveLength(1);

    const bad = async (payload: object, url = '/api/agents/web-1/commands') => {
      const r = await app.inject({ method: 'POST', url, headers: as('admin'), payload });
      return { status: r.statusCode, message: (r.json() as { message: string }).message };
    };
    expect(await bad({ action: 'format-disk' })).toEqual({ status: 400, message: expect.stringContaining('unknown action "format-disk" (allowed: ping,') });
    expect(await bad({ action: 'kill-process', args: { pid: 12 } })).toEqual({ status: 400, message: expect.stringContaining('bad arguments for kill-process: start:') });
    expect(await bad({ action: 'ping', args: { extra: 'x' } })).toEqual({ status: 400, message: 'bad arguments for ping: unknown argument(s) extra' });
    expect((await bad({ action: 'ping', expiresInS: 0 })).status).toBe(400);
    expect(await bad({ action: 'ping' }, '/api/agents/ghost/commands')).toEqual({ status: 404, message: 'no agent "ghost" has ever sent a heartbeat' });
    expect((await bad({ action: 'ping' }, '/api/agents/bad%20id/commands')).status).toBe(400);
    expect(await db.selectFrom('commands').select('id').execute()).toHaveLength(1);
    // Refused commands are audited: who tried what on which agent.
    const refused = await db.selectFrom('audit_log').select(['actor', 'target', 'detail']).where('action', '=', 'command.refused').orderBy('id').execute();
    expect(refused.map((r) => [r.actor, r.target, (r.detail as { action: string }).action])).toEqual([
      ['admin1', 'agent:web-1', 'format-disk'], ['admin1', 'agent:web-1', 'kill-process'], ['admin1', 'agent:web-1', 'ping'],
    ]);
  });
});
