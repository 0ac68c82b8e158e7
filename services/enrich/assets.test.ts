import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/harness.js';
import { createDb, migrateToLatest, type Db } from '../core/db/index.js';
import { AssetRegistry, AssetSource, loadAssetRecords, type AssetRecord } from './assets.js';

const WEB: AssetRecord = { id: 'agent-web', hostname: 'WEB-01', os: 'Ubuntu 24.04', ips: ['10.0.0.5', '2001:DB8::5', '127.0.0.1', '172.17.0.1'], tags: ['web', 'criticality:medium'] };
const DB: AssetRecord = { id: 'agent-db', hostname: 'db-01', os: 'Debian 12', ips: ['10.0.0.9/24', '172.17.0.1'], tags: ['crown-jewel', 'criticality:high', 'criticality:low'] };

describe('AssetRegistry', () => {
  const reg = new AssetRegistry([WEB, DB]);

  it('finds an asset by agent id and by any of its addresses in canonical form', () => {
    expect(reg.byAgentId('agent-web')).toMatchObject({ hostname: 'WEB-01', ips: ['10.0.0.5', '2001:db8::5', '127.0.0.1', '172.17.0.1'], criticality: 'medium' });
    expect(reg.byIp('2001:db8::5')?.id).toBe('agent-web');
    expect(reg.byIp('10.0.0.9')).toMatchObject({ id: 'agent-db', criticality: 'high' });
    expect(reg.byAgentId('nobody')).toBeUndefined();
    expect(reg.byIp('10.0.0.6')).toBeUndefined();
  });

  it('joins nothing on loopback addresses or on addresses several assets claim', () => {
    expect(reg.byIp('127.0.0.1')).toBeUndefined();
    expect(reg.byIp('172.17.0.1')).toBeUndefined();
    expect(reg.ambiguous).toEqual(['172.17.0.1']);
  });
});

describe('the asset registry from PostgreSQL', () => {
  let tdb: TestDatabase;
  let db: Db;

  beforeAll(async () => {
    tdb = await createTestDatabase();
    db = createDb(tdb.url, { max: 2 });
    await migrateToLatest(db);
    await db.insertInto('agents').values([
      { id: WEB.id, hostname: WEB.hostname, os: WEB.os, ips: WEB.ips, tags: WEB.tags, status: 'online', first_seen: new Date(), last_seen: new Date(), doc: '{}' },
    ]).execute();
  });
  afterAll(async () => {
    await db?.destroy().catch(() => undefined);
    await tdb?.drop();
  });

  it('loads the agents table, picks up a new agent on refresh, and keeps the last registry when the database is gone', async () => {
    const source = new AssetSource(() => loadAssetRecords(db), { refreshIntervalMs: 3_600_000 });
    await source.start();
    try {
      expect(source.registry.byAgentId('agent-web')).toMatchObject({ hostname: 'WEB-01', os: 'Ubuntu 24.04', tags: ['web', 'criticality:medium'] });
      expect(source.registry.byIp('10.0.0.9')).toBeUndefined();
      await db.insertInto('agents').values({ id: DB.id, hostname: DB.hostname, os: DB.os, ips: DB.ips, tags: DB.tags, status: 'online', first_seen: new Date(), last_seen: new Date(), doc: '{}' }).execute();
      expect(await source.refresh()).toBe(true);
      expect(source.registry.byIp('10.0.0.9')?.id).toBe('agent-db');
      await db.destroy();
      expect(await source.refresh()).toBe(false);
      expect(source.lastError).toBeTruthy();
      expect(source.registry.size).toBe(2);
    } finally {
      source.stop();
    }
  });
});
