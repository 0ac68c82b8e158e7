// Writes store rows to PostgreSQL: a batch of events as one COPY (or one statement), idempotent under redelivery.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { sql } from 'kysely';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { classifyDbError, ensurePartitions, forgetPartitions, pgJson, poolOf, type Db } from '../core/db/index.js';
import { storeMetrics } from '../core/metrics.js';
import { daysOf, type AlertRow, type DeadLetterRow, type EventRow } from './core.js';
import { COPY_COLUMNS, COPY_OPTIONS, copyText, networkOf } from './copy.js';
import { activeSuppressions, suppressedBy } from './suppressions.js';

async function guarded<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    // A partition dropped by retention in another process: forget what we knew and let the retry recreate it.
    if ((err as { code?: string }).code === '23514') forgetPartitions();
    throw classifyDbError(err);
  }
}

// A deadlock or serialization failure between concurrent batches is retried here at once, a few times, before the
// runner's backoff takes over: the statement rolled back whole, so running it again counts nothing twice.
const CONCURRENCY_CODES = new Set(['40P01', '40001']);
const CONCURRENCY_RETRIES = 3;

async function retryConcurrency<T>(work: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (attempt > CONCURRENCY_RETRIES || !CONCURRENCY_CODES.has((err as { code?: string }).code ?? '')) throw err;
      storeMetrics.retries.inc({ table: 'events' });
    }
  }
}

/** How a connection row merges into the hour's row of its pair: both store paths upsert network_flows with it. */
const FLOWS_MERGE = `
  ON CONFLICT (bucket, source_ip, destination_ip, source_id) DO UPDATE SET
    connections = f.connections + excluded.connections,
    bytes = f.bytes + excluded.bytes,
    source_country = coalesce(excluded.source_country, f.source_country),
    source_asn = coalesce(excluded.source_asn, f.source_asn),
    destination_country = coalesce(excluded.destination_country, f.destination_country),
    destination_asn = coalesce(excluded.destination_asn, f.destination_asn),
    source_intel = f.source_intel OR excluded.source_intel,
    destination_intel = f.destination_intel OR excluded.destination_intel`;

// The batch's connections, summed in Node (networkOf), summed again per key here (two spellings of one address are
// one inet) and upserted in key order, so concurrent batches touching the same pairs lock them in one order.
const FLOWS_UPSERT = `
  INSERT INTO network_flows AS f (bucket, source_ip, destination_ip, source_id, connections, bytes, source_country, source_asn,
    destination_country, destination_asn, source_intel, destination_intel)
  SELECT date_trunc('hour', bucket), source_ip, destination_ip, source_id, sum(connections), sum(bytes), max(source_country), max(source_asn),
    max(destination_country), max(destination_asn), bool_or(source_intel), bool_or(destination_intel)
  FROM json_to_recordset($1::json) AS r(bucket timestamptz, source_ip inet, destination_ip inet, source_id text, connections bigint,
    bytes float8, source_country text, source_asn bigint, destination_country text, destination_asn bigint, source_intel boolean,
    destination_intel boolean)
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ${FLOWS_MERGE}`;

const HOSTS_INSERT = `
  INSERT INTO network_hosts (bucket, address, host)
  SELECT DISTINCT date_trunc('hour', bucket), address, host FROM json_to_recordset($1::json) AS r(bucket timestamptz, address inet, host text)
  ORDER BY 1, 2, 3
  ON CONFLICT DO NOTHING`;

const COPY_EVENTS = `COPY events (${COPY_COLUMNS.join(', ')}) FROM STDIN ${COPY_OPTIONS}`;

/**
 * The fast path: the batch as one COPY and its aggregates, in one transaction. COPY inserts every row or none: a row
 * stored before (a redelivery) fails it with a unique violation, and the caller then stores the batch row by row.
 */
async function copyEvents(pool: pg.Pool, rows: EventRow[]): Promise<number> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await pipeline(Readable.from([copyText(rows)]), client.query(copyFrom(COPY_EVENTS)));
    const { flows, hosts } = networkOf(rows);
    if (flows.length > 0) await client.query(FLOWS_UPSERT, [pgJson(flows)]);
    if (hosts.length > 0) await client.query(HOSTS_INSERT, [pgJson(hosts)]);
    await client.query('COMMIT');
    return rows.length;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: unknown) => { broken = e as Error; });
    throw err;
  } finally {
    client.release(broken);
  }
}

/** Why COPY refused a batch that the statement path should store instead, or undefined for any other failure. */
function fallbackReason(err: unknown): 'duplicate' | 'value' | undefined {
  const code = (err as { code?: string }).code ?? '';
  // 23505: a row of the batch is stored already (a redelivery, or the same event twice in the batch).
  if (code === '23505') return 'duplicate';
  // Class 22 (a value the column refuses, such as a bad address): the statement path fails or stores it as before.
  if (code.startsWith('22')) return 'value';
  return undefined;
}

