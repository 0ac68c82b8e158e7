// GET /api/network against a real Postgres and nats-server, on aggregates the store wrote: groups, expansion, the
// severity and source filters, alert entities first, the node limit.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../services/core/config.js';
import { createDb, migrateToLatest, type Db } from '../services/core/db/index.js';
import { createLogger } from '../services/core/log.js';
import { ensureTopology } from '../services/core/topology.js';
import { createUser } from '../services/auth/users.js';
import { buildApp } from '../services/http/app.js';
import { insertAlerts, insertEvents } from '../services/store/sink.js';
import { alertRow, type EventRow } from '../services/store/core.js';
import type { GraphT } from '../services/api/types.js';
import { createTestDatabase, injectLogin, startTestNats, type TestDatabase, type TestNats } from './harness.js';

let nats: TestNats;
let tdb: TestDatabase;
let db: Db;
let nc: NatsConnection;
let app: FastifyInstance;
let token: string;

const T0 = Date.parse('2026-11-20T10:00:00.000Z');
const at = (min: number) => new Date(T0 + min * 60_000).toISOString();

/** `count` connections from `src` to `dst` seen by `source`; `own` marks the source address as web-1's. */
function flows(count: number, src: string, dst: string, source: string, over: Partial<EventRow> = {}, own = false): EventRow[] {
  return Array.from({ length: count }, (_, i) => ({
    id: `${source}-${src}-${dst}-${i}`, ts: at(1 + i), source_id: source, kind: 'event', category: ['network'], action: 'connection', outcome: null,
    host_name: own ? 'web-1' : null, agent_id: null, user_name: null, source_ip: src, source_port: 40000 + i, destination_ip: dst, destination_port: 443,
    process_name: null, message: null, tags: [], doc: {}, flow_bytes: 100, host_addresses: own ? [src] : [], ...over,
  }));
}

beforeAll(async () => {
  [nats, tdb] = await Promise.all([startTestNats(), createTestDatabase()]);
  db = createDb(tdb.url);
  await migrateToLatest(db);
  nc = await connect({ servers: nats.url });
  const config = loadConfig({}, { DATABASE_URL: tdb.url, NATS_URL: nats.url, RULES_DIR: 'rules' });
  await ensureTopology(await jetstreamManager(nc), { maxBytes: 64 * 1024 * 1024, maxAgeS: 3600, replicas: 1, ackWaitMs: 30_000 });
  app = await buildApp({ nc, config, log: createLogger('api-network-test', 'silent'), db: () => db }, { plugins: ['api'] });
  // Through the store's own insert, so the aggregates are the ones it writes.
  await insertEvents(db, [
    ...flows(2, '10.0.0.1', '203.0.113.9', 'fw', { destination_country: 'NL', destination_asn: 64500, destination_intel: true }, true),
    ...flows(4, '10.0.0.1', '203.0.113.9', 'fw', { destination_country: 'NL', destination_asn: 64500 }, true).map((r, i) => ({ ...r, id: `${r.id}b${i}` })),
    ...flows(3, '10.0.0.1', '203.0.113.10', 'fw', {}, true),
    ...flows(2, '10.0.0.5', '203.0.113.11', 'proxy'),
    ...flows(4, '10.0.0.2', '198.51.100.7', 'proxy'),
    ...flows(1, '10.0.0.7', '192.0.2.50', 'fw'),
    ...flows(9, '10.0.0.8', '192.0.2.60', 'proxy'),
  ]);
  await db.insertInto('agents').values([{ id: 'agent-b', hostname: 'db-1', status: 'online', ips: ['10.0.0.2', 'not an address'] }]).execute();
  const alert = (id: string, level: string, o: { host_name?: string; source_ip?: string; destination_ip?: string }) => alertRow({
    id, dedup_key: id, rule_id: `r-${id}`, rule_title: id, level, score: 1, count: 1, timestamp: at(20), first_seen: at(19), ...o,
  }, `m-${id}`);
  await insertAlerts(db, [
    alert('a1', 'medium', { host_name: 'web-1' }), alert('a2', 'critical', { source_ip: '10.0.0.5' }), alert('a3', 'high', { destination_ip: '198.51.100.7' }),
  ]);
  await createUser(db, 'viewer', 'viewer', 'viewer-password');
  token = await injectLogin(app, 'viewer', 'viewer-password');
});

afterAll(async () => {
  await app?.close();
  await nc?.close();
  await db?.destroy();
  await tdb?.drop();
  await nats?.close();
});

