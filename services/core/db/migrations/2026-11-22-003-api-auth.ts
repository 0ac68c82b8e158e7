// API and auth: users with roles, hashed session and API tokens, and alert suppressions.
// Frozen in time: never import application code here, never edit after release; add a new migration.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE users (
      name text PRIMARY KEY,
      role text NOT NULL CHECK (role IN ('viewer', 'analyst', 'admin')),
      password_hash text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      disabled boolean NOT NULL DEFAULT false
    )`.execute(db);
  await sql`
    CREATE TABLE auth_tokens (
      token_hash text PRIMARY KEY,
      user_name text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
      kind text NOT NULL CHECK (kind IN ('session', 'api')),
      label text,
      created_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz,
      last_used_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX auth_tokens_user ON auth_tokens (user_name)`.execute(db);

  await sql`
    CREATE TABLE suppressions (
      id text PRIMARY KEY,
      rule_id text NOT NULL,
      field text NOT NULL CHECK (field IN ('host.name', 'user.name', 'source.ip')),
      value text NOT NULL,
      until timestamptz NOT NULL,
      reason text NOT NULL,
      created_by text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      hits bigint NOT NULL DEFAULT 0
    )`.execute(db);
  await sql`CREATE INDEX suppressions_until ON suppressions (until)`.execute(db);
  // Incidents are filtered by technique and listed by score.
  await sql`CREATE INDEX alerts_techniques ON alerts USING gin (techniques)`.execute(db);
  await sql`CREATE INDEX alerts_score ON alerts (score DESC, last_seen DESC)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP INDEX IF EXISTS alerts_score`.execute(db);
  await sql`DROP INDEX IF EXISTS alerts_techniques`.execute(db);
  for (const t of ['suppressions', 'auth_tokens', 'users']) await sql`DROP TABLE IF EXISTS ${sql.table(t)} CASCADE`.execute(db);
}
