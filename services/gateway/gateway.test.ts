// The gateway against a real nats-server, a real database for sessions and real WebSocket clients.
import type { FastifyInstance } from 'fastify';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createTestDatabase, startTestNats, waitFor, type TestDatabase, type TestNats } from '../../test/harness.js';
import { createToken, createUser, setDisabled } from '../auth/users.js';
import { loadConfig } from '../core/config.js';
import { createDb, migrateToLatest, type Db } from '../core/db/index.js';
import { createLogger } from '../core/log.js';
import { AgentStatus, Alert, EventBatch, type Event } from '../core/proto.js';
import { subjects } from '../core/topology.js';
import { buildApp } from '../http/app.js';
import type { GatewayLimits } from './index.js';

const METRICS = 'metrics-token-for-the-gateway-test';
let nats: TestNats;
let database: TestDatabase;
let db: Db;
let nc: NatsConnection;
let app: FastifyInstance;
let wsUrl: string;
let token: string;

const MAX_ITEMS = 5;

/** The HTTP app with only the gateway on it, listening on a free port. */
async function startGateway(limits: Partial<GatewayLimits>): Promise<{ app: FastifyInstance; wsUrl: string }> {
  const log = createLogger('gateway-test', 'silent');
  const config = loadConfig({}, { METRICS_TOKEN: METRICS });
  const app = await buildApp({ nc, config, log, db: () => db }, { plugins: ['gateway'], gateway: { lagIntervalMs: 500, limits, sessionCheckMs: 200 } });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return { app, wsUrl: url.replace(/^http/, 'ws') + '/ws' };
}

beforeAll(async () => {
  [nats, database] = await Promise.all([startTestNats(), createTestDatabase()]);
  db = createDb(database.url);
  await migrateToLatest(db);
  await createUser(db, 'ana', 'analyst', 'correct horse battery staple');
  ({ token } = await createToken(db, 'ana', 'session', 3_600_000));
  nc = await connect({ servers: nats.url });
  // Few items per flush, so that sampling shows with a few thousand events.
  ({ app, wsUrl } = await startGateway({ flushIntervalMs: 100, maxItemsPerFlush: MAX_ITEMS }));
});

afterAll(async () => {
  await app?.close();
  await nc?.close();
  await db?.destroy();
  await database?.drop();
  await nats?.close();
});

type Msg = Record<string, any>;

/** A connected client that records every message it gets. */
async function client(query = '', headers: Record<string, string> = { authorization: `Bearer ${token}` }, url = wsUrl): Promise<{ ws: WebSocket; msgs: Msg[]; next(type: string, after?: number): Promise<Msg> }> {
  const ws = new WebSocket(url + query, { headers });
  const msgs: Msg[] = [];
  ws.on('message', (d) => msgs.push(JSON.parse(d.toString()) as Msg));
  await new Promise<void>((res, rej) => { ws.once('open', () => res()); ws.once('error', rej); });
  const next = (type: string, after = 0) => waitFor(`a ${type} message`, () => msgs.slice(after).find((m) => m.type === type), 30_000, 20);
  await next('hello');
  return { ws, msgs, next };
}

function event(i: number, host: string, message = `GET /page/${i}`): Event {
  return { id: `e${i}`, timestamp: new Date(Date.UTC(2026, 10, 22, 10, 0, 0, i)).toISOString(), source_id: 'web', host: { name: host }, event: { category: ['web'], action: 'request' }, source: { ip: `10.0.0.${i % 250}` }, message };
}

function publishBatch(source: string, events: Event[]): void {
  nc.publish(subjects.enriched(source), EventBatch.encode({ source_id: source, events }).finish());
}

const totals = (msgs: Msg[]) => msgs.filter((m) => m.type === 'events').reduce((n, m) => n + (m.total as number), 0);

