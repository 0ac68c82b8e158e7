// PostgreSQL access: the kysely instance, migrations at start-up, daily event partitions, error classes.
import { Kysely, Migrator, PostgresDialect, sql, type MigrationProvider } from 'kysely';
import pg from 'pg';
import { TransientError, ValidationError } from '../errors.js';
import type { Logger } from '../log.js';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

export type { Database } from './schema.js';
export type Db = Kysely<Database>;

// Return int8 (bigint) values as strings, but counts we ask for as ::int stay numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

const pools = new WeakMap<Db, pg.Pool>();

/**
 * max: connections; statementTimeoutMs: Postgres cancels any statement of this pool that runs longer (code 57014);
 * name: the connections' application_name, so pg_stat_activity (and the pipeline bench) says which service each serves.
 */
export function createDb(url: string, opts: { max?: number; statementTimeoutMs?: number; name?: string } = {}): Db {
  const pool = new pg.Pool({
    connectionString: url, max: opts.max ?? 10, idleTimeoutMillis: 30_000,
    ...(opts.name ? { application_name: opts.name } : {}),
    ...(opts.statementTimeoutMs ? { statement_timeout: opts.statementTimeoutMs } : {}),
  });
  // A client losing its connection (the server restarting, say) must not crash the process: idle ones
  // are reported on the pool, checked-out ones on themselves; either way the query in flight fails
  // and the caller retries.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => { client.on('error', () => undefined); });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  pools.set(db, pool);
  return db;
}

/** The connection pool under a Db made by createDb, for what kysely cannot say (COPY). */
export function poolOf(db: Db): pg.Pool | undefined {
  return pools.get(db);
}

const provider: MigrationProvider = { getMigrations: async () => migrations };

export async function migrateToLatest(db: Db, log?: Logger): Promise<void> {
  const migrator = new Migrator({ db, provider, migrationTableName: 'minisoc_migrations', migrationLockTableName: 'minisoc_migrations_lock' });
  const { error, results } = await migrator.migrateToLatest();
  for (const r of results ?? []) log?.info({ migration: r.migrationName, status: r.status }, 'migration');
  if (error) throw new Error(`database migration failed: ${(error as Error).message ?? String(error)}`, { cause: error });
}

const known = new Set<string>();

/** Creates the daily partitions for these UTC days (YYYY-MM-DD) unless they exist. */
export async function ensurePartitions(db: Db, days: Iterable<string>): Promise<void> {
  const missing = [...new Set(days)].filter((d) => !known.has(d));
  if (missing.length === 0) return;
  await db.transaction().execute(async (tx) => {
    // Several store replicas may race to create the same day; one lock makes it orderly.
    await sql`SELECT pg_advisory_xact_lock(hashtext('minisoc_events_partitions'))`.execute(tx);
    for (const day of missing) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) throw new ValidationError(`not a day: ${day}`);
      // Through the owner's function (migration 006): the services' role has no right to create tables itself.
      await sql`SELECT minisoc_ensure_event_partition(${day}::date)`.execute(tx);
    }
  });
  for (const d of missing) known.add(d);
}

/** Forgets which partitions exist (after another process dropped some). */
export function forgetPartitions(): void {
  known.clear();
}

/** Drops daily partitions older than `days` days, of the events and of the network aggregates. Returns the events partitions dropped. */
export async function dropOldPartitions(db: Db, days: number, nowMs = Date.now()): Promise<string[]> {
  if (days <= 0) return [];
  const cutoff = new Date(nowMs - days * 86_400_000).toISOString().slice(0, 10);
  // The owner's function (migration 006) drops them: the services' role owns no table and may drop none.
  const { rows } = await sql<{ name: string }>`SELECT name FROM minisoc_drop_event_partitions_before(${cutoff}::date) AS name`.execute(db);
  const dropped = rows.map((r) => r.name);
  // The network map's aggregates are partitioned by day too (migration 013): the same function dropped their days.
  for (const name of dropped) known.delete(`${name.slice(8, 12)}-${name.slice(12, 14)}-${name.slice(14, 16)}`);
  return dropped;
}

/**
 * Maps a Postgres failure to the runner's classes: connection, resource and concurrency problems
 * may pass later (TransientError); data the database rejects never will (ValidationError).
 */
export function classifyDbError(err: unknown): Error {
  const code = (err as { code?: string }).code;
  const message = (err as Error)?.message ?? String(err);
  if (typeof code === 'string' && /^(22|23|42)/.test(code) && code !== '42P01') {
    return new ValidationError(`database rejected the batch (${code}): ${message}`, { cause: err });
  }
  return new TransientError(`database unavailable: ${message}`, { cause: err });
}

/** JSON for Postgres: jsonb cannot hold NUL characters, so escaped NULs are removed (not their backslashes). */
export function pgJson(value: unknown): string {
  const s = JSON.stringify(value);
  return s.includes('\\u0000') ? s.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1') : s;
}
