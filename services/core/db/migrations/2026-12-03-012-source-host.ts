// A log source may name the host it runs on (a web server's access log names no host): normalize gives its events that
// host.name when they carry none, so alerts on them name the attacked host.
// Frozen in time: never import application code here, never edit after release; add a new migration.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // '' = not declared.
  await sql`ALTER TABLE ingest_sources ADD COLUMN host text NOT NULL DEFAULT ''`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE ingest_sources DROP COLUMN IF EXISTS host`.execute(db);
}
