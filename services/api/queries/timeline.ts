// The investigation timeline: one entity's events and alerts across every source, newest first, and the entities seen with it.
import { isIP } from 'node:net';
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../core/db/index.js';
import { ApiError, decodeCursor, encodeCursor, parseTime } from '../../core/http.js';
import { iso } from '../../core/time.js';

export const ENTITY_KINDS = ['ip', 'host', 'user', 'process', 'rule'] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

/**
 * The entity's part in an item: an address is the `source`, the `destination` or `both`; a host, user or process is
 * the item's own (`host`, `user`, `process`); a rule's alerts are `rule`, the events they were raised on `evidence`.
 */
export const TIMELINE_ROLES = ['source', 'destination', 'both', 'host', 'user', 'process', 'rule', 'evidence'] as const;
export type TimelineRole = (typeof TIMELINE_ROLES)[number];

export const TIMELINE_MAX_LIMIT = 500;
export const TIMELINE_DEFAULT_WINDOW_MS = 86_400_000;
export const TIMELINE_MAX_WINDOW_MS = 31 * 86_400_000;
/** Neighbours are counted over at most this many of the entity's newest events in the window (and as many alerts);
 * a process's alerts are looked up from as many of its newest events. */
export const TIMELINE_SCAN_ROWS = 10_000;
export const NEIGHBOURS_MAX_TOP = 20;
const SUMMARY_MAX = 300;
const VALUE_MAX = 1024;

export interface Entity {
  kind: EntityKind;
  value: string;
}

export interface TimelineQuery {
  /** `<kind>:<value>`: ip:10.0.0.5, host:web-1, user:alice, process:sshd or process:/usr/sbin/sshd, rule:<rule id>. */
  entity: string;
  since?: string;
  until?: string;
}

export interface TimelineItem {
  type: 'event' | 'alert';
  id: string;
  time: string;
  source: string | null;
  summary: string;
  role: TimelineRole;
  severity: string | null;
  hostName: string | null;
  userName: string | null;
  sourceIp: string | null;
  destinationIp: string | null;
  processName: string | null;
  ruleId: string | null;
  count: number;
  status: string | null;
}

export interface Neighbour {
  kind: EntityKind;
  value: string;
  count: number;
}

export interface Timeline {
  entity: Entity;
  since: string;
  until: string;
  items: TimelineItem[];
  nextCursor: string | null;
  neighbours: { items: Neighbour[]; events: number; alerts: number; complete: boolean } | null;
}

const bad = (message: string) => new ApiError(400, message);

/** `<kind>:<value>` as an entity, or a 400 saying what is wrong with it. Host names compare in lower case, as stored. */
export function parseEntity(text: string): Entity {
  const at = text.indexOf(':');
  const usage = `expected <kind>:<value> with the kind one of ${ENTITY_KINDS.join(', ')} (ip:10.0.0.5, host:web-1, process:sshd)`;
  if (at <= 0) throw bad(`entity ${JSON.stringify(text)}: ${usage}`);
  const kind = text.slice(0, at).trim().toLowerCase();
  if (!(ENTITY_KINDS as readonly string[]).includes(kind)) throw bad(`entity kind ${JSON.stringify(kind)}: ${usage}`);
  const value = text.slice(at + 1).trim();
  if (!value) throw bad(`entity ${JSON.stringify(text)}: the value after "${kind}:" is empty`);
  if (value.length > VALUE_MAX) throw bad(`entity ${kind}: the value is ${value.length} characters long; at most ${VALUE_MAX}`);
  if (/[\u0000-\u001f\u007f]/.test(value)) throw bad(`entity ${kind}: the value contains control characters`);
  if (kind === 'ip') {
    // One address: a range is a search (GET /api/events?sourceIp=10.0.0.0/8), not an entity. No zone ids (fe80::1%eth0).
    if (!isIP(value) || value.includes('%')) throw bad(`entity ${JSON.stringify(text)}: ${JSON.stringify(value)} is not an IP address`);
    return { kind, value: value.toLowerCase() };
  }
  if (kind === 'process' && /[/\\]$/.test(value)) throw bad(`entity ${JSON.stringify(text)}: a process is a name (sshd) or an executable path (/usr/sbin/sshd), not a folder`);
  return { kind: kind as EntityKind, value: kind === 'host' ? value.toLowerCase() : value };
}

