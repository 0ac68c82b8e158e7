// `npm run bench:queries`: the questions analysts ask, timed on a big events table. It loads BENCH_QUERY_EVENTS (default
// 5,000,000) events spread over seven days, with the skew of real data (a few busy hosts, users, addresses and
// processes, a long tail of rare ones), plus alerts, then runs each question BENCH_QUERY_RUNS times (default 20) with
// values drawn from that data, through the same query functions the API routes call, on a pool with the analysts'
// statement timeout. Prints p50/p95/max per question and writes test-output/bench/queries.json.
// BENCH_QUERY_DB=<url>: time an already loaded database (migrated to the latest first); BENCH_QUERY_KEEP=1 keeps the
// database it loaded and prints its URL, for trying index changes without loading again. BENCH_QUERY_ONLY=<text> times
// only the questions whose name holds it (`network` for the map's three).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpus, totalmem } from 'node:os';
import { sql } from 'kysely';
import { createDb, ensurePartitions, migrateToLatest, type Db } from '../../services/core/db/index.js';
import { searchEvents } from '../../services/api/queries/events.js';
import { listIncidents } from '../../services/api/queries/incidents.js';
import { networkGraph } from '../../services/api/queries/network.js';
import { rebuildNetworkAggregates } from '../../services/store/sink.js';
import { ROOT, createTestDatabase } from '../harness.js';
import { prng } from '../prng.js';

const EVENTS = Number(process.env.BENCH_QUERY_EVENTS ?? 5_000_000);
const RUNS = Number(process.env.BENCH_QUERY_RUNS ?? 20);
const ALERTS = Math.max(1000, Math.round(EVENTS / 100));
const CHUNK = 250_000;
const DAYS = 7;
const OUT = join(ROOT, 'test-output', 'bench');
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const rand = prng(7);

// Skewed picks: value i of n with probability falling off like a power law, the same in SQL and here.
const skew = (n: number, power: number) => Math.min(n - 1, Math.floor(Math.pow(rand(), power) * n));

const PROCESSES = ['svchost.exe', 'chrome.exe', 'explorer.exe', 'powershell.exe', 'cmd.exe', 'lsass.exe', 'rundll32.exe', 'sshd', 'nginx',
  'python3', 'java', 'node', 'bash', 'curl', 'wget', 'systemd', 'cron', 'sudo', 'conhost.exe', 'msedge.exe', 'outlook.exe', 'winword.exe',
  'excel.exe', 'teams.exe', 'onedrive.exe', 'services.exe', 'wininit.exe', 'taskhostw.exe', 'dllhost.exe', 'regsvr32.exe', 'mshta.exe',
  'wmiprvse.exe', 'searchindexer.exe', 'spoolsv.exe', 'postgres', 'redis-server', 'dockerd', 'containerd', 'kubelet', 'vmtoolsd'];

