// The network map of a time range, from the store's hourly aggregates: hosts, addresses and address groups as nodes.
import { isIP } from 'node:net';
import { sql } from 'kysely';
import type { Db } from '../../core/db/index.js';
import { ApiError, parseTime } from '../../core/http.js';
import { SEVERITIES, type Severity } from '../../core/topology.js';

export interface GraphNode {
  id: string;
  kind: 'host' | 'ip' | 'group';
  label: string;
  geo?: { country: string | null; asn: number | null };
  alerts: number;
  malicious: boolean;
}

export interface GraphEdge { source: string; target: string; connections: number; bytes: number }

export interface Graph { nodes: GraphNode[]; edges: GraphEdge[]; truncated: boolean; from: string; to: string }

export interface GraphQuery {
  since?: string;
  until?: string;
  /** Only alerts of this level or above seed the map, and only their entities' connections are drawn. */
  severity?: Severity;
  /** Only connections seen in events of this source. */
  source?: string;
  /** Comma-separated groups to show address by address (`net:203.0.113.0/24` or `203.0.113.0/24`). */
  expand?: string;
}

const DEFAULT_RANGE_MS = 3600_000;
const HOUR_MS = 3600_000;
/** Candidate links read per node of the limit: enough to fill the map when hubs share neighbours. */
const LINKS_PER_NODE = 4;
const MAX_EXPAND = 100;

/** A group id or subnet the client asked to open, as the /24 (IPv4) or /64 (IPv6) network it names. */
export function parseExpand(value: string | undefined): string[] {
  if (!value) return [];
  const nets = new Set<string>();
  for (const part of value.split(',').map((p) => p.trim()).filter(Boolean)) {
    const net = part.startsWith('net:') ? part.slice(4) : part;
    const slash = net.indexOf('/');
    const addr = net.slice(0, slash), bits = net.slice(slash + 1);
    const family = slash > 0 ? isIP(addr) : 0;
    if (!family || bits !== (family === 4 ? '24' : '64')) throw new ApiError(400, `expand ${JSON.stringify(part)}: expected a group such as net:203.0.113.0/24 or net:2001:db8::/64`);
    nets.add(net);
  }
  if (nets.size > MAX_EXPAND) throw new ApiError(400, `expand: at most ${MAX_EXPAND} groups at once`);
  return [...nets];
}

// An address is shown alone when a host owns it, an alert names it, it is private, or its group is opened; any
// other address is drawn as its /24 (IPv4) or /64 (IPv6) network: the row's source_group / destination_group,
// written with the row (NULL for a private address; migration 013).

interface LinkRow {
  sh: string | null; sa: string | null; sg: boolean; dh: string | null; da: string | null; dg: boolean;
  n: number; b: number; seeded: boolean; si: boolean; di: boolean;
  sc: string | null; sn: string | null; dc: string | null; dn: string | null;
}

/**
 * Reads network_flows (hourly; the range is widened to whole hours, `from`/`to` say what was read), never events.
 * Order of what is drawn: the connections of the entities named by alerts of the range (hosts and addresses, at or
 * above `severity` when given; with it, nothing else), then connections with a threat-intel hit, then the busiest.
 * `limit` caps the nodes; `truncated` says some connection of the range was left out.
 */
