// The audit log as the API reads it: newest first, filtered by actor, action and time, keyset-paged by id.
import type { Db } from '../../core/db/index.js';
import { decodeCursor, encodeCursor, parseTime } from '../../core/http.js';

export interface AuditQuery {
  actor?: string;
  /** An action (`login.failed`) or a family of them (`login.*`). */
  action?: string;
  since?: string;
  until?: string;
}

export interface AuditItem { id: string; at: string; actor: string; action: string; target: string | null; detail: unknown }

export async function listAudit(db: Db, q: AuditQuery, o: { limit: number; cursor?: string }): Promise<{ items: AuditItem[]; nextCursor: string | null }> {
  let query = db.selectFrom('audit_log').select(['id', 'at', 'actor', 'action', 'target', 'detail']);
  if (q.actor) query = query.where('actor', '=', q.actor);
  if (q.action?.endsWith('.*')) query = query.where('action', 'like', `${q.action.slice(0, -2).replace(/[\\%_]/g, (c) => `\\${c}`)}.%`);
  else if (q.action) query = query.where('action', '=', q.action);
  if (q.since) query = query.where('at', '>=', parseTime('since', q.since));
  if (q.until) query = query.where('at', '<', parseTime('until', q.until));
  if (o.cursor) query = query.where('id', '<', String(decodeCursor(o.cursor, ['string'])[0]));
  const rows = await query.orderBy('id', 'desc').limit(o.limit + 1).execute();
  const more = rows.length > o.limit;
  const items = rows.slice(0, o.limit).map((r) => ({ id: String(r.id), at: new Date(r.at).toISOString(), actor: r.actor, action: r.action, target: r.target, detail: r.detail }));
  return { items, nextCursor: more ? encodeCursor([items.at(-1)!.id]) : null };
}