/** Loads the events in chunks of CHUNK rows, each one INSERT ... SELECT over generate_series: Postgres makes the rows. */
async function load(db: Db, now: Date): Promise<void> {
  const days = new Set<string>();
  for (let d = 0; d <= DAYS; d++) days.add(new Date(now.getTime() - d * 86_400_000).toISOString().slice(0, 10));
  await ensurePartitions(db, days);
  const started = performance.now();
  for (let from = 0; from < EVENTS; from += CHUNK) {
    const to = Math.min(EVENTS, from + CHUNK);
    // Every column is drawn with random() raised to a power: a few values are common, most are rare, as in real logs.
    await sql`
      INSERT INTO events (id, ts, source_id, kind, category, action, outcome, host_name, agent_id, user_name, source_ip, source_port,
        destination_ip, destination_port, process_name, message, tags, doc)
      SELECT 'bq-' || g, ts, src, 'event', ARRAY[cat], act, CASE WHEN g % 9 = 0 THEN 'failure' ELSE 'success' END, host,
        CASE WHEN src = 'agent' THEN 'agent-' || h END, usr, sip, 1024 + g % 60000, dip, dport, proc,
        CASE cat
          WHEN 'process' THEN 'process created: ' || coalesce(proc, '?') || ' by ' || coalesce(usr, 'SYSTEM') || ' on ' || host
          WHEN 'authentication' THEN 'authentication ' || CASE WHEN g % 9 = 0 THEN 'failure' ELSE 'success' END || ' for ' || coalesce(usr, '?') || ' from ' || host(sip)
          WHEN 'web' THEN 'GET /app/item/' || (g % 5000) || '?q=' || g || ' HTTP/1.1 200'
          ELSE 'connection ' || host(sip) || ':' || (1024 + g % 60000) || ' -> ' || host(dip) || ':' || dport END,
        '{}'::text[],
        jsonb_build_object('@timestamp', ts, 'event', jsonb_build_object('kind', 'event', 'category', jsonb_build_array(cat), 'action', act,
            'original', '{"seq":' || g || ',"host":"' || host || '","note":"' || repeat('x', 120) || '"}'),
          'host', jsonb_build_object('name', host), 'user', jsonb_build_object('name', usr),
          'source', jsonb_build_object('ip', host(sip), 'port', 1024 + g % 60000, 'bytes', g % 9000),
          'destination', jsonb_build_object('ip', host(dip), 'port', dport, 'bytes', g % 70000),
          'process', jsonb_build_object('name', proc, 'pid', g % 30000), 'labels', jsonb_build_object('source_id', src))
      FROM (
        SELECT g,
          ${now}::timestamptz - (random() * ${DAYS} * interval '1 day') AS ts,
          (ARRAY['firewall', 'web', 'linux-auth', 'sysmon', 'agent', 'dns'])[1 + floor(power(random(), 2) * 6)::int] AS src,
          (ARRAY['network', 'authentication', 'process', 'web', 'file', 'dns'])[1 + floor(power(random(), 1.5) * 6)::int] AS cat,
          (ARRAY['connection', 'logon', 'process_start', 'http_request', 'file_create', 'query'])[1 + floor(random() * 6)::int] AS act,
          'host-' || floor(power(random(), 3) * 2000)::int AS host, floor(power(random(), 3) * 2000)::int AS h,
          CASE WHEN random() < 0.3 THEN NULL ELSE 'user' || floor(power(random(), 3) * 20000)::int END AS usr,
          ('10.' || floor(power(random(), 3) * 64)::int || '.' || floor(random() * 256)::int || '.' || floor(random() * 256)::int)::inet AS sip,
          (floor(11 + power(random(), 4) * 180)::int || '.' || floor(random() * 256)::int || '.' || floor(power(random(), 2) * 256)::int || '.' || floor(random() * 256)::int)::inet AS dip,
          (ARRAY[443, 80, 53, 22, 3389, 445, 8080, 25])[1 + floor(power(random(), 2) * 8)::int] AS dport,
          CASE WHEN random() < 0.5 THEN NULL ELSE (${PROCESSES}::text[])[1 + floor(power(random(), 2) * ${PROCESSES.length})::int] END AS proc
        FROM generate_series(${from}::bigint, ${to - 1}::bigint) AS g
      ) r`.execute(db);
    const s = (performance.now() - started) / 1000;
    process.stdout.write(`  loaded ${fmt(to)} events (${fmt(to / s)} rows/s)\n`);
  }
  await sql`
    INSERT INTO alerts (id, dedup_key, rule_id, rule_title, level, score, count, first_seen, last_seen, status, techniques, tactics, tags,
      event_ids, host_name, user_name, source_ip, destination_ip, doc)
    SELECT 'ba-' || g, 'bench:' || g, 'rule-' || (g % 300), 'Bench rule ' || (g % 300),
      (ARRAY['low', 'medium', 'high', 'critical'])[1 + floor(power(random(), 2) * 4)::int], floor(random() * 100), 1 + g % 20,
      ts - interval '5 minutes', ts, (ARRAY['open', 'acknowledged', 'closed', 'closed'])[1 + floor(random() * 4)::int],
      ARRAY['T1110'], ARRAY['credential-access'], '{}'::text[], ARRAY['bq-' || (g * 97 % ${EVENTS})],
      'host-' || floor(power(random(), 3) * 2000)::int, 'user' || floor(power(random(), 3) * 20000)::int,
      ('10.' || floor(power(random(), 3) * 64)::int || '.' || floor(random() * 256)::int || '.' || floor(random() * 256)::int)::inet, NULL, '{}'::jsonb
    FROM (SELECT g, ${now}::timestamptz - (random() * ${DAYS} * interval '1 day') AS ts FROM generate_series(1, ${ALERTS}) AS g) a`.execute(db);
  // The store writes the network aggregates with each batch; rows loaded around it get them in one pass.
  const t = performance.now();
  await rebuildNetworkAggregates(db, new Date(now.getTime() - (DAYS + 1) * 86_400_000), new Date(now.getTime() + 3600_000));
  process.stdout.write(`  network aggregates in ${fmt((performance.now() - t) / 1000)} s\n`);
  // A loaded table as autovacuum leaves it (insert-driven vacuum since PostgreSQL 13): statistics and the visibility map
  // that index-only scans (the category counts) need.
  await sql`VACUUM (ANALYZE) events`.execute(db);
  await sql`ANALYZE alerts`.execute(db);
  await sql`ANALYZE network_flows`.execute(db);
}