/** The window of a query: until defaults to now, since to a day before until; at most TIMELINE_MAX_WINDOW_MS long. */
export function timelineWindow(q: { since?: string; until?: string }, nowMs = Date.now()): { since: Date; until: Date } {
  const until = q.until ? parseTime('until', q.until, nowMs) : new Date(nowMs);
  const since = q.since ? parseTime('since', q.since, nowMs) : new Date(until.getTime() - TIMELINE_DEFAULT_WINDOW_MS);
  if (since >= until) throw bad('since is not before until');
  if (until.getTime() - since.getTime() > TIMELINE_MAX_WINDOW_MS) {
    throw bad(`the window since..until is longer than ${TIMELINE_MAX_WINDOW_MS / 86_400_000} days: narrow it`);
  }
  return { since, until };
}

/** An executable path's file name, which is what process.name holds (Windows and POSIX separators alike). */
function baseName(path: string): string {
  return path.slice(Math.max(path.lastIndexOf('/'), path.lastIndexOf('\\')) + 1);
}

/** Items sort newest first on (time, rank, id); at the same instant an alert comes before the events behind it. */
interface Key { tk: string; rank: 0 | 1; id: string }
const EVENT = 0;
const ALERT = 1;
/** The sort key's time: fixed-width UTC text with microseconds, so it orders as text and casts back exactly. */
const TK = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const tk = (col: string) => sql.raw(`to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);

function parseCursor(cursor: string): Key {
  const [t, rank, id] = decodeCursor(cursor, ['string', 'number', 'string']) as [string, number, string];
  if (!TK.test(t) || (rank !== EVENT && rank !== ALERT)) throw bad('cursor: not a cursor of this listing (pass nextCursor from the previous page unchanged)');
  return { tk: t, rank, id };
}

interface Span { since: Date; until: Date }

interface EventRow {
  id: string; ts: Date; tk: string; source_id: string; message: string | null; action: string | null; outcome: string | null;
  category: string[] | null; host_name: string | null; user_name: string | null; source_ip: string | null; destination_ip: string | null;
  process_name: string | null; role: TimelineRole;
}

interface AlertRow {
  id: string; last_seen: Date; tk: string; rule_id: string; rule_title: string; level: string; count: number; status: string;
  source_id: string | null; host_name: string | null; user_name: string | null; source_ip: string | null; destination_ip: string | null;
  role: TimelineRole;
}

const EVENT_COLUMNS = sql`e.id, e.ts, ${tk('e.ts')} AS tk, e.source_id, e.message, e.action, e.outcome, e.category, e.host_name, e.user_name,
  host(e.source_ip) AS source_ip, host(e.destination_ip) AS destination_ip, e.process_name`;

/** Events after the cursor in the sort order (alerts at the cursor's instant came before every event of it). */
function eventsAfter(after: Key | undefined): RawBuilder<unknown> {
  if (!after) return sql``;
  const t = sql`${after.tk}::timestamptz`;
  // The plain bound lets the (column, ts) indexes stop early; the row comparison breaks ties on the id.
  return after.rank === ALERT ? sql`AND e.ts <= ${t}` : sql`AND e.ts <= ${t} AND (e.ts, e.id) < (${t}, ${after.id})`;
}

function alertsAfter(after: Key | undefined): RawBuilder<unknown> {
  if (!after) return sql``;
  const t = sql`${after.tk}::timestamptz`;
  return after.rank === ALERT ? sql`AND a.last_seen <= ${t} AND (a.last_seen, a.id) < (${t}, ${after.id})` : sql`AND a.last_seen < ${t}`;
}

/** What picks the entity's events, one branch per indexed column (an address is two: as source, as destination). */
function eventBranches(ent: Entity): { match: RawBuilder<unknown>; role: RawBuilder<unknown> }[] {
  const v = ent.value;
  switch (ent.kind) {
    case 'ip': return [
      { match: sql`e.source_ip = ${v}::inet`, role: sql`CASE WHEN e.destination_ip = ${v}::inet THEN 'both' ELSE 'source' END` },
      { match: sql`e.destination_ip = ${v}::inet AND e.source_ip IS DISTINCT FROM ${v}::inet`, role: sql`'destination'` },
    ];
    case 'host': return [{ match: sql`e.host_name = ${v}`, role: sql`'host'` }];
    case 'user': return [{ match: sql`e.user_name = ${v}`, role: sql`'user'` }];
    case 'process': {
      const name = baseName(v);
      // An executable is found through its file name (indexed) and then compared whole.
      return [{ match: name === v ? sql`e.process_name = ${v}` : sql`e.process_name = ${name} AND e.doc #>> '{process,executable}' = ${v}`, role: sql`'process'` }];
    }
    case 'rule': return [];
  }
}

