// Exports of events or alerts as CSV or NDJSON, streamed from a server-side cursor in constant memory.
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { sql } from 'kysely';
import type pg from 'pg';
import QueryStream from 'pg-query-stream';
import type { Db } from '../../core/db/index.js';
import { eventFilter, filteredEvents, type EventQuery } from './events.js';
import { filteredAlerts, incidentItem, type IncidentQuery } from './incidents.js';

export const EXPORT_KINDS = ['events', 'alerts'] as const;
export const EXPORT_FORMATS = ['csv', 'ndjson'] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const EVENT_COLUMNS = ['ts', 'id', 'source_id', 'host_name', 'agent_id', 'category', 'action', 'outcome', 'source_ip', 'source_port',
  'destination_ip', 'destination_port', 'user_name', 'process_name', 'message'] as const;
export const ALERT_COLUMNS = ['id', 'rule_id', 'rule_title', 'level', 'score', 'status', 'count', 'first_seen', 'last_seen', 'techniques', 'tactics',
  'host_name', 'user_name', 'source_ip', 'destination_ip', 'agent_id', 'assignee', 'close_reason', 'description'] as const;

export interface Export {
  stream: Readable;
  filename: string;
  contentType: string;
  /** Resolves when every row was written (or rejects with why not); the cursor's connection is back in the pool. */
  done: Promise<void>;
}

/** Rows read from the cursor per round trip: large enough to be fast, small enough to stay a few MB. */
const BATCH_ROWS = 1000;

/** The compiled query of an export: the same filters as the listings, oldest first. */
export function exportQuery(db: Db, kind: ExportKind, format: ExportFormat, q: EventQuery & IncidentQuery): { sql: string; parameters: readonly unknown[] } {
  if (kind === 'events') {
    const base = filteredEvents(db, eventFilter(q)).orderBy('ts').orderBy('id');
    // NDJSON carries the ECS document as Postgres wrote it: no parse and re-serialization per row.
    return format === 'ndjson' ? base.select(sql<string>`doc::text`.as('doc')).compile() : base.select([...EVENT_COLUMNS]).compile();
  }
  return filteredAlerts(db, q).selectAll().orderBy('last_seen').orderBy('id').compile();
}

/** How many rows an export will write (for a progress bar). */
export async function exportCount(db: Db, kind: ExportKind, q: EventQuery & IncidentQuery): Promise<number> {
  const base = kind === 'events' ? filteredEvents(db, eventFilter(q)) : filteredAlerts(db, q);
  const row = await (base as ReturnType<typeof filteredAlerts>).select(sql<number>`count(*)::int`.as('n')).executeTakeFirstOrThrow();
  return row.n;
}

function csvCell(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return v.join(';');
  return v;
}

/**
 * Starts an export on a connection of `pool`. Rows flow cursor -> formatter -> the returned stream, and
 * the cursor reads the next batch only when the consumer has taken the previous one (backpressure).
 */
export async function startExport(pool: pg.Pool, db: Db, kind: ExportKind, format: ExportFormat, q: EventQuery & IncidentQuery,
  opts: { onRow?: () => void; nowMs?: number } = {}): Promise<Export> {
  const compiled = exportQuery(db, kind, format, q);
  const columns = kind === 'events' ? EVENT_COLUMNS : ALERT_COLUMNS;
  const client = await pool.connect();
  const rows = client.query(new QueryStream(compiled.sql, compiled.parameters as unknown[], { batchSize: BATCH_ROWS, highWaterMark: BATCH_ROWS }));
  const toLine = new Transform({
    writableObjectMode: true,
    writableHighWaterMark: BATCH_ROWS,
    transform(row: Record<string, unknown>, _enc, cb) {
      opts.onRow?.();
      if (format === 'ndjson') return cb(null, kind === 'events' ? `${row.doc as string}\n` : `${JSON.stringify(incidentItem(row as never))}\n`);
      const out: unknown[] = [];
      for (const c of columns) out.push(csvCell(row[c]));
      cb(null, out);
    },
    readableObjectMode: format === 'csv',
  });
  const stages: Transform[] = [toLine];
  if (format === 'csv') stages.push(stringify({ header: true, columns: [...columns], quoted_match: /[\r\n]/ }));
  const out: Readable = stages[stages.length - 1]!;
  const done = pipeline(rows, ...(stages as [Transform])).then(
    () => client.release(),
    (err: unknown) => {
      // A cursor stopped half way (client went away) leaves the connection mid-protocol: discard it.
      client.release(true);
      throw err;
    },
  );
  // The pipeline's failure reaches the reader as a stream error; the promise is for callers who wait.
  done.catch(() => undefined);
  const stamp = new Date(opts.nowMs ?? Date.now()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return {
    stream: out, done,
    filename: `minisoc-${kind}-${stamp}.${format}`,
    contentType: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
  };
}