export async function networkGraph(db: Db, q: GraphQuery, limit: number): Promise<Graph> {
  const until = q.until ? parseTime('until', q.until) : new Date();
  const since = q.since ? parseTime('since', q.since) : new Date(until.getTime() - DEFAULT_RANGE_MS);
  if (since > until) throw new ApiError(400, 'since is after until');
  const from = new Date(Math.floor(since.getTime() / HOUR_MS) * HOUR_MS);
  const to = new Date(Math.ceil(until.getTime() / HOUR_MS) * HOUR_MS);
  const expand = parseExpand(q.expand);
  const levels = q.severity ? SEVERITIES.slice(SEVERITIES.indexOf(q.severity)) : null;

  // The alerts' entities; the alerts table is small beside the events, and its last_seen is indexed.
  const inRange = sql`last_seen >= ${since} AND first_seen < ${until} ${levels ? sql`AND level = ANY(${levels}::text[])` : sql``}`;
  const alerted = await sql<{ kind: 'host' | 'ip'; key: string; n: number; severe: boolean }>`
    SELECT kind, key, count(*)::int AS n, bool_or(level IN ('high', 'critical')) AS severe FROM (
      SELECT 'host' AS kind, host_name AS key, level FROM alerts WHERE ${inRange} AND host_name IS NOT NULL
      UNION ALL
      SELECT 'ip', host(source_ip), level FROM alerts WHERE ${inRange} AND source_ip IS NOT NULL
      UNION ALL
      SELECT 'ip', host(destination_ip), level FROM alerts WHERE ${inRange} AND destination_ip IS NOT NULL
    ) a GROUP BY 1, 2`.execute(db);
  const seedIps = alerted.rows.filter((r) => r.kind === 'ip').map((r) => r.key);
  const seedHosts = alerted.rows.filter((r) => r.kind === 'host').map((r) => r.key);
  if (levels && alerted.rows.length === 0) return { nodes: [], edges: [], truncated: false, from: from.toISOString(), to: to.toISOString() };

  // Who owns an address: the agents' own addresses, and host.ip of the events of the range (kept by the store).
  const owned = await sql<{ ip: string; host: string }>`
    SELECT DISTINCT ON (ip) ip, host FROM (
      SELECT unnest(ips) AS ip, coalesce(hostname, id) AS host FROM agents
      UNION ALL
      SELECT host(address), host FROM network_hosts WHERE bucket >= ${from} AND bucket < ${to}
    ) o ORDER BY ip, host`.execute(db);
  const owner = new Map<string, string>();
  for (const r of owned.rows) if (isIP(r.ip)) owner.set(r.ip, r.host);

  const cap = limit * LINKS_PER_NODE;
  const links = await db.transaction().execute(async (tx) => {
    // One grouping pass over a day of rows: JIT compiling its expressions cost more than running them (0.7 s of a
    // 1.2 s plan measured), and the default work_mem sent the grouping to disk. The grouping hashes: sorting a day
    // of 717,000 random pairs took 2.2-2.7 s (on disk at 64 MB), hashing them 1.5-1.8 s within hash_mem (64 MB x 2,
    // spilling a few MB), while the planner, estimating the hash table past its budget, would sort.
    await sql`SET LOCAL jit = off`.execute(tx);
    await sql`SET LOCAL work_mem = '64MB'`.execute(tx);
    await sql`SET LOCAL hash_mem_multiplier = 2`.execute(tx);
    await sql`SET LOCAL enable_sort = off`.execute(tx);
    return sql<LinkRow>`
    WITH owner(ip, host) AS (SELECT * FROM unnest(${[...owner.keys()]}::inet[], ${[...owner.values()]}::text[])),
    f AS (
      -- Membership in the seed and expand lists is a hashed = ANY (the lists are constants of the plan), not a join:
      -- joins on the day's rows made the planner misjudge the row count and sort where hashing does.
      SELECT f.connections, f.bytes, f.source_intel, f.destination_intel, f.source_country, f.source_asn, f.destination_country, f.destination_asn,
        so.host AS sh, dw.host AS dh,
        CASE WHEN so.host IS NOT NULL THEN NULL
          WHEN f.source_group IS NULL OR f.source_ip = ANY(${seedIps}::inet[]) OR f.source_group = ANY(${expand}::cidr[]) THEN f.source_ip
          ELSE f.source_group END AS sa,
        CASE WHEN dw.host IS NOT NULL THEN NULL
          WHEN f.destination_group IS NULL OR f.destination_ip = ANY(${seedIps}::inet[]) OR f.destination_group = ANY(${expand}::cidr[]) THEN f.destination_ip
          ELSE f.destination_group END AS da,
        coalesce(f.source_ip = ANY(${seedIps}::inet[]) OR f.destination_ip = ANY(${seedIps}::inet[]) OR so.host = ANY(${seedHosts}::text[]) OR dw.host = ANY(${seedHosts}::text[]), false) AS seeded
      FROM network_flows f
      LEFT JOIN owner so ON so.ip = f.source_ip
      LEFT JOIN owner dw ON dw.ip = f.destination_ip
      WHERE f.bucket >= ${from} AND f.bucket < ${to} ${q.source ? sql`AND f.source_id = ${q.source}` : sql``}
    ), g AS (
      -- A float8 sum keeps its state in the group's entry; a bigint sum allocates one per group.
      SELECT sh, sa, dh, da, sum(connections::float8) AS n, sum(bytes)::float8 AS b, bool_or(seeded) AS seeded,
        bool_or(source_intel) AS si, bool_or(destination_intel) AS di, max(source_country) AS sc, max(source_asn)::text AS sn,
        max(destination_country) AS dc, max(destination_asn)::text AS dn
      FROM f ${levels ? sql`WHERE seeded` : sql``} GROUP BY 1, 2, 3, 4
    )
    -- Addresses become text only for the rows drawn: formatting every group of a day cost a fifth of the query.
    SELECT sh, CASE WHEN masklen(sa) IN (32, 128) THEN host(sa) ELSE network(sa)::text END AS sa, masklen(sa) NOT IN (32, 128) AS sg,
      dh, CASE WHEN masklen(da) IN (32, 128) THEN host(da) ELSE network(da)::text END AS da, masklen(da) NOT IN (32, 128) AS dg,
      n, b, seeded, si, di, sc, sn, dc, dn
    FROM (SELECT * FROM g ORDER BY seeded DESC, (si OR di) DESC, n DESC, sh, sa, dh, da LIMIT ${cap + 1}) top
    ORDER BY seeded DESC, (si OR di) DESC, n DESC, sh, top.sa, dh, top.da`.execute(tx);
  });

  const alertsBy = new Map(alerted.rows.map((r) => [`${r.kind}:${r.key}`, r]));
  // A host also counts the alerts naming one of its addresses.
  const hostAlerts = new Map<string, number>();
  for (const r of alerted.rows) {
    const host = r.kind === 'ip' ? owner.get(r.key) : r.key;
    if (host) hostAlerts.set(host, (hostAlerts.get(host) ?? 0) + r.n);
  }
  const nodes = new Map<string, GraphNode>();
  const node = (host: string | null, addr: string | null, group: boolean, intel: boolean, country: string | null, asn: string | null): GraphNode => {
    const id = host !== null ? `host:${host}` : group ? `net:${addr}` : `ip:${addr}`;
    let n = nodes.get(id);
    if (!n) {
      const a = host === null && !group ? alertsBy.get(id) : undefined;
      n = {
        id, kind: host !== null ? 'host' : group ? 'group' : 'ip', label: host ?? addr ?? '',
        alerts: host !== null ? hostAlerts.get(host) ?? 0 : a?.n ?? 0, malicious: Boolean(a?.severe),
      };
      nodes.set(id, n);
    }
    if (intel) n.malicious = true;
    if (host === null && !n.geo && (country || asn)) n.geo = { country, asn: asn === null ? null : Number(asn) };
    return n;
  };
  const edges = new Map<string, GraphEdge>();
  let skipped = links.rows.length > cap;
  for (const r of links.rows.slice(0, cap)) {
    const sid = r.sh !== null ? `host:${r.sh}` : r.sg ? `net:${r.sa}` : `ip:${r.sa}`;
    const tid = r.dh !== null ? `host:${r.dh}` : r.dg ? `net:${r.da}` : `ip:${r.da}`;
    const adds = (nodes.has(sid) ? 0 : 1) + (nodes.has(tid) || tid === sid ? 0 : 1);
    if (nodes.size + adds > limit) { skipped = true; continue; }
    const source = node(r.sh, r.sa, r.sg, r.si, r.sc, r.sn).id;
    const target = node(r.dh, r.da, r.dg, r.di, r.dc, r.dn).id;
    const key = `${source}\u0000${target}`;
    const e = edges.get(key) ?? { source, target, connections: 0, bytes: 0 };
    e.connections += r.n;
    e.bytes += r.b;
    edges.set(key, e);
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()], truncated: skipped, from: from.toISOString(), to: to.toISOString() };
}
