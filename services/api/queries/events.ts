// Event search: the filters of GET /api/events, `soc events` and event exports, as one kysely query.
import { isIP } from 'node:net';
import { sql, type Expression, type ExpressionBuilder, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { Database, Db } from '../../core/db/index.js';
import { ApiError, decodeCursor, encodeCursor, parseTime } from '../../core/http.js';
import { iso } from '../../core/time.js';

/** The query parameters as they arrive (strings), shared by the route, the CLI and exports. */
export interface EventQuery {
  since?: string;
  until?: string;
  host?: string;
  agent?: string;
  source?: string;
  category?: string;
  action?: string;
  outcome?: string;
  sourceIp?: string;
  destinationIp?: string;
  user?: string;
  q?: string;
  /** `field=value` (equal) or `field~prefix` (starts with) on the ECS document; repeatable. */
  filter?: string[];
}

interface FieldFilter { path: string[]; op: '=' | '~'; value: string }

export interface EventFilter {
  since?: Date;
  until?: Date;
  host?: string;
  agent?: string;
  source?: string;
  category?: string;
  action?: string;
  outcome?: string;
  sourceIp?: string;
  destinationIp?: string;
  user?: string;
  q?: string;
  fields: FieldFilter[];
}

const FIELD = /^[A-Za-z0-9_@-]+(\.[A-Za-z0-9_@-]+)*$/;

/** An address or a CIDR range (10.0.0.0/8); anything else is a 400 naming the parameter. */
function ipOrRange(what: string, v: string): string {
  const [addr, bits, ...rest] = v.split('/');
  const kind = isIP(addr ?? '');
  const okBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (kind === 6 ? 128 : 32));
  if (!kind || !okBits || rest.length) throw new ApiError(400, `${what} ${JSON.stringify(v)}: expected an IP address or a CIDR range`);
  return v;
}

function fieldFilter(expr: string): FieldFilter {
  const m = /^([^=~]+)([=~])(.*)$/s.exec(expr);
  if (!m || !FIELD.test(m[1]!)) throw new ApiError(400, `filter ${JSON.stringify(expr)}: expected field=value or field~prefix, the field an ECS name such as process.name`);
  return { path: m[1]!.split('.'), op: m[2] as '=' | '~', value: m[3]! };
}

export function eventFilter(q: EventQuery): EventFilter {
  const f: EventFilter = { fields: (q.filter ?? []).map(fieldFilter) };
  if (q.since) f.since = parseTime('since', q.since);
  if (q.until) f.until = parseTime('until', q.until);
  if (f.since && f.until && f.since > f.until) throw new ApiError(400, 'since is after until');
  if (q.host) f.host = q.host.toLowerCase();
  if (q.sourceIp) f.sourceIp = ipOrRange('sourceIp', q.sourceIp);
  if (q.destinationIp) f.destinationIp = ipOrRange('destinationIp', q.destinationIp);
  for (const k of ['agent', 'source', 'category', 'action', 'outcome', 'user', 'q'] as const) if (q[k]) f[k] = q[k];
  return f;
}

