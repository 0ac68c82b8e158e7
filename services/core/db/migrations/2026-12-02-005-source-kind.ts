// Each ingest source says what it is (web server, proxy, firewall, ...), so rules run only on their logsource.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // '' = not declared: the detect service places the events by what they contain.
  await sql`ALTER TABLE ingest_sources ADD COLUMN kind text NOT NULL DEFAULT ''`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`ALTER TABLE ingest_sources DROP COLUMN IF EXISTS kind`.execute(db);
}