/** The entity's events in the window after `after`, newest first, at most `limit`. */
function eventsQuery(ent: Entity, w: Span, after: Key | undefined, limit: number): RawBuilder<EventRow> {
  if (ent.kind === 'rule') {
    // A rule's events are those its alerts name. An alert's events lie between its first and last match (a second of
    // slack for the milliseconds detect rounds to), which bounds the partitions and the primary-key range read per alert.
    return sql<EventRow>`
      SELECT DISTINCT ON (e.ts, e.id) e.*, 'evidence' AS role
      FROM alerts a CROSS JOIN LATERAL (
        SELECT ${EVENT_COLUMNS} FROM events e
        WHERE e.id = ANY(a.event_ids) AND e.ts >= a.first_seen - interval '1 second' AND e.ts <= a.last_seen + interval '1 second'
          AND e.ts >= ${w.since} AND e.ts < ${w.until} ${eventsAfter(after)}
      ) e
      WHERE a.rule_id = ${ent.value} AND a.last_seen >= ${w.since} AND a.first_seen < ${w.until}
      ORDER BY e.ts DESC, e.id DESC LIMIT ${limit}`;
  }
  const branches = eventBranches(ent).map((b) => sql`(
    SELECT ${EVENT_COLUMNS}, ${b.role} AS role FROM events e
    WHERE ${b.match} AND e.ts >= ${w.since} AND e.ts < ${w.until} ${eventsAfter(after)}
    ORDER BY e.ts DESC, e.id DESC LIMIT ${limit})`);
  return sql<EventRow>`SELECT * FROM (${sql.join(branches, sql` UNION ALL `)}) u ORDER BY u.ts DESC, u.id DESC LIMIT ${limit}`;
}