/**
 * Inserts events; rows stored before (same day and id) are skipped. Returns the rows inserted.
 * First as one COPY; when that meets a row stored before, the statement below stores the batch row by row (ON
 * CONFLICT DO NOTHING) and adds the inserted rows, and only those, to the network map's aggregates (network_flows,
 * network_hosts) in the same statement: a redelivered batch inserts no event, so it counts no connection twice.
 */
export async function insertEvents(db: Db, rows: EventRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  return guarded(async () => {
    await ensurePartitions(db, daysOf(rows));
    const pool = poolOf(db);
    if (pool) {
      try {
        const inserted = await retryConcurrency(() => copyEvents(pool, rows));
        storeMetrics.rows.inc({ table: 'events' }, inserted);
        return inserted;
      } catch (err) {
        const reason = fallbackReason(err);
        if (!reason) throw err;
        storeMetrics.copyFallbacks.inc({ reason });
      }
    }
    const res = await retryConcurrency(() => sql<{ inserted: number }>`
      WITH r AS MATERIALIZED (
        SELECT * FROM json_to_recordset(${pgJson(rows)}::json) AS r(id text, ts timestamptz, source_id text, kind text,
          category text[], action text, outcome text, host_name text, agent_id text, user_name text,
          source_ip inet, source_port integer, destination_ip inet, destination_port integer,
          process_name text, message text, tags text[], doc jsonb, flow_bytes float8, source_country text, source_asn bigint,
          destination_country text, destination_asn bigint, source_intel boolean, destination_intel boolean, host_addresses inet[])
      ), ins AS (
        INSERT INTO events (id, ts, source_id, kind, category, action, outcome, host_name, agent_id, user_name,
          source_ip, source_port, destination_ip, destination_port, process_name, message, tags, doc)
        SELECT id, ts, source_id, kind, coalesce(category, '{}'), action, outcome, host_name, agent_id, user_name,
          source_ip, source_port, destination_ip, destination_port, process_name, message, coalesce(tags, '{}'), doc
        FROM r
        ON CONFLICT DO NOTHING
        RETURNING id, ts
      ), new AS (
        -- One input row per inserted event, even if a batch carried the same event twice.
        SELECT DISTINCT ON (r.id, r.ts) r.* FROM r JOIN ins ON ins.id = r.id AND ins.ts = r.ts
      ), flows AS (
        INSERT INTO network_flows AS f (bucket, source_ip, destination_ip, source_id, connections, bytes, source_country,
          source_asn, destination_country, destination_asn, source_intel, destination_intel)
        SELECT date_trunc('hour', ts), source_ip, destination_ip, source_id, count(*), sum(coalesce(flow_bytes, 0)),
          max(source_country), max(source_asn), max(destination_country), max(destination_asn),
          bool_or(coalesce(source_intel, false)), bool_or(coalesce(destination_intel, false))
        FROM new WHERE source_ip IS NOT NULL AND destination_ip IS NOT NULL
        GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
        ${sql.raw(FLOWS_MERGE)}
        RETURNING 1
      ), owned AS (
        INSERT INTO network_hosts (bucket, address, host)
        SELECT DISTINCT date_trunc('hour', ts), a, host_name FROM new, unnest(host_addresses) AS a
        WHERE host_name IS NOT NULL ORDER BY 1, 2, 3
        ON CONFLICT DO NOTHING
        RETURNING 1
      )
      SELECT (SELECT count(*) FROM ins)::int AS inserted, (SELECT count(*) FROM flows)::int AS flows, (SELECT count(*) FROM owned)::int AS owned`.execute(db));
    const inserted = res.rows[0]?.inserted ?? 0;
    storeMetrics.rows.inc({ table: 'events' }, inserted);
    storeMetrics.duplicates.inc({ table: 'events' }, rows.length - inserted);
    return inserted;
  });
}

/**
 * Rebuilds the network map's aggregates of [since, until) from the stored events (whole hours): for data loaded
 * around the store (the query bench, a restore). The same sums as the store's own, read from the documents.
 */
