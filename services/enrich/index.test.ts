import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, SHARED_DATA, startTestNats, waitFor, type TestDatabase, type TestNats } from '../../test/harness.js';
import { loadConfig } from '../core/config.js';
import { createDb, migrateToLatest, type Db } from '../core/db/index.js';
import { createLogger } from '../core/log.js';
import { registry } from '../core/metrics.js';
import { EventBatch, type Event } from '../core/proto.js';
import { topologyLimits, type RunningService } from '../core/service.js';
import { ensureTopology, subjects } from '../core/topology.js';
import { startEnrich } from './index.js';

let nats: TestNats;
let nc: NatsConnection;
let tdb: TestDatabase;
let db: Db;
let service: RunningService | undefined;
const dir = mkdtempSync(join(tmpdir(), 'minisoc-enrich-'));

beforeAll(async () => {
  [nats, tdb] = await Promise.all([startTestNats(), createTestDatabase()]);
  nc = await connect({ servers: nats.url });
  db = createDb(tdb.url, { max: 2 });
  await migrateToLatest(db);
  await db.insertInto('agents').values({
    id: 'agent-db', hostname: 'db-01', os: 'Debian 12', ips: ['10.0.0.9'], tags: ['crown-jewel'], status: 'online', first_seen: new Date(), last_seen: new Date(), doc: '{}',
  }).execute();
});

afterAll(async () => {
  await service?.stop();
  await nc?.close();
  await db?.destroy();
  await Promise.all([nats?.close(), tdb?.drop()]);
  rmSync(dir, { recursive: true, force: true });
});

describe('the enrich service', () => {
  it('enriches normalized batches from NATS with GeoIP, the configured feeds and the agents table', async () => {
    writeFileSync(join(dir, 'feeds.yaml'), `feeds:\n  - name: feodo\n    path: ${join(SHARED_DATA, 'threat-intel', 'feodo.ipset')}\n    format: ip\n    confidence: 90\n    tags: [c2]\n`);
    const config = loadConfig({}, { NATS_URL: nats.url, DATABASE_URL: tdb.url, INTEL_FEEDS_FILE: join(dir, 'feeds.yaml'), STAGE_ACK_WAIT_MS: '5000' });
    await ensureTopology(await jetstreamManager(nc), topologyLimits(config));
    service = await startEnrich({ config, nc, log: createLogger('enrich', 'silent'), db: () => db });

    const got: Event[] = [];
    const sub = nc.subscribe(subjects.enriched('fw'), { callback: (_err, m) => { got.push(...EventBatch.decode(m.data).events); } });
    const batch = EventBatch.encode({ source_id: 'fw', events: [
      { id: 'e1', source: { ip: '5.39.222.172' }, destination: { ip: '10.0.0.9', port: 5432 } },
      { id: 'e2', source: { ip: '10.0.0.9' }, destination: { ip: '8.8.8.8' } },
    ] }).finish();
    await jetstream(nc).publish(subjects.normalized('fw'), batch);
    await waitFor('the enriched batch', () => got.length === 2, 30_000);
    sub.unsubscribe();

    const [e1, e2] = got;
    expect(e1!.source!.geo!.country_iso_code).toBe('NL');
    expect(e1!.threat!.indicators![0]).toMatchObject({ feed: 'feodo', value: '5.39.222.172', confidence: 90, field: 'source.ip' });
    expect(e1!.tags).toEqual(expect.arrayContaining(['threat-intel', 'c2', 'crown-jewel', 'private-ip']));
    expect(e1!.network!.direction).toBe('inbound');
    expect(e2!.destination!.geo!.country_iso_code).toBe('US');
    expect(e2!.labels).toMatchObject({ source_asset_id: 'agent-db', source_ip_scope: 'private' });

    const metrics = await registry.metrics();
    expect(metrics).toMatch(/minisoc_enrich_feed_up\{feed="feodo"\} 1/);
    expect(metrics).toMatch(/minisoc_enrich_feed_indicators\{feed="feodo"\} 235/);
    expect(metrics).toMatch(/minisoc_enrich_indicator_matches_total\{feed="feodo"\} 1/);
    expect(metrics).toMatch(/minisoc_enrich_assets 1/);
    expect(metrics).toMatch(/minisoc_enrich_geo_lookups_total 4/);
  });
});
