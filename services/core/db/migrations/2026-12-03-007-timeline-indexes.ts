// The investigation timeline's indexes: one address's or one process's events read newest first.
// Frozen in time: never import application code here, never edit after release; add a new migration.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // An address's events newest first: with (address, ts) a page stops after `limit` rows of each day partition
  // instead of reading and sorting every event of the address in the window. They replace the single-column
  // indexes of migration 001 (a search by address or range uses their leading column the same way); rows without
  // an address, most of a host's telemetry, are left out of them.
  await sql`CREATE INDEX events_source_ip_ts ON events (source_ip, ts) WHERE source_ip IS NOT NULL`.execute(db);
  await sql`CREATE INDEX events_destination_ip_ts ON events (destination_ip, ts) WHERE destination_ip IS NOT NULL`.execute(db);
  await sql`DROP INDEX IF EXISTS events_source_ip`.execute(db);
  await sql`DROP INDEX IF EXISTS events_destination_ip`.execute(db);
  // A process's events (process.name; an executable is looked up by its file name): nothing indexed them before.
  await sql`CREATE INDEX events_process_ts ON events (process_name, ts) WHERE process_name IS NOT NULL`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS events_process_ts`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS events_source_ip ON events (source_ip)`.execute(db);
  await sql`CREATE INDEX IF NOT EXISTS events_destination_ip ON events (destination_ip)`.execute(db);
  await sql`DROP INDEX IF EXISTS events_destination_ip_ts`.execute(db);
  await sql`DROP INDEX IF EXISTS events_source_ip_ts`.execute(db);
}