/** LIKE pattern for text that must match literally. */
export function likeEscape(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

type EB = ExpressionBuilder<Database, 'events'>;

/**
 * ECS fields the store also keeps in a column of their own, from the same Event field as the document's value, so
 * `field=value` on them compares the column (indexed for host, user, process and the addresses) instead of reading
 * every document of the range. A value the column's type cannot hold keeps the document comparison.
 */
const COLUMN_OF: Record<string, { column: 'host_name' | 'user_name' | 'process_name' | 'agent_id' | 'action' | 'outcome' | 'kind' | 'source_id' | 'source_ip' | 'destination_ip' | 'source_port' | 'destination_port'; holds?: (v: string) => boolean }> = {
  'host.name': { column: 'host_name' },
  'user.name': { column: 'user_name' },
  'process.name': { column: 'process_name' },
  'agent.id': { column: 'agent_id' },
  'event.action': { column: 'action' },
  'event.outcome': { column: 'outcome' },
  'event.kind': { column: 'kind' },
  'labels.source_id': { column: 'source_id' },
  // Addresses compare as addresses; ports as the number the document holds (no leading zeros, as JSON writes it).
  'source.ip': { column: 'source_ip', holds: (v) => isIP(v) !== 0 },
  'destination.ip': { column: 'destination_ip', holds: (v) => isIP(v) !== 0 },
  'source.port': { column: 'source_port', holds: (v) => /^[1-9]\d{0,4}$/.test(v) && Number(v) < 65536 },
  'destination.port': { column: 'destination_port', holds: (v) => /^[1-9]\d{0,4}$/.test(v) && Number(v) < 65536 },
};

/** The WHERE conditions of a filter; `without` leaves one out (category counts ignore the category filter). */
function conditions(eb: EB, f: EventFilter, without?: 'category'): Expression<SqlBool>[] {
  const c: Expression<SqlBool>[] = [];
  if (f.since) c.push(eb('ts', '>=', f.since));
  if (f.until) c.push(eb('ts', '<', f.until));
  if (f.host) c.push(eb('host_name', '=', f.host));
  if (f.agent) c.push(eb('agent_id', '=', f.agent));
  if (f.source) c.push(eb('source_id', '=', f.source));
  if (f.category && without !== 'category') c.push(sql<SqlBool>`category @> ARRAY[${f.category}]::text[]`);
  if (f.action) c.push(eb('action', '=', f.action));
  if (f.outcome) c.push(eb('outcome', '=', f.outcome));
  if (f.user) c.push(eb('user_name', '=', f.user));
  if (f.sourceIp) c.push(sql<SqlBool>`source_ip <<= ${f.sourceIp}::inet`);
  if (f.destinationIp) c.push(sql<SqlBool>`destination_ip <<= ${f.destinationIp}::inet`);
  // Substring search: ILIKE with the user's text escaped, so % and _ match themselves.
  if (f.q) c.push(sql<SqlBool>`message ILIKE ${'%' + likeEscape(f.q) + '%'} ESCAPE '\\'`);
  for (const ff of f.fields) {
    const col = ff.op === '=' ? COLUMN_OF[ff.path.join('.')] : undefined;
    if (col && ff.value !== '' && (!col.holds || col.holds(ff.value))) {
      c.push(col.column.endsWith('_ip') ? sql<SqlBool>`${sql.ref(col.column)} = ${ff.value}::inet`
        : col.column.endsWith('_port') ? eb(col.column, '=', Number(ff.value)) : eb(col.column, '=', ff.value));
      continue;
    }
    // Arrays (event.category, tags) match when any element does; scalars compare as text.
    const path = sql`${sql.lit('{' + ff.path.join(',') + '}')}::text[]`;
    c.push(ff.op === '='
      ? sql<SqlBool>`(doc #>> ${path} = ${ff.value} OR (jsonb_typeof(doc #> ${path}) = 'array' AND doc #> ${path} ? ${ff.value}))`
      : sql<SqlBool>`doc #>> ${path} LIKE ${likeEscape(ff.value) + '%'} ESCAPE '\\'`);
  }
  return c;
}

export function filteredEvents(db: Db, f: EventFilter, without?: 'category'): SelectQueryBuilder<Database, 'events', object> {
  return db.selectFrom('events').where((eb) => eb.and(conditions(eb, f, without)));
}

export interface EventItem {
  id: string;
  ts: string;
  sourceId: string;
  hostName: string | null;
  agentId: string | null;
  category: string[];
  action: string | null;
  outcome: string | null;
  sourceIp: string | null;
  destinationIp: string | null;
  userName: string | null;
  message: string | null;
  doc: unknown;
}

export interface EventPage {
  items: EventItem[];
  nextCursor: string | null;
  counts: Record<string, number>;
}

/** Newest first, keyset-paged on (ts, id); counts per category cover the whole filter, not the page. */
export async function searchEvents(db: Db, q: EventQuery, opts: { limit: number; cursor?: string; counts?: boolean }): Promise<EventPage> {
  const f = eventFilter(q);
  let query = filteredEvents(db, f)
    .select(['id', 'ts', 'source_id', 'host_name', 'agent_id', 'category', 'action', 'outcome', 'source_ip', 'destination_ip', 'user_name', 'message', 'doc'])
    // The text form keeps the microseconds a JS Date would lose, so the next page starts exactly after this one.
    .select(sql<string>`ts::text`.as('ts_key'));
  if (opts.cursor) {
    const [ts, id] = decodeCursor(opts.cursor, ['string', 'string']) as [string, string];
    query = query.where(sql<SqlBool>`(ts, id) < (${ts}::timestamptz, ${id})`);
  }
  const rows = await query.orderBy('ts', 'desc').orderBy('id', 'desc').limit(opts.limit + 1).execute();
  const more = rows.length > opts.limit;
  const items = rows.slice(0, opts.limit);
  const last = items[items.length - 1];
  const counts: Record<string, number> = {};
  if (opts.counts !== false) {
    const byCategory = await filteredEvents(db, f, 'category')
      .select([sql<string>`unnest(category)`.as('c'), sql<number>`count(*)::int`.as('n')])
      .groupBy('c').execute();
    for (const r of byCategory) counts[r.c] = r.n;
  }
  return {
    items: items.map((r) => ({
      id: r.id, ts: iso(r.ts)!, sourceId: r.source_id, hostName: r.host_name, agentId: r.agent_id, category: r.category ?? [],
      action: r.action, outcome: r.outcome, sourceIp: r.source_ip, destinationIp: r.destination_ip, userName: r.user_name,
      message: r.message, doc: r.doc,
    })),
    nextCursor: more && last ? encodeCursor([last.ts_key, last.id]) : null,
    counts,
  };
}
