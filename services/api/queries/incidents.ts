// Incidents (alerts folded by dedup key), one alert with its events, and audited triage.
import { sql, type Selectable, type SqlBool } from 'kysely';
import type { Db } from '../../core/db/index.js';
import type { AlertsTable } from '../../core/db/schema.js';
import { SEVERITIES } from '../../core/topology.js';
import { ApiError, decodeCursor, encodeCursor, parseTime } from '../../core/http.js';
import { audit } from '../../core/audit.js';
import { iso } from '../../core/time.js';

export const ALERT_STATUSES = ['open', 'acknowledged', 'closed'] as const;
export const CLOSE_REASONS = ['true_positive', 'false_positive', 'benign', 'duplicate'] as const;
export type CloseReason = (typeof CLOSE_REASONS)[number];

export interface IncidentQuery {
  status?: string;
  severity?: string;
  rule?: string;
  host?: string;
  technique?: string;
  since?: string;
  until?: string;
  sort?: 'score' | 'time';
}

export interface Incident {
  id: string;
  ruleId: string;
  ruleTitle: string;
  level: string;
  score: number;
  status: string;
  count: number;
  firstSeen: string;
  lastSeen: string;
  techniques: string[];
  tactics: string[];
  tags: string[];
  hostName: string | null;
  userName: string | null;
  sourceIp: string | null;
  destinationIp: string | null;
  agentId: string | null;
  assignee: string | null;
  closeReason: string | null;
  description: string | null;
}

export function incidentItem(r: Selectable<AlertsTable>): Incident {
  return {
    id: r.id, ruleId: r.rule_id, ruleTitle: r.rule_title, level: r.level, score: r.score, status: r.status, count: r.count,
    firstSeen: iso(r.first_seen)!, lastSeen: iso(r.last_seen)!, techniques: r.techniques ?? [], tactics: r.tactics ?? [], tags: r.tags ?? [],
    hostName: r.host_name, userName: r.user_name, sourceIp: r.source_ip, destinationIp: r.destination_ip, agentId: r.agent_id,
    assignee: r.assignee, closeReason: r.close_reason, description: r.description,
  };
}

function oneOf<T extends string>(what: string, v: string, allowed: readonly T[]): T[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) if (!(allowed as readonly string[]).includes(s)) throw new ApiError(400, `${what} ${JSON.stringify(s)}: expected one of ${allowed.join(', ')}`);
  return list as T[];
}

/** The filtered alerts; status and severity take comma-separated lists (status=open,acknowledged). */
export function filteredAlerts(db: Db, q: IncidentQuery) {
  let query = db.selectFrom('alerts');
  if (q.status) query = query.where('status', 'in', oneOf('status', q.status, ALERT_STATUSES));
  if (q.severity) query = query.where('level', 'in', oneOf('severity', q.severity, SEVERITIES));
  if (q.rule) query = query.where('rule_id', '=', q.rule);
  if (q.host) query = query.where('host_name', '=', q.host.toLowerCase());
  if (q.technique) {
    if (!/^T\d{4}(\.\d{3})?$/i.test(q.technique)) throw new ApiError(400, `technique ${JSON.stringify(q.technique)}: expected a MITRE ATT&CK id such as T1110 or T1110.001`);
    const t = q.technique.toUpperCase();
    // T1110 also finds its sub-techniques (T1110.001, ...).
    query = query.where((eb) => eb.or([
      sql<SqlBool>`${eb.ref('techniques')} @> ARRAY[${t}]::text[]`,
      sql<SqlBool>`EXISTS (SELECT 1 FROM unnest(${eb.ref('techniques')}) AS x WHERE x LIKE ${t + '.%'})`,
    ]));
  }
  if (q.since) query = query.where('last_seen', '>=', parseTime('since', q.since));
  if (q.until) query = query.where('first_seen', '<', parseTime('until', q.until));
  return query;
}