async function graph(params: string): Promise<{ status: number; body: GraphT & { message?: string } }> {
  const res = await app.inject({ method: 'GET', url: `/api/network?since=${at(0)}&until=${at(60)}${params}`, headers: { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, body: res.json() };
}
const ids = (g: GraphT) => g.nodes.map((n) => n.id).sort();
const link = (g: GraphT, s: string, t: string) => g.edges.find((e) => e.source === s && e.target === t);

describe('network map', () => {
  it('draws hosts, alerted and private addresses alone and other addresses as their /24, with every connection of the range', async () => {
    const { status, body: g } = await graph('');
    expect(status).toBe(200);
    expect(ids(g)).toEqual(['host:db-1', 'host:web-1', 'ip:10.0.0.5', 'ip:10.0.0.7', 'ip:10.0.0.8', 'ip:198.51.100.7', 'net:192.0.2.0/24', 'net:203.0.113.0/24']);
    expect(g.truncated).toBe(false);
    expect(g.edges.reduce((s, e) => s + e.connections, 0)).toBe(25);
    expect(link(g, 'host:web-1', 'net:203.0.113.0/24')).toEqual({ source: 'host:web-1', target: 'net:203.0.113.0/24', connections: 9, bytes: 900 });
    const node = (id: string) => g.nodes.find((n) => n.id === id)!;
    expect(node('net:203.0.113.0/24')).toMatchObject({ kind: 'group', label: '203.0.113.0/24', malicious: true, geo: { country: 'NL', asn: 64500 } });
    expect(node('host:web-1')).toMatchObject({ kind: 'host', alerts: 1, malicious: false });
    expect(node('ip:198.51.100.7')).toMatchObject({ kind: 'ip', alerts: 1, malicious: true });
    expect(node('ip:10.0.0.5')).toMatchObject({ alerts: 1, malicious: true });
    expect(node('net:192.0.2.0/24')).toMatchObject({ alerts: 0, malicious: false });
    // Read in whole hours, and said so.
    expect([g.from, g.to]).toEqual(['2026-11-20T10:00:00.000Z', '2026-11-20T11:00:00.000Z']);
  });

  it('opens a group address by address when asked, and refuses what is not a group', async () => {
    const { body: g } = await graph('&expand=net:203.0.113.0/24');
    expect(ids(g)).toContain('ip:203.0.113.9');
    expect(ids(g).filter((id) => id.startsWith('net:'))).toEqual(['net:192.0.2.0/24']);
    expect(link(g, 'host:web-1', 'ip:203.0.113.9')).toMatchObject({ connections: 6 });
    expect(link(g, 'host:web-1', 'ip:203.0.113.10')).toMatchObject({ connections: 3 });
    expect(link(g, 'ip:10.0.0.5', 'ip:203.0.113.11')).toMatchObject({ connections: 2 });
    expect(g.nodes.find((n) => n.id === 'ip:203.0.113.9')).toMatchObject({ malicious: true, geo: { country: 'NL', asn: 64500 } });
    expect(g.nodes.find((n) => n.id === 'ip:203.0.113.10')).toMatchObject({ malicious: false });
    for (const bad of ['net:203.0.113.0/16', 'bogus', '203.0.113.9']) {
      const res = await graph(`&expand=${encodeURIComponent(bad)}`);
      expect(res.status, bad).toBe(400);
      expect(res.body.message).toMatch(/^expand/);
    }
  });

  it('keeps to the entities of alerts at or above a severity', async () => {
    const critical = (await graph('&severity=critical')).body;
    expect(ids(critical)).toEqual(['ip:10.0.0.5', 'net:203.0.113.0/24']);
    expect(critical.edges).toEqual([{ source: 'ip:10.0.0.5', target: 'net:203.0.113.0/24', connections: 2, bytes: 200 }]);
    const high = (await graph('&severity=high')).body;
    expect(ids(high)).toEqual(['host:db-1', 'ip:10.0.0.5', 'ip:198.51.100.7', 'net:203.0.113.0/24']);
    const medium = (await graph('&severity=medium')).body;
    expect(ids(medium)).not.toContain('ip:10.0.0.8');
    expect(ids(medium)).toContain('host:web-1');
    expect((await graph('&severity=urgent')).status).toBe(400);
  });

  it('keeps to the connections one source saw', async () => {
    const g = (await graph('&source=proxy')).body;
    expect(ids(g)).toEqual(['host:db-1', 'ip:10.0.0.5', 'ip:10.0.0.8', 'ip:198.51.100.7', 'net:192.0.2.0/24', 'net:203.0.113.0/24']);
    expect(g.edges.reduce((s, e) => s + e.connections, 0)).toBe(15);
    expect((await graph('&source=nobody')).body).toMatchObject({ nodes: [], edges: [], truncated: false });
  });

  it('fills a small limit with the alert entities first, not the busiest pair, and says it left some out', async () => {
    const g = (await graph('&limit=3')).body;
    expect(g.truncated).toBe(true);
    expect(ids(g)).toEqual(['host:web-1', 'ip:10.0.0.5', 'net:203.0.113.0/24']);
    expect(g.nodes.length).toBeLessThanOrEqual(3);
    // The busiest pair (10.0.0.8, nine connections) names no alert entity.
    const all = (await graph('&limit=8')).body;
    expect(all.truncated).toBe(false);
    expect(all.nodes).toHaveLength(8);
  });
});
