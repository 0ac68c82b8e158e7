// The network map's pre-aggregation: connections per hour and address pair, written by the store with the events.
// Frozen in time: never import application code here, never edit after release; add a new migration.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  // One row per hour, address pair and event source. What the map needs per pair is kept beside the counts (the remote
  // side's country and AS, whether threat intel named either address), so the graph never reads an event document.
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
      PRIMARY KEY (bucket, source_ip, destination_ip, source_id)
    )`.execute(db);
  // Which host owned an address in an hour (the address is in the event's host.ip): a small set, inserted once.
  await sql`
    CREATE TABLE network_hosts (
      bucket timestamptz NOT NULL,
      address inet NOT NULL,
      host text NOT NULL,
      PRIMARY KEY (bucket, address, host)
    )`.execute(db);

  // Backfill from the stored events: one pass over every partition, reading the documents (about as long as one
  // run of the old network query per day stored; the store's writes wait for it, since it holds the new tables).
  await sql`
    INSERT INTO network_flows (bucket, source_ip, destination_ip, source_id, connections, bytes, source_country, source_asn,
      destination_country, destination_asn, source_intel, destination_intel)
    SELECT date_trunc('hour', ts), source_ip, destination_ip, source_id, count(*),
      sum(CASE WHEN jsonb_typeof(doc #> '{source,bytes}') = 'number' THEN (doc #>> '{source,bytes}')::float8 ELSE 0 END
        + CASE WHEN jsonb_typeof(doc #> '{destination,bytes}') = 'number' THEN (doc #>> '{destination,bytes}')::float8 ELSE 0 END),
      max(coalesce(nullif(doc #>> '{source,geo,country_iso_code}', ''), nullif(doc #>> '{source,geo,country_name}', ''))),
      max(CASE WHEN jsonb_typeof(doc #> '{source,as,number}') = 'number' THEN (doc #>> '{source,as,number}')::float8::bigint END),
      max(coalesce(nullif(doc #>> '{destination,geo,country_iso_code}', ''), nullif(doc #>> '{destination,geo,country_name}', ''))),
      max(CASE WHEN jsonb_typeof(doc #> '{destination,as,number}') = 'number' THEN (doc #>> '{destination,as,number}')::float8::bigint END),
      bool_or(coalesce(doc #> '{threat,indicator}' @> jsonb_build_array(jsonb_build_object('value', host(source_ip))), false)),
      bool_or(coalesce(doc #> '{threat,indicator}' @> jsonb_build_array(jsonb_build_object('value', host(destination_ip))), false))
    FROM events WHERE source_ip IS NOT NULL AND destination_ip IS NOT NULL
    GROUP BY 1, 2, 3, 4`.execute(db);
  await sql`
    INSERT INTO network_hosts (bucket, address, host)
    SELECT DISTINCT date_trunc('hour', ts), a.address, host_name FROM (
      SELECT ts, host_name, source_ip AS address FROM events WHERE host_name IS NOT NULL AND source_ip IS NOT NULL
        AND jsonb_typeof(doc #> '{host,ip}') = 'array' AND doc #> '{host,ip}' ? host(source_ip)
      UNION ALL
      SELECT ts, host_name, destination_ip FROM events WHERE host_name IS NOT NULL AND destination_ip IS NOT NULL
        AND jsonb_typeof(doc #> '{host,ip}') = 'array' AND doc #> '{host,ip}' ? host(destination_ip)
    ) a`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`DROP TABLE IF EXISTS network_hosts`.execute(db);
  await sql`DROP TABLE IF EXISTS network_flows`.execute(db);
}