/** What picks the entity's alerts, and its role in them. */
function alertMatch(ent: Entity, w: Span): { match: RawBuilder<unknown>; role: RawBuilder<unknown> } {
  const v = ent.value;
  switch (ent.kind) {
    case 'ip': return {
      match: sql`(a.source_ip = ${v}::inet OR a.destination_ip = ${v}::inet)`,
      role: sql`CASE WHEN a.source_ip = ${v}::inet AND a.destination_ip = ${v}::inet THEN 'both' WHEN a.source_ip = ${v}::inet THEN 'source' ELSE 'destination' END`,
    };
    case 'host': return { match: sql`a.host_name = ${v}`, role: sql`'host'` };
    case 'user': return { match: sql`a.user_name = ${v}`, role: sql`'user'` };
    case 'rule': return { match: sql`a.rule_id = ${v}`, role: sql`'rule'` };
    case 'process': {
      // Alerts do not name the process: they are the ones raised on its newest events in the window. The event ids of
      // the window's alerts are joined to those events by a hash (one pass over each), which needs no index on event_ids.
      const [b] = eventBranches(ent);
      return {
        match: sql`a.id IN (
          SELECT a2.id FROM alerts a2 CROSS JOIN unnest(a2.event_ids) AS u(id)
          WHERE a2.last_seen >= ${w.since} AND a2.last_seen < ${w.until} AND u.id IN (
            SELECT e.id FROM events e WHERE ${b!.match} AND e.ts >= ${w.since} AND e.ts < ${w.until} ORDER BY e.ts DESC LIMIT ${TIMELINE_SCAN_ROWS}))`,
        role: sql`'process'`,
      };
    }
  }
}

/** The entity's alerts placed at their last match (alerts_last_seen), after `after`, newest first, at most `limit`. */
function alertsQuery(ent: Entity, w: Span, after: Key | undefined, limit: number): RawBuilder<AlertRow> {
  const m = alertMatch(ent, w);
  return sql<AlertRow>`
    SELECT a.id, a.last_seen, ${tk('a.last_seen')} AS tk, a.rule_id, a.rule_title, a.level, a.count, a.status, a.source_id,
      a.host_name, a.user_name, host(a.source_ip) AS source_ip, host(a.destination_ip) AS destination_ip, ${m.role} AS role
    FROM alerts a
    WHERE ${m.match} AND a.last_seen >= ${w.since} AND a.last_seen < ${w.until} ${alertsAfter(after)}
    ORDER BY a.last_seen DESC, a.id DESC LIMIT ${limit}`;
}

/** A message on one line, cut short; an event without one is summed up by its action and outcome. */
function eventSummary(r: EventRow): string {
  const text = (r.message ?? '').replace(/\s+/g, ' ').trim();
  if (text) return text.length > SUMMARY_MAX ? `${text.slice(0, SUMMARY_MAX - 1)}…` : text;
  return [r.action, r.outcome].filter(Boolean).join(' ') || (r.category ?? []).join(', ') || 'event';
}

function eventItem(r: EventRow): TimelineItem & Key {
  return {
    type: 'event', id: r.id, time: iso(r.ts)!, source: r.source_id, summary: eventSummary(r), role: r.role, severity: null,
    hostName: r.host_name, userName: r.user_name, sourceIp: r.source_ip, destinationIp: r.destination_ip, processName: r.process_name,
    ruleId: null, count: 1, status: null, tk: r.tk, rank: EVENT,
  };
}

function alertItem(r: AlertRow): TimelineItem & Key {
  return {
    type: 'alert', id: r.id, time: iso(r.last_seen)!, source: r.source_id, summary: `${r.rule_title} (${r.level})`, role: r.role,
    severity: r.level, hostName: r.host_name, userName: r.user_name, sourceIp: r.source_ip, destinationIp: r.destination_ip,
    processName: null, ruleId: r.rule_id, count: r.count, status: r.status, tk: r.tk, rank: ALERT,
  };
}