/** Newest (sort=time, by last seen) or highest score first, keyset-paged. */
export async function listIncidents(db: Db, q: IncidentQuery, opts: { limit: number; cursor?: string }): Promise<{ items: Incident[]; nextCursor: string | null }> {
  const byScore = q.sort === 'score';
  let query = filteredAlerts(db, q).selectAll().select(sql<string>`last_seen::text`.as('seen_key'));
  if (opts.cursor) {
    if (byScore) {
      const [score, seen, id] = decodeCursor(opts.cursor, ['number', 'string', 'string']);
      query = query.where(sql<SqlBool>`(score, last_seen, id) < (${score}::float8, ${seen}::timestamptz, ${id})`);
    } else {
      const [seen, id] = decodeCursor(opts.cursor, ['string', 'string']);
      query = query.where(sql<SqlBool>`(last_seen, id) < (${seen}::timestamptz, ${id})`);
    }
  }
  if (byScore) query = query.orderBy('score', 'desc');
  const rows = await query.orderBy('last_seen', 'desc').orderBy('id', 'desc').limit(opts.limit + 1).execute();
  const items = rows.slice(0, opts.limit);
  const last = items[items.length - 1];
  const nextCursor = rows.length > opts.limit && last
    ? encodeCursor(byScore ? [last.score, last.seen_key, last.id] : [last.seen_key, last.id]) : null;
  return { items: items.map(incidentItem), nextCursor };
}

export async function getAlert(db: Db, id: string): Promise<{ alert: Incident & { doc: unknown }; events: unknown[] }> {
  const row = await db.selectFrom('alerts').selectAll().where('id', '=', id).executeTakeFirst();
  if (!row) throw new ApiError(404, `no alert ${JSON.stringify(id)}`);
  const ids = row.event_ids ?? [];
  // Events are partitioned by day; the alert's time span bounds the partitions read (a day of slack for late events).
  const events = ids.length === 0 ? [] : await db.selectFrom('events').select(['doc', 'ts', 'id'])
    .where('id', 'in', ids)
    .where('ts', '>=', new Date(new Date(row.first_seen).getTime() - 86_400_000))
    .where('ts', '<=', new Date(new Date(row.last_seen).getTime() + 86_400_000))
    .orderBy('ts').orderBy('id').execute();
  return { alert: { ...incidentItem(row), doc: row.doc }, events: events.map((e) => e.doc) };
}

export interface Triage {
  status?: (typeof ALERT_STATUSES)[number];
  closeReason?: CloseReason;
  assignee?: string | null;
  comment?: string;
}

/** Changes status, close reason or assignee, and writes who did what to the audit log in the same transaction. */
export async function triageAlert(db: Db, id: string, t: Triage, actor: string): Promise<Incident> {
  if (t.status === 'closed' && !t.closeReason) throw new ApiError(400, `closeReason is required to close an alert: one of ${CLOSE_REASONS.join(', ')}`);
  if (t.closeReason && t.status !== 'closed') throw new ApiError(400, 'closeReason goes with status "closed"');
  if (t.status === undefined && t.assignee === undefined && t.comment === undefined) throw new ApiError(400, 'nothing to change: give status, assignee or comment');
  return db.transaction().execute(async (tx) => {
    const before = await tx.selectFrom('alerts').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
    if (!before) throw new ApiError(404, `no alert ${JSON.stringify(id)}`);
    if (t.status && t.status !== 'closed' && before.status === 'closed') {
      // Reopening could break the one-open-alert-per-dedup-key rule; a new match opens a new alert instead.
      throw new ApiError(409, `alert ${id} is closed; closed alerts are not reopened (the next match opens a new one)`);
    }
    const set: Record<string, unknown> = { updated_at: new Date() };
    if (t.status) { set.status = t.status; set.close_reason = t.status === 'closed' ? t.closeReason : null; }
    if (t.assignee !== undefined) set.assignee = t.assignee;
    const after = Object.keys(set).length > 1
      ? await tx.updateTable('alerts').set(set).where('id', '=', id).returningAll().executeTakeFirstOrThrow()
      : before;
    await audit(tx, actor, 'alert.triage', id, {
      from: { status: before.status, assignee: before.assignee, closeReason: before.close_reason },
      to: { status: after.status, assignee: after.assignee, closeReason: after.close_reason },
      ...(t.comment ? { comment: t.comment } : {}),
    });
    return incidentItem(after);
  });
}
