// The network graph of a time range: hosts and remote addresses as nodes, their connections as edges.
import { sql } from 'kysely';
import type { Db } from '../../core/db/index.js';
import { ApiError, parseTime } from '../../core/http.js';

export interface GraphNode {
  id: string;
  kind: 'host' | 'ip';
  label: string;
  geo?: { country: string | null; city: string | null; lat: number | null; lon: number | null };
  alerts: number;
  malicious: boolean;
}

export interface GraphEdge { source: string; target: string; connections: number; bytes: number }

export interface Graph { nodes: GraphNode[]; edges: GraphEdge[]; truncated: boolean }

const DEFAULT_RANGE_MS = 3600_000;

/**
 * Connections are aggregated per address pair in SQL, busiest first, and capped at `limit` pairs
 * (`truncated` says more existed). An address known as one of a host's own (agents.ips or host.ip of its
 * events) becomes that host's node. Malicious: a threat-intel match in the range, or a high/critical alert.
 */
export async function networkGraph(db: Db, q: { since?: string; until?: string }, limit: number): Promise<Graph> {
  const until = q.until ? parseTime('until', q.until) : new Date();
  const since = q.since ? parseTime('since', q.since) : new Date(until.getTime() - DEFAULT_RANGE_MS);
  if (since > until) throw new ApiError(400, 'since is after until');
  const bytes = (side: string) => sql`CASE WHEN jsonb_typeof(doc #> ${sql.lit(`{${side},bytes}`)}::text[]) = 'number' THEN (doc #>> ${sql.lit(`{${side},bytes}`)}::text[])::float8 ELSE 0 END`;
  const pairs = await sql<{ s: string; d: string; n: number; b: number }>`
    SELECT host(source_ip) AS s, host(destination_ip) AS d, count(*)::int AS n, sum(${bytes('source')} + ${bytes('destination')})::float8 AS b
    FROM events WHERE ts >= ${since} AND ts < ${until} AND source_ip IS NOT NULL AND destination_ip IS NOT NULL
    GROUP BY 1, 2 ORDER BY n DESC, 1, 2 LIMIT ${limit + 1}`.execute(db);
  const truncated = pairs.rows.length > limit;
  const rows = pairs.rows.slice(0, limit);
  const ips = [...new Set(rows.flatMap((r) => [r.s, r.d]))];
  if (ips.length === 0) return { nodes: [], edges: [], truncated };

  const owners = await sql<{ ip: string; host: string }>`
    SELECT DISTINCT ON (ip) ip, host FROM (
      SELECT unnest(ips) AS ip, coalesce(hostname, id) AS host FROM agents
      UNION ALL
      SELECT jsonb_array_elements_text(doc -> 'host' -> 'ip') AS ip, host_name AS host FROM events
      WHERE ts >= ${since} AND ts < ${until} AND host_name IS NOT NULL AND jsonb_typeof(doc -> 'host' -> 'ip') = 'array'
    ) o WHERE ip = ANY(${ips}::text[]) ORDER BY ip, host`.execute(db);
  const hostOf = new Map(owners.rows.map((r) => [r.ip, r.host]));
  const geo = await sql<{ ip: string; geo: Record<string, unknown> }>`
    SELECT DISTINCT ON (ip) ip, geo FROM (
      SELECT host(source_ip) AS ip, doc -> 'source' -> 'geo' AS geo FROM events
      WHERE ts >= ${since} AND ts < ${until} AND host(source_ip) = ANY(${ips}::text[]) AND doc -> 'source' ? 'geo'
      UNION ALL
      SELECT host(destination_ip), doc -> 'destination' -> 'geo' FROM events
      WHERE ts >= ${since} AND ts < ${until} AND host(destination_ip) = ANY(${ips}::text[]) AND doc -> 'destination' ? 'geo'
    ) g ORDER BY ip`.execute(db);
  const intel = await sql<{ ip: string }>`
    SELECT DISTINCT i ->> 'value' AS ip FROM events, jsonb_array_elements(doc -> 'threat' -> 'indicator') AS i
    WHERE ts >= ${since} AND ts < ${until} AND jsonb_typeof(doc -> 'threat' -> 'indicator') = 'array' AND i ->> 'value' = ANY(${ips}::text[])`.execute(db);
  const hosts = [...new Set(hostOf.values())];
  const alerts = await sql<{ key: string; n: number; severe: boolean }>`
    SELECT key, count(*)::int AS n, bool_or(level IN ('high', 'critical')) AS severe FROM (
      SELECT 'ip:' || host(source_ip) AS key, level FROM alerts WHERE last_seen >= ${since} AND first_seen < ${until} AND host(source_ip) = ANY(${ips}::text[])
      UNION ALL
      SELECT 'ip:' || host(destination_ip), level FROM alerts WHERE last_seen >= ${since} AND first_seen < ${until} AND host(destination_ip) = ANY(${ips}::text[])
      UNION ALL
      SELECT 'host:' || host_name, level FROM alerts WHERE last_seen >= ${since} AND first_seen < ${until} AND host_name = ANY(${hosts}::text[])
    ) a GROUP BY key`.execute(db);
  const alertsBy = new Map(alerts.rows.map((r) => [r.key, r]));
  const malicious = new Set(intel.rows.map((r) => r.ip));
  const geoBy = new Map(geo.rows.map((r) => [r.ip, r.geo]));

  const nodes = new Map<string, GraphNode>();
  const placed = new Map<string, string>();
  const nodeOf = (ip: string): string => {
    const known = placed.get(ip);
    if (known) return known;
    const host = hostOf.get(ip);
    const id = host ? `host:${host}` : `ip:${ip}`;
    let n = nodes.get(id);
    if (!n) {
      const a = alertsBy.get(id);
      n = { id, kind: host ? 'host' : 'ip', label: host ?? ip, alerts: a?.n ?? 0, malicious: Boolean(!host && a?.severe) };
      nodes.set(id, n);
    }
    // A host node also counts the alerts naming one of its addresses.
    if (host) n.alerts += alertsBy.get(`ip:${ip}`)?.n ?? 0;
    if (malicious.has(ip)) n.malicious = true;
    const g = geoBy.get(ip);
    if (g && !n.geo) {
      const loc = (g.location ?? {}) as Record<string, unknown>;
      const num = (v: unknown) => (typeof v === 'number' ? v : null);
      n.geo = {
        country: (g.country_iso_code ?? g.country_name ?? null) as string | null, city: (g.city_name ?? null) as string | null,
        lat: num(loc.lat ?? g.lat), lon: num(loc.lon ?? g.lon),
      };
    }
    placed.set(ip, id);
    return id;
  };
  const edges = new Map<string, GraphEdge>();
  for (const r of rows) {
    const source = nodeOf(r.s);
    const target = nodeOf(r.d);
    const key = `${source}\u0000${target}`;
    const e = edges.get(key) ?? { source, target, connections: 0, bytes: 0 };
    e.connections += r.n;
    e.bytes += r.b;
    edges.set(key, e);
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()], truncated };
}
