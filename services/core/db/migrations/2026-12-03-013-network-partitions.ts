// The network map's aggregates partitioned by day, as the events they count: the last 24 hours read two days' rows
// instead of every row of the retention, and retention drops a day's aggregates with its events' partition instead
// of deleting them row by row. The partition functions of migration 006 now make and drop all three. Each flow row
// also keeps the address group the map draws each side as (generated when the row is written).
// Frozen in time: never import application code here, never edit after release; add a new migration.
import { sql, type Kysely, type RawBuilder } from 'kysely';

// The /24 (IPv4) or /64 (IPv6) network the map draws a public address as, NULL for a private one (which the map
// always draws alone): computed once when a row is written, not for every row of every map asked for.
const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '127.0.0.0/8', '169.254.0.0/16', '100.64.0.0/10', 'fc00::/7', 'fe80::/10'];
function groupOf(col: RawBuilder<unknown>): RawBuilder<unknown> {
  const inPrivate = sql.join([...PRIVATE.map((net) => sql`${col} << inet ${sql.lit(net)}`), sql`${col} = inet '::1'`], sql` OR `);
  return sql`CASE WHEN ${inPrivate} THEN NULL ELSE network(set_masklen(${col}, CASE family(${col}) WHEN 4 THEN 24 ELSE 64 END)) END`;
}

const FLOW_COLUMNS = sql.raw(`bucket, source_ip, destination_ip, source_id, connections, bytes, source_country, source_asn,
  destination_country, destination_asn, source_intel, destination_intel`);

