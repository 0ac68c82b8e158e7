// Initial schema: day-partitioned events, alerts with dedup, agents, commands, dead letters, audit log.
// Frozen in time: never import application code here, never edit after release; add a new migration.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE events (
      id text NOT NULL,
      ts timestamptz NOT NULL,
      source_id text NOT NULL,
      kind text,
      category text[] NOT NULL DEFAULT '{}',
      action text,
      outcome text,
      host_name text,
      agent_id text,
      user_name text,
      source_ip inet,
      source_port integer,
      destination_ip inet,
      destination_port integer,
      process_name text,
      message text,
      tags text[] NOT NULL DEFAULT '{}',
      doc jsonb NOT NULL,
      ingested_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (ts, id)
    ) PARTITION BY RANGE (ts)`.execute(db);
  await sql`CREATE INDEX events_host_ts ON events (host_name, ts)`.execute(db);
  await sql`CREATE INDEX events_source_ip ON events (source_ip)`.execute(db);
  await sql`CREATE INDEX events_destination_ip ON events (destination_ip)`.execute(db);
  await sql`CREATE INDEX events_user_ts ON events (user_name, ts)`.execute(db);

  await sql`
    CREATE TABLE alerts (
      id text PRIMARY KEY,
      dedup_key text NOT NULL,
      rule_id text NOT NULL,
      rule_title text NOT NULL,
      level text NOT NULL,
      score double precision NOT NULL DEFAULT 0,
      status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'acknowledged', 'closed')),
      close_reason text,
      assignee text,
      count integer NOT NULL DEFAULT 1,
      first_seen timestamptz NOT NULL,
      last_seen timestamptz NOT NULL,
      techniques text[] NOT NULL DEFAULT '{}',
      tactics text[] NOT NULL DEFAULT '{}',
      tags text[] NOT NULL DEFAULT '{}',
      event_ids text[] NOT NULL DEFAULT '{}',
      host_name text,
      user_name text,
      source_ip inet,
      destination_ip inet,
      agent_id text,
      source_id text,
      description text,
      doc jsonb NOT NULL DEFAULT '{}',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  // Repeats of an open condition fold into one alert; once closed, the next match opens a new one.
  await sql`CREATE UNIQUE INDEX alerts_open_dedup ON alerts (dedup_key) WHERE status <> 'closed'`.execute(db);
  await sql`CREATE INDEX alerts_last_seen ON alerts (last_seen DESC)`.execute(db);
  await sql`
    CREATE TABLE alert_matches (
      match_id text PRIMARY KEY,
      alert_id text NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  await sql`
    CREATE TABLE agents (
      id text PRIMARY KEY,
      hostname text,
      os text,
      version text,
      ips text[] NOT NULL DEFAULT '{}',
      tags text[] NOT NULL DEFAULT '{}',
      status text NOT NULL DEFAULT 'unknown',
      status_reason text,
      first_seen timestamptz NOT NULL DEFAULT now(),
      last_seen timestamptz NOT NULL DEFAULT now(),
      doc jsonb NOT NULL DEFAULT '{}'
    )`.execute(db);

  await sql`
    CREATE TABLE commands (
      id text PRIMARY KEY,
      agent_id text NOT NULL,
      action text NOT NULL,
      args jsonb NOT NULL DEFAULT '{}',
      status text NOT NULL,
      issued_by text NOT NULL,
      issued_at timestamptz NOT NULL DEFAULT now(),
      expires_at timestamptz NOT NULL,
      delivered_at timestamptz,
      started_at timestamptz,
      finished_at timestamptz,
      exit_code integer,
      output text,
      error text
    )`.execute(db);
  await sql`CREATE INDEX commands_agent_status ON commands (agent_id, status)`.execute(db);

  await sql`
    CREATE TABLE dead_letters (
      id text PRIMARY KEY,
      stage text NOT NULL,
      stream text NOT NULL,
      subject text NOT NULL,
      sequence bigint NOT NULL,
      record_index integer NOT NULL,
      source_id text,
      error text NOT NULL,
      payload bytea NOT NULL,
      failed_at timestamptz NOT NULL,
      stored_at timestamptz NOT NULL DEFAULT now(),
      retried_at timestamptz
    )`.execute(db);
  await sql`CREATE INDEX dead_letters_stage_failed ON dead_letters (stage, failed_at DESC)`.execute(db);

  await sql`
    CREATE TABLE audit_log (
      id bigserial PRIMARY KEY,
      at timestamptz NOT NULL DEFAULT now(),
      actor text NOT NULL,
      action text NOT NULL,
      target text,
      detail jsonb NOT NULL DEFAULT '{}'
    )`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const t of ['audit_log', 'dead_letters', 'commands', 'agents', 'alert_matches', 'alerts', 'events']) {
    await sql`DROP TABLE IF EXISTS ${sql.table(t)} CASCADE`.execute(db);
  }
}
