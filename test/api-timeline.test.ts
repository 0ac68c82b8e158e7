// The investigation timeline against a real Postgres and nats-server: GET /api/timeline (order across events and alerts of
// several sources, roles, neighbours, keyset pages, bad entities, roles, the analysts' statement timeout) and `soc timeline`.
import { rmSync } from 'node:fs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../services/auth/users.js';
import { loadConfig } from '../services/core/config.js';
import { createDb, ensurePartitions, migrateToLatest, type Db } from '../services/core/db/index.js';
import { createLogger } from '../services/core/log.js';
import { ensureTopology } from '../services/core/topology.js';
import { buildApp } from '../services/http/app.js';
import { alertRow } from '../services/store/core.js';
import { insertAlerts } from '../services/store/sink.js';
import { createTestDatabase, injectLogin, runCli, startTestNats, tempDir, type TestDatabase, type TestNats } from './harness.js';

let nats: TestNats;
let tdb: TestDatabase;
let db: Db;
let nc: NatsConnection;
let app: FastifyInstance;
let dir: string;
const apps: FastifyInstance[] = [];
let viewer: string;

const at = (hhmmss: string) => `2026-11-20T${hhmmss}.000Z`;
const WINDOW = `since=${at('09:30:00')}&until=${at('11:00:00')}`;

interface Ev { id: string; ts: string; source: string; host?: string; user?: string; src?: string; dst?: string; process?: string; exe?: string; message?: string; action?: string }
const event = (e: Ev) => ({
  id: e.id, ts: e.ts, source_id: e.source, kind: 'event', category: [], action: e.action ?? null, outcome: null, host_name: e.host ?? null, agent_id: null,
  user_name: e.user ?? null, source_ip: e.src ?? null, source_port: null, destination_ip: e.dst ?? null, destination_port: null,
  process_name: e.process ?? null, message: e.message ?? null, tags: [],
  doc: JSON.stringify({ '@timestamp': e.ts, event: { id: e.id }, ...(e.process ? { process: { name: e.process, executable: e.exe } } : {}) }),
});

async function seed(): Promise<void> {
  const now = Date.now();
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  await ensurePartitions(db, ['2026-11-20', day(now), day(now - 25 * 3600_000)]);
  await db.insertInto('events').values([
    // Three sources (firewall, auth log, endpoint) around one address, 10.1.0.5.
    event({ id: 'x1', ts: at('10:00:00'), source: 'fw', host: 'gw-1', src: '10.1.0.5', dst: '203.0.113.9', message: 'allowed tcp 10.1.0.5:50500 -> 203.0.113.9:443' }),
    event({ id: 'x2', ts: at('10:01:00'), source: 'auth', host: 'web-1', user: 'alice', src: '203.0.113.9', dst: '10.1.0.5', message: 'Failed password for alice\nfrom 203.0.113.9   port 22' }),
    event({ id: 'x3', ts: at('10:02:00'), source: 'edr', host: 'web-1', user: 'alice', src: '10.1.0.5', process: 'sshd', exe: '/usr/sbin/sshd', action: 'process-started' }),
    event({ id: 'x4', ts: at('10:03:00'), source: 'fw', host: 'gw-1', src: '10.1.0.5', dst: '10.1.0.5', message: 'hairpin' }),
    event({ id: 'x5', ts: at('10:04:00'), source: 'auth', host: 'db-1', user: 'bob', src: '10.1.0.7', message: 'Accepted password for bob' }),
    event({ id: 'x6', ts: at('10:05:00'), source: 'edr', host: 'db-1', process: 'sshd', exe: '/opt/sshd', message: 'another sshd' }),
    event({ id: 'x0', ts: at('09:00:00'), source: 'fw', host: 'gw-1', src: '10.1.0.5', dst: '198.51.100.1', message: 'before the window' }),
    // The default window is the last day: one event inside it, one a day and an hour ago.
    event({ id: 'recent', ts: new Date(now - 3600_000).toISOString(), source: 'fw', src: '192.0.2.44', message: 'an hour ago' }),
    event({ id: 'old', ts: new Date(now - 25 * 3600_000).toISOString(), source: 'fw', src: '192.0.2.44', message: 'a day and an hour ago' }),
  ]).execute();
  const alert = (id: string, rule: string, level: string, first: string, last: string, eventIds: string[], e: { host?: string; user?: string; src?: string; dst?: string; source: string }) =>
    alertRow({
      id, dedup_key: `${rule}:${id}`, rule_id: rule, rule_title: `Rule ${rule}`, level, timestamp: at(last), first_seen: at(first), count: eventIds.length || 1,
      event_ids: eventIds, host_name: e.host, user_name: e.user, source_ip: e.src, destination_ip: e.dst, source_id: e.source,
    }, `m-${id}`);
  await insertAlerts(db, [
    // At 10:01, the same instant as the event it was raised on: the alert comes first.
    alert('al1', 'ssh-brute', 'high', '10:01:00', '10:01:00', ['x2'], { host: 'web-1', user: 'alice', src: '203.0.113.9', dst: '10.1.0.5', source: 'auth' }),
    alert('al2', 'fw-scan', 'medium', '10:00:00', '10:03:30', ['x1', 'x4'], { host: 'gw-1', src: '10.1.0.5', source: 'fw' }),
    alert('al3', 'proc-odd', 'critical', '10:02:00', '10:02:00', ['x3'], { host: 'web-1', source: 'edr' }),
    alert('al4', 'other', 'low', '10:04:00', '10:04:00', ['x5'], { host: 'db-1', user: 'bob', src: '10.1.0.7', source: 'auth' }),
  ]);
}

