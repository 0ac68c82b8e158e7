// The owner / services split on a real PostgreSQL: `soc migrate` migrates as the owner and grants the services' role
// rows only; that role stores and reads events but can neither create, alter nor drop anything.
import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, dropOldPartitions, forgetPartitions, type Db } from '../services/core/db/index.js';
import { grantServiceRole, pendingMigrations, roleExcess, waitForSchema } from '../services/core/db/roles.js';
import { ConfigError } from '../services/core/errors.js';
import type { Logger } from '../services/core/log.js';
import { insertEvents } from '../services/store/sink.js';
import type { EventRow } from '../services/store/core.js';
import { runNode, waitFor } from './harness.js';

/** A server where this test may create roles and databases (the local one by default: trust auth, user postgres). */
const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const tag = `${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
const OWNER = `minisoc_owner_${tag}`;
const APP = `minisoc_app_${tag}`;
const DB = `minisoc_roles_${tag}`;

function urlFor(user: string, password: string): string {
  const u = new URL(ADMIN_URL);
  u.username = user;
  u.password = password;
  u.pathname = `/${DB}`;
  return u.toString();
}

async function admin(statements: string[]): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    for (const s of statements) await c.query(s);
  } finally {
    await c.end();
  }
}

/** The Postgres error code a statement fails with, or 'ok'. */
async function outcome(db: Db, statement: string): Promise<string> {
  try {
    await sql.raw(statement).execute(db);
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? (err as Error).message;
  }
}

const event = (id: string, ts: string): EventRow => ({
  id, ts, source_id: 'roles-test', kind: 'event', category: [], action: 'login', outcome: 'success', host_name: 'h1', agent_id: null,
  user_name: 'alice', source_ip: '10.0.0.1', source_port: null, destination_ip: null, destination_port: null, process_name: null,
  message: 'hello', tags: [], doc: { message: 'hello' },
});

describe('the services\' least-privilege database role', () => {
  const ownerUrl = urlFor(OWNER, 'owner-secret');
  const appUrl = urlFor(APP, 'app-secret-1');
  let owner: Db;
  let app: Db;

  beforeAll(async () => {
    // The owner is an ordinary role that owns the database (as on a managed service), not a superuser.
    await admin([`CREATE ROLE ${OWNER} LOGIN PASSWORD 'owner-secret' CREATEROLE`, `CREATE DATABASE ${DB} OWNER ${OWNER}`]);
    const migrate = runNode('tools/cli/soc.js', ['migrate'], { DATABASE_OWNER_URL: ownerUrl, DATABASE_URL: appUrl });
    expect(await migrate.exited, migrate.output()).toBe(0);
    expect(migrate.stdout()).toMatch(new RegExp(`role ${APP} may read and write rows only`));
    owner = createDb(ownerUrl, { max: 2 });
    app = createDb(appUrl, { max: 2 });
  });

  afterAll(async () => {
    await owner?.destroy();
    await app?.destroy();
    await admin([`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`, `DROP ROLE IF EXISTS ${APP}`, `DROP ROLE IF EXISTS ${OWNER}`]);
  });

  it('leaves the schema at the latest migration, owned by the owner', async () => {
    expect(await pendingMigrations(app)).toEqual([]);
    const { rows } = await sql<{ owner: string }>`SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname IN ('events', 'alerts', 'agents', 'minisoc_migrations')`.execute(owner);
    expect(rows.map((r) => r.owner)).toEqual([OWNER]);
  });

  it('lets the services store, read, update and delete rows, and make and drop event partitions through the owner\'s functions', async () => {
    forgetPartitions();
    expect(await insertEvents(app, [event('e1', '2026-12-01T10:00:00.000Z'), event('e2', '2026-12-03T10:00:00.000Z')])).toBe(2);
    const { rows } = await sql<{ id: string }>`SELECT id FROM events ORDER BY id`.execute(app);
    expect(rows.map((r) => r.id)).toEqual(['e1', 'e2']);
    expect(await outcome(app, "UPDATE events SET message = 'changed' WHERE id = 'e1'")).toBe('ok');
    expect(await outcome(app, "DELETE FROM events WHERE id = 'e2'")).toBe('ok');
    // Retention as the services' role, one day kept on 3 December: the partition of 1 December goes, the 3rd stays.
    expect(await dropOldPartitions(app, 1, Date.parse('2026-12-03T12:00:00Z'))).toEqual(['events_p20261201']);
    const { rows: parts } = await sql<{ name: string }>`SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events' ORDER BY 1`.execute(app);
    expect(parts.map((p) => p.name)).toEqual(['events_p20261203']);
  });

  it('refuses the services\' role every CREATE, ALTER, DROP and TRUNCATE, and writes to the migration bookkeeping', async () => {
    const refused = {
      'DROP TABLE events': await outcome(app, 'DROP TABLE events'),
      'DROP TABLE a partition': await outcome(app, 'DROP TABLE events_p20261203'),
      'CREATE TABLE': await outcome(app, 'CREATE TABLE intruder (x int)'),
      'ALTER TABLE': await outcome(app, 'ALTER TABLE alerts ADD COLUMN intruder int'),
      'TRUNCATE': await outcome(app, 'TRUNCATE audit_log'),
      'CREATE a partition itself': await outcome(app, "CREATE TABLE events_p20300101 PARTITION OF events FOR VALUES FROM ('2030-01-01') TO ('2030-01-02')"),
      'CREATE FUNCTION': await outcome(app, 'CREATE FUNCTION intruder() RETURNS int LANGUAGE sql AS $$ SELECT 1 $$'),
      'CREATE SCHEMA': await outcome(app, 'CREATE SCHEMA intruder'),
      'write a migration row': await outcome(app, "DELETE FROM minisoc_migrations WHERE name LIKE '%006%'"),
    };
    // 42501: insufficient privilege; 42501 is also what "must be owner" reports.
    expect(refused).toEqual(Object.fromEntries(Object.keys(refused).map((k) => [k, '42501'])));
    // The same statements as the owner succeed, so the refusals above are the role's and not broken statements.
    expect(await outcome(owner, 'CREATE TABLE intruder (x int)')).toBe('ok');
    expect(await outcome(owner, 'DROP TABLE intruder')).toBe('ok');
  });

  it('finds nothing beyond rows in the services\' role, and finds what an owner or a superuser has', async () => {
    expect(await roleExcess(owner, APP)).toEqual([]);
    expect((await roleExcess(owner, OWNER)).join('; ')).toMatch(/may create roles|owns \d+ tables|create objects in schema public/);
    expect((await roleExcess(owner, 'postgres')).join('; ')).toMatch(/superuser/);
  });

  it('refuses a split where the services would connect as the owner', async () => {
    await expect(grantServiceRole(owner, OWNER)).rejects.toThrow(ConfigError);
    await expect(grantServiceRole(owner, OWNER)).rejects.toThrow(/both connect as/);
  });

  it('takes a changed password for the services\' role at the next soc migrate, and stays idempotent', async () => {
    const hash = async () => {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        return (await c.query<{ h: string }>('SELECT rolpassword AS h FROM pg_authid WHERE rolname = $1', [APP])).rows[0]!.h;
      } finally {
        await c.end();
      }
    };
    const before = await hash();
    const again = runNode('tools/cli/soc.js', ['migrate'], { DATABASE_OWNER_URL: ownerUrl, DATABASE_URL: urlFor(APP, 'app-secret-2') });
    expect(await again.exited, again.output()).toBe(0);
    const after = await hash();
    expect(after).toMatch(/^SCRAM-SHA-256\$/);
    expect(after).not.toBe(before);
    expect(await roleExcess(owner, APP)).toEqual([]);
  });

  it('keeps a service that does not migrate waiting until the schema is current', async () => {
    // One migration "not yet run": the services' role waits, says so, and goes on once it is back.
    const [last] = (await sql<{ name: string; timestamp: string }>`SELECT name, timestamp FROM minisoc_migrations ORDER BY name DESC LIMIT 1`.execute(owner)).rows;
    await sql`DELETE FROM minisoc_migrations WHERE name = ${last!.name}`.execute(owner);
    const warned: unknown[] = [];
    const log = { warn: (o: unknown) => { warned.push(o); } } as unknown as Logger;
    let done = false;
    const waiting = waitForSchema(app, log, { maxDelayMs: 200 }).then(() => { done = true; });
    await waitFor('the wait to be reported', () => warned.length > 0);
    expect(warned[0]).toEqual({ pending: [last!.name] });
    expect(done).toBe(false);
    await sql`INSERT INTO minisoc_migrations (name, timestamp) VALUES (${last!.name}, ${last!.timestamp})`.execute(owner);
    await waiting;
    expect(done).toBe(true);
  });
});