export async function rebuildNetworkAggregates(db: Db, since: Date, until: Date): Promise<void> {
  await db.transaction().execute(async (tx) => {
    await sql`DELETE FROM network_flows WHERE bucket >= date_trunc('hour', ${since}::timestamptz) AND bucket < ${until}`.execute(tx);
    await sql`DELETE FROM network_hosts WHERE bucket >= date_trunc('hour', ${since}::timestamptz) AND bucket < ${until}`.execute(tx);
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
      FROM events WHERE ts >= date_trunc('hour', ${since}::timestamptz) AND ts < ${until}
        AND source_ip IS NOT NULL AND destination_ip IS NOT NULL
      GROUP BY 1, 2, 3, 4`.execute(tx);
    await sql`
      INSERT INTO network_hosts (bucket, address, host)
      SELECT DISTINCT date_trunc('hour', ts), a.address, host_name FROM (
        SELECT ts, host_name, source_ip AS address FROM events WHERE host_name IS NOT NULL AND source_ip IS NOT NULL
          AND jsonb_typeof(doc #> '{host,ip}') = 'array' AND doc #> '{host,ip}' ? host(source_ip)
        UNION ALL
        SELECT ts, host_name, destination_ip FROM events WHERE host_name IS NOT NULL AND destination_ip IS NOT NULL
          AND jsonb_typeof(doc #> '{host,ip}') = 'array' AND doc #> '{host,ip}' ? host(destination_ip)
      ) a WHERE ts >= date_trunc('hour', ${since}::timestamptz) AND ts < ${until}`.execute(tx);
  });
}

/**
 * Stores alerts. Each alert (by its deterministic id) is recorded once in alert_matches, and a match
 * whose dedup key has an open alert folds into it (count, last seen, events) instead of opening another.
 * Alert rows take the id of their first match, so ids never collide.
 */
export async function insertAlerts(db: Db, rows: AlertRow[], closes: boolean[] = []): Promise<number> {
  if (rows.length === 0) return 0;
  const muted = await guarded(() => activeSuppressions(db));
  return guarded(() => db.transaction().execute(async (tx) => {
    let opened = 0;
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const first = await sql`INSERT INTO alert_matches (match_id, alert_id) VALUES (${r.match_id}, ${r.id}) ON CONFLICT DO NOTHING`.execute(tx);
      if (Number(first.numAffectedRows ?? 0) === 0) continue;
      if (closes[i]) {
        await sql`UPDATE alerts SET status = 'closed', close_reason = 'resolved', updated_at = now()
          WHERE dedup_key = ${r.dedup_key} AND status <> 'closed'`.execute(tx);
        continue;
      }
      // A suppressed match is counted on its suppression instead of alerting.
      const suppression = suppressedBy(muted, r);
      if (suppression) {
        await sql`UPDATE suppressions SET hits = hits + 1 WHERE id = ${suppression.id}`.execute(tx);
        continue;
      }
      const res = await sql<{ inserted: boolean }>`
        INSERT INTO alerts (id, dedup_key, rule_id, rule_title, level, score, count, first_seen, last_seen, techniques,
          tactics, tags, event_ids, host_name, user_name, source_ip, destination_ip, agent_id, source_id, description, doc)
        SELECT id, dedup_key, rule_id, rule_title, level, score, count, first_seen, last_seen, coalesce(techniques, '{}'),
          coalesce(tactics, '{}'), coalesce(tags, '{}'), coalesce(event_ids, '{}'), host_name, user_name, source_ip,
          destination_ip, agent_id, source_id, description, doc
        FROM json_to_record(${pgJson(r)}::json) AS r(id text, dedup_key text, rule_id text, rule_title text, level text,
          score double precision, count integer, first_seen timestamptz, last_seen timestamptz, techniques text[],
          tactics text[], tags text[], event_ids text[], host_name text, user_name text, source_ip inet,
          destination_ip inet, agent_id text, source_id text, description text, doc jsonb)
        ON CONFLICT (dedup_key) WHERE status <> 'closed' DO UPDATE SET
          count = alerts.count + excluded.count,
          first_seen = least(alerts.first_seen, excluded.first_seen),
          last_seen = greatest(alerts.last_seen, excluded.last_seen),
          score = greatest(alerts.score, excluded.score),
          event_ids = (alerts.event_ids || excluded.event_ids)[1:1000],
          updated_at = now()
        RETURNING (xmax = 0) AS inserted`.execute(tx);
      if (res.rows[0]?.inserted) opened++;
    }
    storeMetrics.rows.inc({ table: 'alerts' }, opened);
    return opened;
  }));
}

export async function insertDeadLetters(db: Db, rows: DeadLetterRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  return guarded(async () => {
    const res = await sql`
      INSERT INTO dead_letters (id, stage, stream, subject, sequence, record_index, source_id, error, payload, failed_at)
      SELECT id, stage, stream, subject, sequence, record_index, source_id, error, decode(payload, 'base64'), failed_at
      FROM json_to_recordset(${pgJson(rows)}::json) AS r(id text, stage text, stream text, subject text, sequence bigint,
        record_index integer, source_id text, error text, payload text, failed_at timestamptz)
      ON CONFLICT DO NOTHING`.execute(db);
    const inserted = Number(res.numAffectedRows ?? 0);
    storeMetrics.rows.inc({ table: 'dead_letters' }, inserted);
    return inserted;
  });
}
