// Incidents (alerts folded by dedup key), one alert with its events, and audited triage.
import { sql, type Selectable, type SqlBool } from 'kysely';
import type { Db } from '../../core/db/index.js';
import type { AlertsTable } from '../../core/db/schema.js';
import { SEVERITIES } from '../../core/topology.js';
import { ApiError, decodeCursor, encodeCursor, parseTime } from '../../core/http.js';
import { audit, auditEach } from '../../core/audit.js';
import { iso } from '../../core/time.js';
import { tacticName, technique } from '../../detect/mitre/index.js';
import { likeEscape } from './events.js';

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
  /** Words each found in the rule title or id, host, user, an address or a technique id (case-insensitive), or the alert id. */
  q?: string;
  /** Exactly this dedup key (the live view links to the incident of a folded alert by it). */
  dedup?: string;
}

/** Bounds of a search: longer text or more words are refused rather than run. */
export const MAX_SEARCH_CHARS = 200;
export const MAX_SEARCH_TERMS = 8;

/** An ATT&CK technique or tactic with its name ('' when the shipped table does not know the id). */
export interface Named { id: string; name: string }

export interface Incident {
  id: string;
  dedupKey: string;
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
  mitre: { techniques: Named[]; tactics: Named[] };
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

/** The names of technique ids and tactic shortnames, from the ATT&CK table the detect engine ships. */
export function mitreNames(techniques: readonly string[], tactics: readonly string[]): Incident['mitre'] {
  return {
    techniques: techniques.map((id) => ({ id, name: technique(id)?.name ?? '' })),
    tactics: tactics.map((id) => ({ id, name: tacticName(id) ?? '' })),
  };
}

export function incidentItem(r: Selectable<AlertsTable>): Incident {
  const techniques = r.techniques ?? [];
  const tactics = r.tactics ?? [];
  return {
    id: r.id, dedupKey: r.dedup_key, ruleId: r.rule_id, ruleTitle: r.rule_title, level: r.level, score: r.score, status: r.status, count: r.count,
    firstSeen: iso(r.first_seen)!, lastSeen: iso(r.last_seen)!, techniques, tactics, mitre: mitreNames(techniques, tactics), tags: r.tags ?? [],
    hostName: r.host_name, userName: r.user_name, sourceIp: r.source_ip, destinationIp: r.destination_ip, agentId: r.agent_id,
    assignee: r.assignee, closeReason: r.close_reason, description: r.description,
  };
}

function oneOf<T extends string>(what: string, v: string, allowed: readonly T[]): T[] {
  const list = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const s of list) if (!(allowed as readonly string[]).includes(s)) throw new ApiError(400, `${what} ${JSON.stringify(s)}: expected one of ${allowed.join(', ')}`);
  return list as T[];
}

/** The words of a search, each to be found somewhere; refused past MAX_SEARCH_CHARS or MAX_SEARCH_TERMS. */
export function searchTerms(q: string): string[] {
  if (q.length > MAX_SEARCH_CHARS) throw new ApiError(400, `q: at most ${MAX_SEARCH_CHARS} characters (got ${q.length})`);
  const terms = q.split(/\s+/).filter(Boolean);
  if (terms.length > MAX_SEARCH_TERMS) throw new ApiError(400, `q: at most ${MAX_SEARCH_TERMS} words (got ${terms.length})`);
  return terms;
}