interface Question { name: string; run: (i: number) => Promise<unknown> }

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<void> {
  const owned = process.env.BENCH_QUERY_DB ? undefined : await createTestDatabase();
  const url = process.env.BENCH_QUERY_DB ?? owned!.url;
  const setup = createDb(url, { max: 2 });
  await migrateToLatest(setup);
  const existing = Number((await sql<{ n: number }>`SELECT count(*)::int AS n FROM events`.execute(setup)).rows[0]!.n);
  // The data is placed relative to when it was loaded; a kept database is timed relative to its newest event.
  let now = new Date();
  if (existing === 0) {
    process.stdout.write(`loading ${fmt(EVENTS)} events over ${DAYS} days and ${fmt(ALERTS)} alerts\n`);
    await load(setup, now);
  } else {
    now = (await sql<{ t: Date }>`SELECT max(ts) AS t FROM events`.execute(setup)).rows[0]!.t;
    process.stdout.write(`timing the ${fmt(existing)} events already loaded\n`);
  }
  const size = (await sql<{ events: string; indexes: string }>`
    SELECT pg_size_pretty(sum(pg_table_size(c.oid))) AS events, pg_size_pretty(sum(pg_indexes_size(c.oid))) AS indexes
    FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'events'::regclass`.execute(setup)).rows[0]!;
  const flows = (await sql<{ rows: string; size: string }>`
    SELECT count(*)::text AS rows, pg_size_pretty((SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('network_flows'))) AS size FROM network_flows`.execute(setup)).rows[0]!;
  process.stdout.write(`network_flows: ${flows.rows} rows, ${flows.size} with its index\n`);
  await setup.destroy();

  // The analysts' pool as the API makes it: 4 connections, 15 s statement timeout.
  const db = createDb(url, { max: 4, statementTimeoutMs: 15_000 });
  const day = new Date(now.getTime() - 86_400_000).toISOString();
  const hostN = () => `host-${skew(2000, 3)}`;
  const userN = () => `user${skew(20000, 3)}`;
  const ipN = () => `10.${skew(64, 3)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`;
  const procN = () => PROCESSES[skew(PROCESSES.length, 2)]!;
  const questions: Question[] = [
    { name: 'events by source IP, 24 h', run: () => searchEvents(db, { sourceIp: ipN(), since: day }, { limit: 100 }) },
    { name: 'events by host, 24 h', run: () => searchEvents(db, { host: hostN(), since: day }, { limit: 100 }) },
    { name: 'events by user, 24 h', run: () => searchEvents(db, { user: userN(), since: day }, { limit: 100 }) },
    { name: 'events by process.name, 24 h', run: () => searchEvents(db, { filter: [`process.name=${procN()}`], since: day }, { limit: 100 }) },
    { name: 'free text, 24 h', run: (i) => searchEvents(db, { q: i % 2 ? 'lsass' : `host-${skew(2000, 3)} `, since: day }, { limit: 100 }) },
    { name: 'category counts, 24 h', run: () => searchEvents(db, { since: day }, { limit: 100 }) },
    { name: 'incidents page (open + ack)', run: () => listIncidents(db, { status: 'open,acknowledged' }, { limit: 50 }) },
    { name: 'incidents by score', run: () => listIncidents(db, { status: 'open,acknowledged', sort: 'score' }, { limit: 50 }) },
    { name: 'network graph, 24 h', run: () => networkGraph(db, { since: day, until: now.toISOString() }, 500) },
    { name: 'network graph, 24 h, high+', run: () => networkGraph(db, { since: day, until: now.toISOString(), severity: 'high' }, 500) },
    { name: 'network graph, 24 h, expand', run: () => networkGraph(db, { since: day, until: now.toISOString(), expand: `net:${11 + skew(180, 4)}.${Math.floor(rand() * 256)}.${skew(256, 2)}.0/24` }, 500) },
  ];
  const only = process.env.BENCH_QUERY_ONLY;
  const chosen = only ? questions.filter((q) => q.name.includes(only)) : questions;
  const results: { question: string; p50Ms: number; p95Ms: number; maxMs: number; failed: number }[] = [];
  process.stdout.write(`${'question'.padEnd(32)} ${'p50'.padStart(8)} ${'p95'.padStart(8)} ${'max'.padStart(8)}  (ms, ${RUNS} runs each)\n`);
  for (const q of chosen) {
    await q.run(-1).catch(() => undefined); // one run to warm the plan cache and the buffers this question reads
    const times: number[] = [];
    let failed = 0;
    for (let i = 0; i < RUNS; i++) {
      const t0 = performance.now();
      try {
        await q.run(i);
      } catch (err) {
        failed++;
        process.stdout.write(`  ${q.name}: ${(err as Error).message}\n`);
      }
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const r = { question: q.name, p50Ms: Math.round(percentile(times, 50)), p95Ms: Math.round(percentile(times, 95)), maxMs: Math.round(times.at(-1)!), failed };
    results.push(r);
    process.stdout.write(`${q.name.padEnd(32)} ${String(r.p50Ms).padStart(8)} ${String(r.p95Ms).padStart(8)} ${String(r.maxMs).padStart(8)}${failed ? `  ${failed} failed` : ''}\n`);
  }
  await db.destroy();
  mkdirSync(OUT, { recursive: true });
  const out = {
    at: new Date().toISOString(), machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30) },
    events: existing || EVENTS, alerts: ALERTS, networkFlows: { rows: Number(flows.rows), size: flows.size }, days: DAYS, runs: RUNS, eventsSize: size.events, indexesSize: size.indexes, results,
  };
  writeFileSync(join(OUT, 'queries.json'), `${JSON.stringify(out, null, 2)}\n`);
  process.stdout.write(`events: ${size.events} in tables, ${size.indexes} in indexes; results: ${join(OUT, 'queries.json')}\n`);
  if (owned && process.env.BENCH_QUERY_KEEP) process.stdout.write(`kept: BENCH_QUERY_DB=${url}\n`);
  else await owned?.drop();
  const over = results.filter((r) => r.p95Ms > (r.question.startsWith('network') ? 1000 : 500));
  process.stdout.write(over.length ? `over target (p95 500 ms, network 1 s): ${over.map((r) => r.question).join('; ')}\n` : 'every question within its target\n');
}

await main();
