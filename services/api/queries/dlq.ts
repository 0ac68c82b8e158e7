// Dead letters: what failed where and why, and retrying them once the cause is fixed.
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { sql, type SqlBool } from 'kysely';
import type { Db } from '../../core/db/index.js';
import { RawBatch } from '../../core/proto.js';
import { lastToken } from '../../core/topology.js';
import { ApiError, decodeCursor, encodeCursor } from '../../core/http.js';
import { audit } from '../../core/audit.js';
import { iso } from '../../core/time.js';

export interface DeadLetterItem {
  id: string;
  stage: string;
  stream: string;
  subject: string;
  sequence: string;
  recordIndex: number;
  sourceId: string | null;
  error: string;
  /** The payload as text when it is one record of text, else its size. */
  preview: string;
  bytes: number;
  failedAt: string;
  retriedAt: string | null;
}

export async function listDeadLetters(db: Db, q: { stage?: string; pending?: boolean }, opts: { limit: number; cursor?: string }): Promise<{ items: DeadLetterItem[]; nextCursor: string | null }> {
  let query = db.selectFrom('dead_letters').selectAll().select(sql<string>`failed_at::text`.as('failed_key'));
  if (q.stage) query = query.where('stage', '=', q.stage);
  if (q.pending) query = query.where('retried_at', 'is', null);
  if (opts.cursor) {
    const [at, id] = decodeCursor(opts.cursor, ['string', 'string']);
    query = query.where(sql<SqlBool>`(failed_at, id) < (${at}::timestamptz, ${id})`);
  }
  const rows = await query.orderBy('failed_at', 'desc').orderBy('id', 'desc').limit(opts.limit + 1).execute();
  const items = rows.slice(0, opts.limit);
  const last = items[items.length - 1];
  return {
    items: items.map((r) => ({
      id: r.id, stage: r.stage, stream: r.stream, subject: r.subject, sequence: String(r.sequence), recordIndex: r.record_index,
      sourceId: r.source_id, error: r.error, preview: r.record_index >= 0 ? r.payload.toString('utf8').slice(0, 500) : '',
      bytes: r.payload.length, failedAt: iso(r.failed_at)!, retriedAt: iso(r.retried_at),
    })),
    nextCursor: rows.length > opts.limit && last ? encodeCursor([last.failed_key, last.id]) : null,
  };
}

/**
 * Republishes dead letters to the subject they failed on: a whole message as it was, one record
 * (record_index >= 0, from normalize) as a RawBatch of that record. Marks them retried. Without ids:
 * every dead letter not yet retried.
 */
export async function retryDeadLetters(db: Db, nc: NatsConnection, ids: string[] | 'all', actor: string): Promise<{ retried: string[] }> {
  let query = db.selectFrom('dead_letters').selectAll();
  query = ids === 'all' ? query.where('retried_at', 'is', null) : query.where('id', 'in', ids.length ? ids : ['']);
  const rows = await query.orderBy('failed_at').orderBy('id').execute();
  if (ids !== 'all') {
    const missing = ids.filter((id) => !rows.some((r) => r.id === id));
    if (missing.length) throw new ApiError(404, `no dead letter ${missing.map((m) => JSON.stringify(m)).join(', ')}`);
  }
  const js = jetstream(nc);
  const retried: string[] = [];
  const stamp = Date.now().toString(36);
  for (const r of rows) {
    let data: Uint8Array = r.payload;
    if (r.record_index >= 0) {
      if (r.stream !== 'INGEST') throw new ApiError(409, `dead letter ${r.id}: a single record of ${r.stream} cannot be retried`);
      data = RawBatch.encode({ source_id: r.source_id ?? lastToken(r.subject), records: [r.payload.toString('utf8')], received_ms: Date.now() }).finish();
    }
    // A new message id per retry: JetStream would drop a second retry inside its duplicate window as a duplicate.
    await js.publish(r.subject, data, { msgID: `retry:${r.id}:${stamp}` });
    await db.updateTable('dead_letters').set({ retried_at: new Date() }).where('id', '=', r.id).execute();
    retried.push(r.id);
  }
  await audit(db, actor, 'dlq.retry', ids === 'all' ? 'all' : ids.join(','), { retried: retried.length });
  return { retried };
}