/** The filtered alerts; status and severity take comma-separated lists (status=open,acknowledged). */
export function filteredAlerts(db: Db, q: IncidentQuery) {
  let query = db.selectFrom('alerts');
  if (q.status) query = query.where('status', 'in', oneOf('status', q.status, ALERT_STATUSES));
  if (q.severity) query = query.where('level', 'in', oneOf('severity', q.severity, SEVERITIES));
  if (q.rule) query = query.where('rule_id', '=', q.rule);
  if (q.host) query = query.where('host_name', '=', q.host.toLowerCase());
  if (q.dedup) query = query.where('dedup_key', '=', q.dedup);
  if (q.technique) {
    if (!/^T\d{4}(\.\d{3})?$/i.test(q.technique)) throw new ApiError(400, `technique ${JSON.stringify(q.technique)}: expected a MITRE ATT&CK id such as T1110 or T1110.001`);
    const t = q.technique.toUpperCase();
    // T1110 also finds its sub-techniques (T1110.001, ...).
    query = query.where((eb) => eb.or([
      sql<SqlBool>`${eb.ref('techniques')} @> ARRAY[${t}]::text[]`,
      sql<SqlBool>`EXISTS (SELECT 1 FROM unnest(${eb.ref('techniques')}) AS x WHERE x LIKE ${t + '.%'})`,
    ]));
  }
  // Every word of q must be found in one of the fields; each is a bound parameter, matched literally (LIKE escaped).
  for (const term of q.q ? searchTerms(q.q) : []) {
    const like = `%${likeEscape(term)}%`;
    query = query.where((eb) => eb.or([
      sql<SqlBool>`${eb.ref('rule_title')} ILIKE ${like} ESCAPE '\\'`,
      sql<SqlBool>`${eb.ref('rule_id')} ILIKE ${like} ESCAPE '\\'`,
      sql<SqlBool>`${eb.ref('host_name')} ILIKE ${like} ESCAPE '\\'`,
      sql<SqlBool>`${eb.ref('user_name')} ILIKE ${like} ESCAPE '\\'`,
      sql<SqlBool>`host(${eb.ref('source_ip')}) ILIKE ${like} ESCAPE '\\'`,
      sql<SqlBool>`host(${eb.ref('destination_ip')}) ILIKE ${like} ESCAPE '\\'`,
      sql<SqlBool>`array_to_string(${eb.ref('techniques')}, ' ') ILIKE ${like} ESCAPE '\\'`,
      eb('id', '=', term),
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

/** What triage changes: the status, close reason and assignee before and after. */
export interface TriageState { status: string; assignee: string | null; closeReason: string | null }

/** One audited change of an alert: who, what, when and why. */
export interface HistoryEntry {
  at: string;
  actor: string;
  action: string;
  from: TriageState | null;
  to: TriageState | null;
  comment: string | null;
  /** How many alerts the same bulk change made (absent for a change of this alert alone). */
  bulk?: number;
}

/** How much of an alert's history is returned (oldest first): a bound, not a page. */
export const HISTORY_LIMIT = 500;

function triageState(v: unknown): TriageState | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  const str = (x: unknown) => (typeof x === 'string' ? x : null);
  return { status: str(o.status) ?? '', assignee: str(o.assignee), closeReason: str(o.closeReason) };
}

/** The audit rows of one alert, oldest first: its triage history. */
export async function alertHistory(db: Db, id: string): Promise<HistoryEntry[]> {
  const rows = await db.selectFrom('audit_log').select(['at', 'actor', 'action', 'detail'])
    .where('target', '=', id).where('action', 'like', 'alert.%')
    .orderBy('id').limit(HISTORY_LIMIT).execute();
  return rows.map((r) => {
    const d = (r.detail && typeof r.detail === 'object' ? r.detail : {}) as Record<string, unknown>;
    return {
      at: iso(r.at)!, actor: r.actor, action: r.action, from: triageState(d.from), to: triageState(d.to),
      comment: typeof d.comment === 'string' ? d.comment : null,
      ...(typeof d.bulk === 'number' ? { bulk: d.bulk } : {}),
    };
  });
}

export interface Triage {
  status?: (typeof ALERT_STATUSES)[number];
  closeReason?: CloseReason;
  assignee?: string | null;
  comment?: string;
}

function checkTriage(t: Triage): void {
  if (t.status === 'closed' && !t.closeReason) throw new ApiError(400, `closeReason is required to close an alert: one of ${CLOSE_REASONS.join(', ')}`);
  if (t.closeReason && t.status !== 'closed') throw new ApiError(400, 'closeReason goes with status "closed"');
  if (t.status === undefined && t.assignee === undefined && t.comment === undefined) throw new ApiError(400, 'nothing to change: give status, assignee or comment');
}

/**
 * Why a change cannot be made to an alert as it stands, or undefined when it can. A closed alert accepts only
 * reopening (status open), an assignee and a comment; whether reopening is possible depends on the other alerts of
 * its dedup key, which triageAlert asks the database.
 */
export function triageRefusal(before: { id: string; status: string; close_reason: string | null }, t: Triage): string | undefined {
  if (before.status !== 'closed' || t.status === undefined || t.status === 'open') return undefined;
  if (t.status === 'closed') return `alert ${before.id} is closed already (${before.close_reason ?? 'no reason'}): reopen it first to close it with another reason`;
  return `alert ${before.id} is closed: a closed alert accepts only reopening (status "open"), an assignee or a comment`;
}

/** Postgres's unique_violation: here, a second alert of a dedup key that is not closed (index alerts_open_dedup). */
const UNIQUE_VIOLATION = '23505';

/**
 * Changes status, close reason or assignee, and writes who did what (and the comment) to the audit log in the same
 * transaction. Reopening a closed alert is refused (409) only when its dedup key has another alert that is not
 * closed: the store folds new matches into that one, and the two cannot both be open.
 */
export async function triageAlert(db: Db, id: string, t: Triage, actor: string): Promise<Incident> {
  checkTriage(t);
  try {
    return await db.transaction().execute(async (tx) => {
      const before = await tx.selectFrom('alerts').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
      if (!before) throw new ApiError(404, `no alert ${JSON.stringify(id)}`);
      const refusal = triageRefusal(before, t);
      if (refusal) throw new ApiError(409, refusal);
      if (t.status === 'open' && before.status === 'closed') {
        const other = await tx.selectFrom('alerts').select(['id', 'status', 'first_seen']).where('dedup_key', '=', before.dedup_key)
          .where('status', '<>', 'closed').where('id', '<>', id).executeTakeFirst();
        if (other) throw reopenConflict(before, other);
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
  } catch (err) {
    // The store opened a new alert of the same dedup key between our check and the update.
    if ((err as { code?: string }).code === UNIQUE_VIOLATION) {
      throw new ApiError(409, `alert ${id} cannot be reopened: a newer open alert of the same dedup key was opened meanwhile; triage that one instead`);
    }
    throw err;
  }
}

function reopenConflict(before: Selectable<AlertsTable>, other: { id: string; status: string; first_seen: Date }): ApiError {
  const newer = new Date(other.first_seen) >= new Date(before.first_seen);
  return new ApiError(409, `alert ${before.id} cannot be reopened: the same dedup key already has ${newer ? 'a newer' : 'another'} open alert ${other.id} (${other.status}), `
    + 'which new matches fold into; triage that one instead');
}

export const BULK_ACTIONS = ['ack', 'close', 'assign'] as const;
export type BulkAction = (typeof BULK_ACTIONS)[number];
/** At most this many alerts per bulk change (one transaction, one statement each for the update and the audit). */
export const MAX_BULK_IDS = 200;

export interface BulkTriage {
  ids: string[];
  action: BulkAction;
  closeReason?: CloseReason;
  /** ack: assign too (optional); assign: the assignee, null to unassign. */
  assignee?: string | null;
  comment?: string;
}

export type BulkResult = { ok: true; items: Incident[] } | { ok: false; refused: { id: string; reason: string }[] };

function bulkChange(b: BulkTriage): Triage {
  if (b.ids.length < 1 || b.ids.length > MAX_BULK_IDS) throw new ApiError(400, `ids: give 1 to ${MAX_BULK_IDS} alert ids (got ${b.ids.length})`);
  if (new Set(b.ids).size !== b.ids.length) throw new ApiError(400, 'ids: an alert id is given twice');
  if (b.closeReason && b.action !== 'close') throw new ApiError(400, 'closeReason goes with action "close"');
  switch (b.action) {
    case 'ack': return { status: 'acknowledged', ...(b.assignee !== undefined ? { assignee: b.assignee } : {}), comment: b.comment };
    case 'close':
      if (b.assignee !== undefined) throw new ApiError(400, 'assignee goes with action "ack" or "assign"');
      if (!b.closeReason) throw new ApiError(400, `closeReason is required to close alerts: one of ${CLOSE_REASONS.join(', ')}`);
      return { status: 'closed', closeReason: b.closeReason, comment: b.comment };
    case 'assign':
      if (b.assignee === undefined) throw new ApiError(400, 'assignee is required to assign alerts (null to unassign)');
      return { assignee: b.assignee, comment: b.comment };
    default: throw new ApiError(400, `action ${JSON.stringify(b.action)}: expected one of ${BULK_ACTIONS.join(', ')}`);
  }
}

/**
 * One triage change to many alerts, all or none: in one transaction the alerts are locked (in id order, so two bulk
 * changes cannot deadlock), each is checked by the rule of triageAlert, and either every one is changed and audited
 * (one audit row per alert, so each alert's history shows it) or nothing is, and the answer says which ids were
 * refused and why.
 */
export async function bulkTriage(db: Db, b: BulkTriage, actor: string): Promise<BulkResult> {
  const t = bulkChange(b);
  return db.transaction().execute(async (tx): Promise<BulkResult> => {
    const rows = await tx.selectFrom('alerts').selectAll().where('id', 'in', b.ids).orderBy('id').forUpdate().execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    const refused: { id: string; reason: string }[] = [];
    for (const id of b.ids) {
      const row = byId.get(id);
      const reason = row ? triageRefusal(row, t) : `no alert ${JSON.stringify(id)}`;
      if (reason) refused.push({ id, reason });
    }
    if (refused.length) return { ok: false, refused };
    const set: Record<string, unknown> = { updated_at: new Date() };
    if (t.status) { set.status = t.status; set.close_reason = t.status === 'closed' ? t.closeReason : null; }
    if (t.assignee !== undefined) set.assignee = t.assignee;
    const updated = await tx.updateTable('alerts').set(set).where('id', 'in', b.ids).returningAll().execute();
    const after = new Map(updated.map((r) => [r.id, r]));
    await auditEach(tx, actor, 'alert.triage', b.ids.map((id) => {
      const x = byId.get(id)!;
      const y = after.get(id)!;
      return {
        target: id,
        detail: {
          from: { status: x.status, assignee: x.assignee, closeReason: x.close_reason },
          to: { status: y.status, assignee: y.assignee, closeReason: y.close_reason },
          ...(t.comment ? { comment: t.comment } : {}), bulk: b.ids.length,
        },
      };
    }));
    return { ok: true, items: b.ids.map((id) => incidentItem(after.get(id)!)) };
  });
}