export async function up(db: Kysely<unknown>): Promise<void> {
  // The old tables step aside (with their primary keys' names, which the new tables take).
  await sql`ALTER TABLE network_flows RENAME TO network_flows_unpartitioned`.execute(db);
  await sql`ALTER INDEX network_flows_pkey RENAME TO network_flows_unpartitioned_pkey`.execute(db);
  await sql`ALTER TABLE network_hosts RENAME TO network_hosts_unpartitioned`.execute(db);
  await sql`ALTER INDEX network_hosts_pkey RENAME TO network_hosts_unpartitioned_pkey`.execute(db);
  await sql`
    CREATE TABLE network_flows (
      bucket timestamptz NOT NULL,
      source_ip inet NOT NULL,
      destination_ip inet NOT NULL,
      source_id text NOT NULL,
      connections bigint NOT NULL,
      bytes double precision NOT NULL DEFAULT 0,
      source_country text,
      source_asn bigint,
      destination_country text,
      destination_asn bigint,
      source_intel boolean NOT NULL DEFAULT false,
      destination_intel boolean NOT NULL DEFAULT false,
      source_group cidr GENERATED ALWAYS AS (${groupOf(sql.ref('source_ip'))}) STORED,
      destination_group cidr GENERATED ALWAYS AS (${groupOf(sql.ref('destination_ip'))}) STORED,
      PRIMARY KEY (bucket, source_ip, destination_ip, source_id)
    ) PARTITION BY RANGE (bucket)`.execute(db);
  await sql`
    CREATE TABLE network_hosts (
      bucket timestamptz NOT NULL,
      address inet NOT NULL,
      host text NOT NULL,
      PRIMARY KEY (bucket, address, host)
    ) PARTITION BY RANGE (bucket)`.execute(db);

  // One call makes a day's partition of all three tables; names and bounds as migration 006 makes the events'.
  await sql`
    CREATE OR REPLACE FUNCTION minisoc_ensure_event_partition(day date) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
    DECLARE
      suffix text := to_char(day, 'YYYYMMDD');
      parent text;
    BEGIN
      FOREACH parent IN ARRAY ARRAY['events', 'network_flows', 'network_hosts'] LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)',
          parent || '_p' || suffix, parent, day::text, (day + 1)::text);
      END LOOP;
      RETURN 'events_p' || suffix;
    END
    $fn$`.execute(db);
  // Drops the days before the cutoff of all three; returns the events partitions it dropped, as before.
  await sql`
    CREATE OR REPLACE FUNCTION minisoc_drop_event_partitions_before(cutoff date) RETURNS SETOF text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
    DECLARE
      parent text;
      part text;
    BEGIN
      FOREACH parent IN ARRAY ARRAY['network_hosts', 'network_flows', 'events'] LOOP
        FOR part IN
          SELECT c.relname FROM pg_inherits i
          JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
          JOIN pg_namespace n ON n.oid = p.relnamespace
          WHERE p.relname = parent AND n.nspname = 'public' AND c.relname ~ ('^' || parent || '_p[0-9]{8}$')
            AND c.relname < parent || '_p' || to_char(cutoff, 'YYYYMMDD')
          ORDER BY c.relname
        LOOP
          EXECUTE format('DROP TABLE IF EXISTS public.%I', part);
          IF parent = 'events' THEN RETURN NEXT part; END IF;
        END LOOP;
      END LOOP;
    END
    $fn$`.execute(db);

  // Every day that has events or aggregates gets its partitions, then the rows move over.
  await sql`
    SELECT minisoc_ensure_event_partition(day) FROM (
      SELECT to_date(substr(c.relname, 9), 'YYYYMMDD') AS day FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
      WHERE p.relname = 'events' AND c.relname ~ '^events_p[0-9]{8}$'
      UNION SELECT DISTINCT bucket::date FROM network_flows_unpartitioned
      UNION SELECT DISTINCT bucket::date FROM network_hosts_unpartitioned
    ) days`.execute(db);
  await sql`INSERT INTO network_flows (${FLOW_COLUMNS}) SELECT ${FLOW_COLUMNS} FROM network_flows_unpartitioned ORDER BY bucket`.execute(db);
  await sql`INSERT INTO network_hosts SELECT * FROM network_hosts_unpartitioned ORDER BY bucket`.execute(db);
  await sql`DROP TABLE network_flows_unpartitioned`.execute(db);
  await sql`DROP TABLE network_hosts_unpartitioned`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`
    CREATE TABLE network_flows_flat (
      bucket timestamptz NOT NULL,
      source_ip inet NOT NULL,
      destination_ip inet NOT NULL,
      source_id text NOT NULL,
      connections bigint NOT NULL,
      bytes double precision NOT NULL DEFAULT 0,
      source_country text,
      source_asn bigint,
      destination_country text,
      destination_asn bigint,
      source_intel boolean NOT NULL DEFAULT false,
      destination_intel boolean NOT NULL DEFAULT false
    )`.execute(db);
  await sql`INSERT INTO network_flows_flat (${FLOW_COLUMNS}) SELECT ${FLOW_COLUMNS} FROM network_flows`.execute(db);
  await sql`CREATE TABLE network_hosts_flat (bucket timestamptz NOT NULL, address inet NOT NULL, host text NOT NULL)`.execute(db);
  await sql`INSERT INTO network_hosts_flat SELECT bucket, address, host FROM network_hosts`.execute(db);
  for (const t of ['network_flows', 'network_hosts']) {
    await sql.raw(`DROP TABLE ${t}`).execute(db);
    await sql.raw(`ALTER TABLE ${t}_flat RENAME TO ${t}`).execute(db);
  }
  await sql`ALTER TABLE network_flows ADD PRIMARY KEY (bucket, source_ip, destination_ip, source_id)`.execute(db);
  await sql`ALTER TABLE network_hosts ADD PRIMARY KEY (bucket, address, host)`.execute(db);
  // Migration 006's functions again: events partitions only.
  await sql`
    CREATE OR REPLACE FUNCTION minisoc_ensure_event_partition(day date) RETURNS text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
    DECLARE
      name text := 'events_p' || to_char(day, 'YYYYMMDD');
    BEGIN
      EXECUTE format('CREATE TABLE IF NOT EXISTS public.%I PARTITION OF public.events FOR VALUES FROM (%L) TO (%L)',
        name, day::text, (day + 1)::text);
      RETURN name;
    END
    $fn$`.execute(db);
  await sql`
    CREATE OR REPLACE FUNCTION minisoc_drop_event_partitions_before(cutoff date) RETURNS SETOF text
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $fn$
    DECLARE
      part text;
    BEGIN
      FOR part IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
        JOIN pg_namespace n ON n.oid = p.relnamespace
        WHERE p.relname = 'events' AND n.nspname = 'public' AND c.relname ~ '^events_p[0-9]{8}$'
          AND c.relname < 'events_p' || to_char(cutoff, 'YYYYMMDD')
        ORDER BY c.relname
      LOOP
        EXECUTE format('DROP TABLE IF EXISTS public.%I', part);
        RETURN NEXT part;
      END LOOP;
    END
    $fn$`.execute(db);
}