function newestFirst(a: Key, b: Key): number {
  if (a.tk !== b.tk) return a.tk < b.tk ? 1 : -1;
  if (a.rank !== b.rank) return b.rank - a.rank;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * The entities most often seen in the same items as this one (its newest TIMELINE_SCAN_ROWS events and as many
 * alerts of the window): top `top` per kind, each counted once per item it shares, the entity itself left out.
 */
async function neighbours(db: Db, ent: Entity, w: Span, top: number): Promise<NonNullable<Timeline['neighbours']>> {
  const self = ent.kind === 'ip' ? sql`host(${ent.value}::inet)` : sql`${ent.kind === 'process' ? baseName(ent.value) : ent.value}`;
  const selfKind = ent.kind;
  const { rows } = await sql<{ events: number; alerts: number; items: Neighbour[] }>`
    WITH ev AS (${eventsQuery(ent, w, undefined, TIMELINE_SCAN_ROWS)}),
    al AS (${alertsQuery(ent, w, undefined, TIMELINE_SCAN_ROWS)}),
    pairs (kind, value) AS (
      SELECT 'host', host_name FROM ev UNION ALL SELECT 'user', user_name FROM ev UNION ALL SELECT 'process', process_name FROM ev
      UNION ALL SELECT 'ip', source_ip FROM ev UNION ALL SELECT 'ip', destination_ip FROM ev WHERE destination_ip IS DISTINCT FROM source_ip
      UNION ALL SELECT 'host', host_name FROM al UNION ALL SELECT 'user', user_name FROM al UNION ALL SELECT 'rule', rule_id FROM al
      UNION ALL SELECT 'ip', source_ip FROM al UNION ALL SELECT 'ip', destination_ip FROM al WHERE destination_ip IS DISTINCT FROM source_ip
    ),
    counted AS (
      SELECT kind, value, count(*)::int AS n, row_number() OVER (PARTITION BY kind ORDER BY count(*) DESC, value) AS r
      FROM pairs WHERE value IS NOT NULL AND value <> '' AND NOT (kind = ${selfKind} AND value = ${self})
      GROUP BY kind, value
    )
    SELECT (SELECT count(*)::int FROM ev) AS events, (SELECT count(*)::int FROM al) AS alerts,
      coalesce((SELECT json_agg(json_build_object('kind', kind, 'value', value, 'count', n) ORDER BY kind, n DESC, value)
        FROM counted WHERE r <= ${top}), '[]'::json) AS items`.execute(db);
  const r = rows[0]!;
  return { items: r.items, events: r.events, alerts: r.alerts, complete: r.events < TIMELINE_SCAN_ROWS && r.alerts < TIMELINE_SCAN_ROWS };
}

/**
 * One page of an entity's timeline: its events and alerts in the window, newest first, keyset-paged across both;
 * the first page (no cursor) also carries the neighbours. Shared by GET /api/timeline and `soc timeline`.
 */
export async function timeline(db: Db, q: TimelineQuery, opts: { limit: number; cursor?: string; top?: number; nowMs?: number }): Promise<Timeline> {
  const ent = parseEntity(q.entity);
  const w = timelineWindow(q, opts.nowMs);
  if (!Number.isInteger(opts.limit) || opts.limit < 1 || opts.limit > TIMELINE_MAX_LIMIT) throw bad(`limit: a whole number from 1 to ${TIMELINE_MAX_LIMIT}`);
  const top = opts.top ?? 5;
  if (!Number.isInteger(top) || top < 1 || top > NEIGHBOURS_MAX_TOP) throw bad(`top: a whole number from 1 to ${NEIGHBOURS_MAX_TOP}`);
  const after = opts.cursor ? parseCursor(opts.cursor) : undefined;
  // One more than the page from each side tells whether another page follows.
  const [events, alerts, near] = await Promise.all([
    eventsQuery(ent, w, after, opts.limit + 1).execute(db),
    alertsQuery(ent, w, after, opts.limit + 1).execute(db),
    after ? Promise.resolve(null) : neighbours(db, ent, w, top),
  ]);
  const merged = [...events.rows.map(eventItem), ...alerts.rows.map(alertItem)].sort(newestFirst);
  const page = merged.slice(0, opts.limit);
  const last = page[page.length - 1];
  return {
    entity: ent,
    since: w.since.toISOString(),
    until: w.until.toISOString(),
    items: page.map(({ tk: _tk, rank: _rank, ...item }) => item),
    nextCursor: merged.length > opts.limit && last ? encodeCursor([last.tk, last.rank, last.id]) : null,
    neighbours: near,
  };
}
