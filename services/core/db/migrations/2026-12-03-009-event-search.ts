// Indexes for the Events page, chosen by `npm run bench:queries` on 5 million events (docs/performance.md): free text in
// messages and the per-category counts of a time range (process names are indexed by migration 007).
// Frozen in time: never import application code here, never edit after release; add a new migration.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // The Events page counts categories over its whole range: an index-only scan of (ts, category) reads a few percent
  // of what a scan of the rows does.
  await sql`CREATE INDEX events_ts_category ON events (ts) INCLUDE (category)`.execute(db);
  // Substring search (message ILIKE '%text%') through trigrams. pg_trgm ships with PostgreSQL and is a trusted
  // extension, so the database owner may create it; where it is missing or not allowed, free text keeps scanning.
  const { rows } = await sql<{ ok: boolean }>`
    SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')
      OR (EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') AND has_database_privilege(current_database(), 'CREATE')) AS ok`.execute(db);
  if (rows[0]?.ok) {
    await sql`CREATE EXTENSION IF NOT EXISTS pg_trgm`.execute(db);
    await sql`CREATE INDEX events_message_trgm ON events USING gin (message gin_trgm_ops)`.execute(db);
  }
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS events_message_trgm`.execute(db);
  await sql`DROP INDEX IF EXISTS events_ts_category`.execute(db);
}