async function makeApp(overrides: Record<string, string> = {}): Promise<FastifyInstance> {
  const config = loadConfig({}, { DATABASE_URL: tdb.url, NATS_URL: nats.url, RULES_DIR: 'rules', ...overrides });
  const a = await buildApp({ nc, config, log: createLogger('timeline-test', 'silent'), db: () => db }, { plugins: ['api'] });
  apps.push(a);
  return a;
}

beforeAll(async () => {
  [nats, tdb] = await Promise.all([startTestNats(), createTestDatabase()]);
  db = createDb(tdb.url);
  await migrateToLatest(db);
  nc = await connect({ servers: nats.url });
  await ensureTopology(await jetstreamManager(nc), { maxBytes: 64 * 1024 * 1024, maxAgeS: 3600, replicas: 1, ackWaitMs: 30_000 });
  app = await makeApp();
  await seed();
  await createUser(db, 'vic', 'viewer', 'viewer-password');
  viewer = await injectLogin(app, 'vic', 'viewer-password');
  dir = tempDir('minisoc-timeline-');
});

afterAll(async () => {
  for (const a of apps) await a.close();
  await nc?.close();
  await db?.destroy();
  await tdb?.drop();
  await nats?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** GET as the viewer unless another token (or none: null) is given. */
async function get(query: string, token: string | null = viewer, on = app) {
  const res = await on.inject({ method: 'GET', url: `/api/timeline?${query}`, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.statusCode, body: res.body, json: () => JSON.parse(res.body) as any };
}

const brief = (items: any[]) => items.map((i) => `${i.type}:${i.id}:${i.role}`);

describe('GET /api/timeline', () => {
  it('lists an address\'s events and alerts of every source in one newest-first list, with its role in each', async () => {
    const res = await get(`entity=ip:10.1.0.5&${WINDOW}`);
    expect(res.status, res.body).toBe(200);
    const t = res.json();
    expect(t.entity).toEqual({ kind: 'ip', value: '10.1.0.5' });
    expect([t.since, t.until]).toEqual([at('09:30:00'), at('11:00:00')]);
    expect(brief(t.items)).toEqual([
      'alert:al2:source', 'event:x4:both', 'event:x3:source', 'alert:al1:destination', 'event:x2:destination', 'event:x1:source',
    ]);
    expect(new Set(t.items.map((i: any) => i.source))).toEqual(new Set(['fw', 'auth', 'edr']));
    expect(t.nextCursor).toBeNull();
    const [al2, , x3, , x2] = t.items;
    expect(al2).toMatchObject({ type: 'alert', time: at('10:03:30'), source: 'fw', summary: 'Rule fw-scan (medium)', severity: 'medium', ruleId: 'fw-scan', count: 2, status: 'open', hostName: 'gw-1', sourceIp: '10.1.0.5' });
    // A message on one line; an event without one is summed up by its action.
    expect(x2).toMatchObject({ summary: 'Failed password for alice from 203.0.113.9 port 22', severity: null, ruleId: null, count: 1, userName: 'alice', destinationIp: '10.1.0.5' });
    expect(x3).toMatchObject({ summary: 'process-started', processName: 'sshd' });
  });

  it('counts the entities seen with it, top N per kind, itself left out', async () => {
    const t = (await get(`entity=ip:10.1.0.5&${WINDOW}`)).json();
    expect(t.neighbours).toEqual({
      events: 4, alerts: 2, complete: true,
      items: [
        { kind: 'host', value: 'gw-1', count: 3 }, { kind: 'host', value: 'web-1', count: 3 },
        { kind: 'ip', value: '203.0.113.9', count: 3 },
        { kind: 'process', value: 'sshd', count: 1 },
        { kind: 'rule', value: 'fw-scan', count: 1 }, { kind: 'rule', value: 'ssh-brute', count: 1 },
        { kind: 'user', value: 'alice', count: 3 },
      ],
    });
    const top1 = (await get(`entity=ip:10.1.0.5&${WINDOW}&top=1`)).json();
    expect(top1.neighbours.items.filter((n: any) => n.kind === 'host')).toEqual([{ kind: 'host', value: 'gw-1', count: 3 }]);
  });

  it('pages by cursor without gaps or repeats at any page size, across an alert and an event of the same instant', async () => {
    const all = brief((await get(`entity=ip:10.1.0.5&${WINDOW}`)).json().items);
    for (const limit of [1, 2, 3, 4, 5]) {
      const seen: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res = await get(`entity=ip:10.1.0.5&${WINDOW}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.status, res.body).toBe(200);
        const p = res.json();
        expect(p.items.length).toBeLessThanOrEqual(limit);
        // The neighbours come with the first page only.
        expect(p.neighbours === null).toBe(pages > 0);
        seen.push(...brief(p.items));
        cursor = p.nextCursor;
        pages++;
      } while (cursor);
      expect(seen, `limit ${limit}`).toEqual(all);
      expect(pages).toBe(Math.ceil(all.length / limit));
    }
  });

  it('follows a host (any case), a user, a process by name or executable, and a rule with the events of its alerts', async () => {
    const ids = async (entity: string) => {
      const res = await get(`entity=${encodeURIComponent(entity)}&${WINDOW}`);
      expect(res.status, res.body).toBe(200);
      return brief(res.json().items);
    };
    expect(await ids('host:WEB-1')).toEqual(['alert:al3:host', 'event:x3:host', 'alert:al1:host', 'event:x2:host']);
    expect(await ids('user:alice')).toEqual(['event:x3:user', 'alert:al1:user', 'event:x2:user']);
    // A process's alerts are those raised on its events.
    expect(await ids('process:sshd')).toEqual(['event:x6:process', 'alert:al3:process', 'event:x3:process']);
    expect(await ids('process:/usr/sbin/sshd')).toEqual(['alert:al3:process', 'event:x3:process']);
    expect(await ids('rule:fw-scan')).toEqual(['alert:al2:rule', 'event:x4:evidence', 'event:x1:evidence']);
    expect(await ids('user:nobody')).toEqual([]);
  });

  it('reads the last 24 hours unless told otherwise', async () => {
    const t = (await get('entity=ip:192.0.2.44')).json();
    expect(t.items.map((i: any) => i.id)).toEqual(['recent']);
    expect(Date.parse(t.until) - Date.parse(t.since)).toBe(86_400_000);
    expect((await get('entity=ip:192.0.2.44&since=2d')).json().items.map((i: any) => i.id)).toEqual(['recent', 'old']);
  });

  it('answers a bad entity, window, cursor or limit with 400 and the reason', async () => {
    for (const [q, msg] of [
      ['entity=10.1.0.5', /expected <kind>:<value>/], ['entity=mac:00:11:22', /entity kind "mac": expected/], ['entity=host:', /value after "host:" is empty/],
      ['entity=ip:not-an-ip', /"not-an-ip" is not an IP address/], ['entity=ip:10.0.0.0/8', /is not an IP address/],
      ['entity=process:/usr/bin/', /not a folder/], [`entity=user:${'a'.repeat(1025)}`, /at most 1024/],
      ['entity=ip:10.1.0.5&since=40d', /longer than 31 days/], [`entity=ip:10.1.0.5&since=${at('11:00:00')}&until=${at('10:00:00')}`, /since is not before until/],
      ['entity=ip:10.1.0.5&cursor=garbage', /cursor/], ['entity=ip:10.1.0.5&limit=501', /limit/], ['entity=ip:10.1.0.5&top=0', /top/], ['since=1h', /entity/],
    ] as const) {
      const res = await get(q);
      expect(res.status, q).toBe(400);
      expect(res.json(), q).toMatchObject({ statusCode: 400, error: 'Bad Request', message: expect.stringMatching(msg) });
    }
  });

  it('needs a signed-in user (viewer or above)', async () => {
    expect((await get(`entity=ip:10.1.0.5&${WINDOW}`, null)).status).toBe(401);
    expect((await get(`entity=ip:10.1.0.5&${WINDOW}`, 'not-a-token')).status).toBe(401);
    await createUser(db, 'ana', 'analyst', 'analyst-password');
    expect((await get(`entity=ip:10.1.0.5&${WINDOW}`, await injectLogin(app, 'ana', 'analyst-password'))).status).toBe(200);
  });

  it('is documented with its parameters in the OpenAPI document', async () => {
    const doc = JSON.parse((await app.inject({ method: 'GET', url: '/api/docs/json' })).body);
    expect(doc.paths['/api/timeline'].get.parameters.map((p: any) => p.name).sort()).toEqual(['cursor', 'entity', 'limit', 'since', 'top', 'until']);
  });

  it('runs on the analysts\' pool with its statement timeout: a stuck timeline answers 503', async () => {
    const a = await makeApp({ ANALYST_QUERY_TIMEOUT_MS: '500' });
    const token = await injectLogin(a, 'vic', 'viewer-password');
    const blocker = new pg.Client({ connectionString: tdb.url });
    await blocker.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('LOCK TABLE alerts IN ACCESS EXCLUSIVE MODE');
      const slow = await get(`entity=host:web-1&${WINDOW}`, token, a);
      expect(slow.status, slow.body).toBe(503);
      expect(slow.json().message).toMatch(/ANALYST_QUERY_TIMEOUT_MS/);
    } finally {
      await blocker.query('ROLLBACK');
      await blocker.end();
    }
    expect((await get(`entity=host:web-1&${WINDOW}`, token, a)).status).toBe(200);
  });
});

describe('soc timeline', () => {
  const env = () => ({ DATABASE_URL: tdb.url, NATS_URL: nats.url, DATA_DIR: dir });

  it('prints one line per item, newest first, and the neighbours on stderr', async () => {
    const r = await runCli(['timeline', 'ip:10.1.0.5', '--since', at('09:30:00'), '--until', at('11:00:00')], env());
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+TYPE\s+SOURCE\s+ROLE/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 4).join(' '))).toEqual([
      `${at('10:03:30')} alert fw source`, `${at('10:03:00')} event fw both`, `${at('10:02:00')} event edr source`,
      `${at('10:01:00')} alert auth destination`, `${at('10:01:00')} event auth destination`, `${at('10:00:00')} event fw source`,
    ]);
    expect(lines[1]).toMatch(/Rule fw-scan \(medium\) x2$/);
    expect(r.stderr).toMatch(/6 item\(s\) for ip:10\.1\.0\.5/);
    expect(r.stderr).toMatch(/host: gw-1 \(3\), web-1 \(3\)/);
  });

  it('pages through the same query up to --limit and prints JSON lines with --json', async () => {
    const r = await runCli(['timeline', 'ip:10.1.0.5', '--since', at('09:30:00'), '--until', at('11:00:00'), '--limit', '4', '--json', '--top', '1'], env());
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(rows.filter((x) => x.type !== 'neighbour').map((x) => x.id)).toEqual(['al2', 'x4', 'x3', 'al1']);
    expect(rows.filter((x) => x.type === 'neighbour')).toContainEqual({ type: 'neighbour', kind: 'user', value: 'alice', count: 3 });
  });

  it('exits with 2 and the API\'s reason for a bad entity', async () => {
    const r = await runCli(['timeline', 'ip:nope'], env());
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"nope" is not an IP address/);
  });
});