describe('gateway /ws', () => {
  it('refuses an upgrade without a session, or with a token it does not know, with 401', async () => {
    for (const query of ['', '?token=not-a-real-token']) {
      const status = await new Promise<number>((res, rej) => {
        const ws = new WebSocket(wsUrl + query);
        ws.on('unexpected-response', (_req, r) => { res(r.statusCode ?? 0); ws.terminate(); });
        ws.on('open', () => rej(new Error('the upgrade was accepted')));
        ws.on('error', () => undefined);
      });
      expect(status).toBe(401);
    }
  });

  /** The status an upgrade is refused with (the test fails if it is accepted). */
  const refusal = (url: string, headers: Record<string, string> = {}) => new Promise<number>((res, rej) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_req, r) => { res(r.statusCode ?? 0); ws.terminate(); });
    ws.on('open', () => rej(new Error('the upgrade was accepted')));
    ws.on('error', () => undefined);
  });

  it('takes no token from the URL, where logs and history would keep it', async () => {
    expect(await refusal(`${wsUrl}?token=${token}`)).toBe(401);
  });

  it('refuses an upgrade from a foreign Origin, even with a valid session, and accepts its own', async () => {
    expect(await refusal(wsUrl, { cookie: `soc_session=${token}`, origin: 'http://127.0.0.1:1' })).toBe(403);
    const own = await client('', { cookie: `soc_session=${token}`, origin: new URL(wsUrl.replace(/^ws/, 'http')).origin });
    own.ws.close();
  });

  /** A socket of a fresh session of `user`; resolves with the close code once the server closes it. */
  async function watched(user: string, ttlMs = 3_600_000) {
    const session = (await createToken(db, user, 'session', ttlMs)).token;
    const c = await client('', { authorization: `Bearer ${session}` });
    const closed = new Promise<number>((res) => c.ws.once('close', (code) => res(code)));
    return { session, closed };
  }

  it('closes a socket once its session ends: logout, the user disabled, expiry', async () => {
    await createUser(db, 'lou', 'analyst', 'a long enough password');
    const byLogout = await watched('lou');
    const res = await app.inject({ method: 'POST', url: '/api/logout', headers: { authorization: `Bearer ${byLogout.session}` } });
    expect(res.statusCode).toBe(200);
    expect(await byLogout.closed).toBe(4001);

    // As `soc users disable` does it, from another process: the periodic check finds it.
    const byDisable = await watched('lou');
    await setDisabled(db, 'lou', true);
    expect(await byDisable.closed).toBe(4001);
    await setDisabled(db, 'lou', false);

    const byExpiry = await watched('lou', 1500);
    expect(await byExpiry.closed).toBe(4001);
  });

  it('accepts the session cookie and greets with the user', async () => {
    const c = await client('', { cookie: `other=1; soc_session=${token}` });
    expect(c.msgs[0]).toEqual({ type: 'hello', user: { name: 'ana', role: 'analyst' } });
    c.ws.close();
  });

  it('samples events for display while every total stays exact, and applies each client filter', async () => {
    const all = await client();
    const web1 = await client();
    const needle = await client();
    web1.ws.send(JSON.stringify({ type: 'filter', hostName: 'web-1' }));
    needle.ws.send(JSON.stringify({ type: 'filter', q: 'NEEDLE' }));
    expect((await web1.next('filter')).filter).toEqual({ hostName: 'web-1' });
    await needle.next('filter');

    let n = 0;
    for (let b = 0; b < 20; b++) {
      publishBatch('web', Array.from({ length: 100 }, () => { n++; return event(n, `web-${n % 4}`, n % 10 === 0 ? `payload with needle ${n}` : `GET /page/${n}`); }));
      await new Promise((r) => setTimeout(r, 10));
    }
    await waitFor('all 2,000 events counted', () => totals(all.msgs) >= 2000, 30_000);
    await waitFor('the 500 events of web-1 counted', () => totals(web1.msgs) >= 500, 30_000);
    await waitFor('the 200 needles counted', () => totals(needle.msgs) >= 200, 30_000);
    // A marker batch published after them arrives after them: nothing more came for the 2,000 meanwhile.
    publishBatch('web', [event(n + 1, 'web-9', 'marker')]);
    await waitFor('the marker counted', () => totals(all.msgs) >= 2001, 30_000);
    expect(totals(all.msgs)).toBe(2001);
    expect(totals(web1.msgs)).toBe(500);
    expect(totals(needle.msgs)).toBe(200);

    const batches = all.msgs.filter((m) => m.type === 'events');
    expect(Math.max(...batches.map((m) => m.items.length))).toBeLessThanOrEqual(MAX_ITEMS);
    expect(batches.some((m) => m.items.length < m.total)).toBe(true);
    expect(batches[0].items[0]).toMatchObject({ sourceId: 'web', category: ['web'], action: 'request' });
    expect(web1.msgs.filter((m) => m.type === 'events').flatMap((m) => m.items).every((e: Msg) => e.hostName === 'web-1')).toBe(true);
    expect(needle.msgs.filter((m) => m.type === 'events').flatMap((m) => m.items).every((e: Msg) => /needle/.test(e.message))).toBe(true);

    const stats = await all.next('stats', all.msgs.findIndex((m) => m.type === 'events'));
    expect(stats).toHaveProperty('perSource');
    expect(stats).toHaveProperty('lag');
    for (const c of [all, web1, needle]) c.ws.close();
  });

  it('counts nothing while a client is paused, and again after it resumes', async () => {
    const c = await client();
    c.ws.send(JSON.stringify({ type: 'pause' }));
    expect(await c.next('paused')).toEqual({ type: 'paused', paused: true });
    // A client that is not paused witnesses that the gateway sent those events to whoever listened.
    const witness = await client();
    publishBatch('web', [event(1, 'web-0'), event(2, 'web-0')]);
    await waitFor('the witness to count both events', () => totals(witness.msgs) === 2, 30_000);
    expect(totals(c.msgs)).toBe(0);
    witness.ws.close();
    const at = c.msgs.length;
    c.ws.send(JSON.stringify({ type: 'resume' }));
    await c.next('paused', at);
    publishBatch('web', [event(3, 'web-0')]);
    await waitFor('the event after resume', () => totals(c.msgs) === 1, 30_000);
    c.ws.close();
  });

  it('passes alerts and agent status changes on as incident and agent items', async () => {
    const c = await client();
    nc.publish(subjects.alert('high'), Alert.encode({
      id: 'a1', rule_id: 'r1', rule_title: 'SSH brute force', level: 'high', score: 72, timestamp: '2026-11-22T10:00:05Z', first_seen: '2026-11-22T10:00:00Z',
      count: 12, host_name: 'web-1', source_ip: '203.0.113.9', techniques: [{ id: 'T1110', name: 'Brute Force', tactics: ['credential-access'] }],
    }).finish());
    nc.publish(subjects.agentStatus('ag1'), AgentStatus.encode({ agent_id: 'ag1', status: 'offline', previous: 'online', reason: 'missed 3 heartbeats', changed_ms: 1_795_000_000_000, last_seen_ms: 1_794_999_970_000 }).finish());
    expect((await c.next('alert')).alert).toMatchObject({
      id: 'a1', ruleId: 'r1', level: 'high', score: 72, status: 'open', count: 12, techniques: ['T1110'], tactics: ['credential-access'],
      hostName: 'web-1', sourceIp: '203.0.113.9', firstSeen: '2026-11-22T10:00:00Z', lastSeen: '2026-11-22T10:00:05Z',
    });
    expect((await c.next('agent')).agent).toMatchObject({ id: 'ag1', status: 'offline', statusReason: 'missed 3 heartbeats', lastSeen: new Date(1_794_999_970_000).toISOString() });
    c.ws.close();
  });

  it('answers a bad client message with an error and keeps the connection', async () => {
    const c = await client();
    c.ws.send('not json');
    expect((await c.next('error')).message).toBe('messages must be JSON');
    const at = c.msgs.length;
    c.ws.send(JSON.stringify({ type: 'filter', hostName: 42 }));
    expect((await c.next('error', at)).message).toBe('filter.hostName must be a string');
    c.ws.send(JSON.stringify({ type: 'filter', hostName: 'x' }));
    await c.next('filter');
    expect(c.ws.readyState).toBe(WebSocket.OPEN);
    c.ws.close();
  });

  it('drops a client that never reads, while another keeps receiving', async () => {
    // Many items per flush and a low bound, so that a stuck client's queue passes it within seconds.
    const gw = await startGateway({ flushIntervalMs: 100, maxItemsPerFlush: 2000, slowBufferBytes: 64 * 1024, slowClientTimeoutMs: 1500 });
    const droppedBefore = await droppedCount();
    const stuck = await client(undefined, undefined, gw.wsUrl);
    const reader = await client(undefined, undefined, gw.wsUrl);
    reader.ws.send(JSON.stringify({ type: 'filter', hostName: 'quiet' }));
    await reader.next('filter');
    // The stuck client stops reading its socket: once the kernel buffers are full, the server's queue grows.
    stuck.ws.pause();
    const long = 'x'.repeat(380);
    let n = 0;
    await waitFor('the stuck client to be dropped', async () => {
      for (let b = 0; b < 5; b++) publishBatch('flood', Array.from({ length: 200 }, () => event(++n, `flood-${n % 3}`, `${long} ${n}`)));
      return (await droppedCount()) > droppedBefore;
    }, 90_000, 50);
    const at = reader.msgs.length;
    publishBatch('web', [event(1, 'quiet', 'still here')]);
    const msg = await reader.next('events', at);
    expect(msg.items.map((e: Msg) => e.message)).toEqual(['still here']);
    expect(reader.ws.readyState).toBe(WebSocket.OPEN);
    expect(reader.msgs.some((m) => m.type === 'dropped')).toBe(false);
    reader.ws.close();
    stuck.ws.terminate();
    await gw.app.close();
  });
});

async function droppedCount(): Promise<number> {
  const res = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${METRICS}` } });
  expect(res.statusCode).toBe(200);
  const text = res.body;
  const m = /^minisoc_gateway_clients_dropped_total (\d+)/m.exec(text);
  return m ? Number(m[1]) : 0;
}
