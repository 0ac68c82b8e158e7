// Writes store rows to PostgreSQL: one statement per batch, idempotent under redelivery.
import { sql } from 'kysely';
import { classifyDbError, ensurePartitions, forgetPartitions, pgJson, type Db } from '../core/db/index.js';
import { storeMetrics } from '../core/metrics.js';
import { daysOf, type AlertRow, type DeadLetterRow, type EventRow } from './core.js';
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

/** Inserts events; rows stored before (same day and id) are skipped. Returns the rows inserted. */
export async function insertEvents(db: Db, rows: EventRow[]): Promise<number> {
  if (rows.length === 0) return 0;
  return guarded(async () => {
    await ensurePartitions(db, daysOf(rows));
    const res = await sql`
      INSERT INTO events (id, ts, source_id, kind, category, action, outcome, host_name, agent_id, user_name,
        source_ip, source_port, destination_ip, destination_port, process_name, message, tags, doc)
      SELECT id, ts, source_id, kind, coalesce(category, '{}'), action, outcome, host_name, agent_id, user_name,
        source_ip, source_port, destination_ip, destination_port, process_name, message, coalesce(tags, '{}'), doc
      FROM json_to_recordset(${pgJson(rows)}::json) AS r(id text, ts timestamptz, source_id text, kind text,
        category text[], action text, outcome text, host_name text, agent_id text, user_name text,
        source_ip inet, source_port integer, destination_ip inet, destination_port integer,
        process_name text, message text, tags text[], doc jsonb)
      ON CONFLICT DO NOTHING`.execute(db);
    const inserted = Number(res.numAffectedRows ?? 0);
    storeMetrics.rows.inc({ table: 'events' }, inserted);
    storeMetrics.duplicates.inc({ table: 'events' }, rows.length - inserted);
    return inserted;
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
