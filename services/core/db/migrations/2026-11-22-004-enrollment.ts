// Security: one-time agent enrollment tokens, the NATS credential issued to each agent, and HTTP ingest sources with their tokens.
// Frozen in time: never import application code here, never edit after release; add a new migration.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // Only the sha256 of a token is stored: a database dump enrolls no agent and posts no log.
  await sql`
    CREATE TABLE enrollment_tokens (
      token_hash text PRIMARY KEY,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      used_at timestamptz,
      used_by_agent text,
      tags text[] NOT NULL DEFAULT '{}',
      created_by text NOT NULL
    )`.execute(db);
  // One row per key ever issued: a revoked key must stay in the account's revocation list after its agent re-enrolls.
  await sql`
    CREATE TABLE agent_credentials (
      public_key text PRIMARY KEY,
      agent_id text NOT NULL,
      jwt_id text NOT NULL,
      issued_at timestamptz NOT NULL DEFAULT now(),
      revoked_at timestamptz,
      tags text[] NOT NULL DEFAULT '{}'
    )`.execute(db);
  await sql`CREATE UNIQUE INDEX agent_credentials_active ON agent_credentials (agent_id) WHERE revoked_at IS NULL`.execute(db);
  await sql`
    CREATE TABLE ingest_sources (
      name text PRIMARY KEY,
      format text NOT NULL,
      token_hash text NOT NULL UNIQUE,
      created_at timestamptz NOT NULL DEFAULT now(),
      created_by text NOT NULL,
      revoked_at timestamptz,
      last_used_at timestamptz
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['ingest_sources', 'agent_credentials', 'enrollment_tokens']) await sql`DROP TABLE IF EXISTS ${sql.table(t)}`.execute(db);
}
