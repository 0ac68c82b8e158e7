// Migration 013 on a database that already holds network aggregates: every row moves into its day's partition, and
// retention then drops a day's aggregates with its events.
import { Migrator, sql, type MigrationProvider } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../test/harness.js';
import { createDb, dropOldPartitions, migrateToLatest, type Db } from './index.js';
import { migrations } from './migrations/index.js';

let tdb: TestDatabase;
let db: Db;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = createDb(tdb.url);
});

afterAll(async () => {
  await db?.destroy();
  await tdb?.drop();
});

const provider: MigrationProvider = { getMigrations: async () => migrations };

describe('migration 013: the network aggregates by day', () => {
  it('keeps every aggregate row across the change, and retention drops them with the events of their day', async () => {
    const migrator = new Migrator({ db, provider, migrationTableName: 'minisoc_migrations', migrationLockTableName: 'minisoc_migrations_lock' });
    const before = await migrator.migrateTo('2026-12-03-012-source-host');
    expect(before.error).toBeUndefined();
    await sql`SELECT minisoc_ensure_event_partition(d::date) FROM (VALUES ('2026-11-20'), ('2026-11-21')) AS v(d)`.execute(db);
    await sql`
      INSERT INTO network_flows (bucket, source_ip, destination_ip, source_id, connections, bytes)
      VALUES ('2026-11-20T10:00:00Z', '10.0.0.1', '203.0.113.1', 'fw', 3, 30), ('2026-11-21T23:00:00Z', '10.0.0.2', '203.0.113.2', 'fw', 4, 40),
        ('2026-11-22T01:00:00Z', '10.0.0.3', '203.0.113.3', 'fw', 5, 50)`.execute(db);
    await sql`INSERT INTO network_hosts (bucket, address, host) VALUES ('2026-11-21T23:00:00Z', '10.0.0.2', 'web-1')`.execute(db);

    await migrateToLatest(db);
    const flows = await sql<{ part: string; n: string }>`
      SELECT tableoid::regclass::text AS part, connections::text AS n FROM network_flows ORDER BY bucket`.execute(db);
    expect(flows.rows).toEqual([
      { part: 'network_flows_p20261120', n: '3' }, { part: 'network_flows_p20261121', n: '4' }, { part: 'network_flows_p20261122', n: '5' },
    ]);
    const hosts = await sql<{ part: string }>`SELECT tableoid::regclass::text AS part FROM network_hosts`.execute(db);
    expect(hosts.rows).toEqual([{ part: 'network_hosts_p20261121' }]);
    // The day of aggregates only got an events partition too, so retention drops it whole.
    const dropped = await dropOldPartitions(db, 1, Date.parse('2026-11-23T12:00:00Z'));
    expect(dropped).toEqual(['events_p20261120', 'events_p20261121']);
    const left = await sql<{ part: string }>`SELECT tableoid::regclass::text AS part FROM network_flows`.execute(db);
    expect(left.rows).toEqual([{ part: 'network_flows_p20261122' }]);
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM network_hosts`.execute(db)).rows[0]!.n).toBe(0);
  });
});
