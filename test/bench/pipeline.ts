// `npm run bench`: the whole pipeline (`soc up` in its own process: ingest, normalize, enrich with GeoIP and
// a 100,000-indicator feed, detect with the default rule pack (BENCH_RULES=variants: the earlier 350-rule set), store) driven from this process. It measures, in one run:
//  1. sustained end-to-end events/s at full speed, posted until stored and detected;
//  2. ingest-to-alert latency (p50/p99) at a fixed lower rate (BENCH_LATENCY_RATE, default 5,000 events/s);
//  3. the raw limits of this machine for the same data: JetStream publish+consume of the same batches, and
//     Postgres COPY of the same rows (one COPY per 1,000 rows) into a table with the events table's columns, types,
//     indexes and day partitions, so the result is also a fair ratio to the limit;
//  4. a CPU budget: µs of CPU per event for each service of `soc up`, the supervisor, nats-server and Postgres
//     (the bench database's backends plus the server's background processes) with each part's peak RSS, so the run
//     names the bottleneck.
// Results go to test-output/bench/pipeline.json; the last line is `end-to-end: N events/s, R% of raw limit, p99 L ms`.
// BENCH_EVENTS, BENCH_BATCH, BENCH_CONCURRENCY, BENCH_LATENCY_SECONDS, BENCH_SPLIT=a,b|c,d (one soc up per group).
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { pipeline as streamPipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { AckPolicy, DeliverPolicy, DiscardPolicy, RetentionPolicy, StorageType, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { stringify } from 'csv-stringify/sync';
import yaml from 'js-yaml';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { Alert, RawBatch } from '../../services/core/proto.js';
import { pipelineLag } from '../../services/core/topology.js';
import { applyPolicy, loadRules, readPolicy } from '../../services/detect/index.js';
import { freePort } from '../../tools/local/postgres.js';
import { ROOT, SHARED_DATA, createTestDatabase, runNode, startTestNats, tempDir, waitFor, type Proc } from '../harness.js';
import { prng } from '../prng.js';
import { eventLine } from './events.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const PER_REQUEST = Number(process.env.BENCH_BATCH ?? 2_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);
const LATENCY_RATE = Number(process.env.BENCH_LATENCY_RATE ?? 5_000);
const LATENCY_SECONDS = Number(process.env.BENCH_LATENCY_SECONDS ?? 20);
const DATA = SHARED_DATA;
const OUT = join(ROOT, 'test-output', 'bench');
const RECORDS_PER_MESSAGE = 500; // INGEST_BATCH_RECORDS' default: what ingest puts in one stream message

const rand = prng(42);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

// ---------------------------------------------------------------- input

/** Access-log lines for the latency phase: every 50th is a SQL injection from an address that names its line. */
function accessLine(n: number): string {
  const ip = `172.${16 + ((n >> 16) & 15)}.${(n >> 8) & 255}.${n & 255}`;
  const url = n % 50 === 0 ? `/search?q=1%27%20UNION%20SELECT%20password%20FROM%20users--&n=${n}` : `/item?n=${n}`;
  return `${ip} - - [22/Nov/2026:12:00:00 +0000] "GET ${url} HTTP/1.1" 200 512 "-" "bench"`;
}

function lineOfIp(ip: string): number {
  const [, b, c, d] = ip.split('.').map(Number) as [number, number, number, number];
  return ((b - 16) << 16) | (c << 8) | d;
}

// ---------------------------------------------------------------- rules and intel

function yamlFiles(dir: string, name: (f: string) => boolean, out: string[] = []): string[] {
  for (const f of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, f.name);
    if (f.isDirectory()) yamlFiles(p, name, out);
    else if (name(f.name)) out.push(p);
  }
  return out;
}

/** A rule whose selection values no longer match what the original matches: same cost, other id. */
function variant(doc: Record<string, any>, n: number): Record<string, any> {
  const id = createHash('sha256').update(`${doc.id}:${n}`).digest('hex');
  const keep = /^(EventID|Channel|Provider_Name)(\||$)/;
  const change = (v: unknown): unknown => (typeof v === 'string' ? `${v}v${n}` : Array.isArray(v) ? v.map(change) : v);
  const selection = (s: unknown): unknown => (Array.isArray(s) ? s.map(selection)
    : s && typeof s === 'object' ? Object.fromEntries(Object.entries(s).map(([k, v]) => [k, keep.test(k) ? v : change(v)])) : change(s));
  const detection = Object.fromEntries(Object.entries(doc.detection as Record<string, unknown>)
    .map(([k, v]) => [k, k === 'condition' || k === 'timeframe' ? v : selection(v)]));
  return { ...doc, id: `${id.slice(0, 8)}-${id.slice(8, 12)}-4${id.slice(13, 16)}-8${id.slice(17, 20)}-${id.slice(20, 32)}`, title: `${doc.title} (variant ${n})`, detection };
}

/** The default pack as `soc up` loads it (MiniSOC's rules and the shipped SigmaHQ pack under the default policy). */
function defaultPack(): { dirs: string; rules: number; problems: number } {
  const dirs = [join(ROOT, 'rules'), join(ROOT, 'rules-sigmahq')];
  const loaded = loadRules(dirs);
  return { dirs: dirs.join(','), rules: applyPolicy(loaded.rules, readPolicy(undefined)).rules.length, problems: loaded.problems.length };
}

/** BENCH_RULES=variants, the earlier set: MiniSOC's rules, the SigmaHQ regression rules, the Hayabusa sample rules and one variant of each. */
function benchRules(dir: string): { dirs: string; rules: number; problems: number } {
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(join(ROOT, 'rules')).filter((f) => f.endsWith('.yml'))) copyFileSync(join(ROOT, 'rules', f), join(dir, f));
  yamlFiles(join(DATA, 'sigma-regression', 'cases'), (f) => f === 'rule.yml').forEach((p, i) => {
    const text = readFileSync(p, 'utf8');
    writeFileSync(join(dir, `sigmahq-${i}.yml`), text);
    const doc = yaml.load(text) as Record<string, any>;
    if (doc?.detection) writeFileSync(join(dir, `sigmahq-${i}-v1.yml`), yaml.dump(variant(doc, 1)));
  });
  yamlFiles(join(DATA, 'sysmon-samples'), (f) => f.endsWith('.yml')).forEach((p, i) => copyFileSync(p, join(dir, `hayabusa-${i}.yml`)));
  const loaded = loadRules([dir]);
  return { dirs: dir, rules: loaded.rules.length, problems: loaded.problems.length };
}

function publicIPv4(): string {
  for (;;) {
    const a = 1 + Math.floor(rand() * 222);
    if (a === 10 || a === 127 || a === 172 || a === 192 || a === 100 || a === 169 || a === 203 || a === 198) continue;
    return `${a}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}`;
  }
}

/** 100,000 indicators (addresses and blocks), as a feeds file for INTEL_FEEDS_FILE. */
function benchIntel(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const lines = ['# generated benchmark feed'];
  for (let i = 0; i < 75_000; i++) lines.push(publicIPv4());
  for (let i = 0; i < 25_000; i++) lines.push(`${publicIPv4().replace(/\.\d+$/, '.0')}/${24 + Math.floor(rand() * 7)}`);
  writeFileSync(join(dir, 'bench.netset'), `${lines.join('\n')}\n`);
  const file = join(dir, 'feeds.yaml');
  writeFileSync(file, 'feeds:\n  - name: bench\n    path: bench.netset\n    format: netset\n    confidence: 80\n');
  return file;
}

// ---------------------------------------------------------------- processes

/** CPU ticks (1/100 s, user + system) of a process so far. */
function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}
function peakRssMb(pid: number): number {
  return Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}

/** CPU ticks (1/100 s) of a process, or undefined once it is gone. */
function ticksOf(pid: number): number | undefined {
  try {
    return cpuTicks(pid);
  } catch {
    return undefined;
  }
}

/** The processes that work for the pipeline, by part: each service of every `soc up` (its DATA_DIR/services.json). */
async function pipelinePids(dataDirs: string[], socPids: number[], natsPid: number | undefined, db: pg.Client): Promise<Map<string, number[]>> {
  const parts = new Map<string, number[]>();
  const add = (part: string, pid: number) => parts.set(part, [...(parts.get(part) ?? []), pid]);
  for (const dir of dataDirs) {
    const { services } = JSON.parse(readFileSync(join(dir, 'services.json'), 'utf8')) as { services: { name: string; pid: number | null }[] };
    for (const s of services) if (s.pid) add(s.name === 'http' ? 'ingest (http)' : s.name, s.pid);
  }
  for (const pid of socPids) add('supervisor (soc up)', pid);
  if (natsPid) add('nats-server', natsPid);
  // Postgres: the backends of this database and the server's own background processes (WAL writer, checkpointer...);
  // on a shared server those also work for other databases, so the figure is an upper bound there.
  for (const r of await postgresProcesses(db)) add('postgres', r.pid);
  return parts;
}

/** What each Postgres process of the run was for: a MiniSOC pool's application_name, or the server's backend type. */
const postgresLabels = new Map<number, string>();

/**
 * The processes of the bench's database and the server's own, each labelled (postgresLabels); the bench's own backend
 * (its counting queries) is labelled but left out: it is the measurement, not the pipeline.
 */
async function postgresProcesses(db: pg.Client): Promise<{ pid: number }[]> {
  const { rows } = await db.query<{ pid: number; type: string; app: string; own: boolean }>(`
    SELECT pid, coalesce(backend_type, '') AS type, coalesce(application_name, '') AS app, pid = pg_backend_pid() AS own
    FROM pg_stat_activity WHERE datname = current_database() OR datname IS NULL`);
  for (const r of rows) {
    postgresLabels.set(r.pid, r.own ? 'bench' : r.type === 'client backend' ? r.app.replace(/^minisoc-/, '') || 'other client' : r.type);
  }
  return rows.filter((r) => !r.own);
}

/** The Postgres line of the budget by what its processes were for, µs of CPU per event. */
function postgresBreakdown(pids: number[], before: Map<number, number>, after: Map<number, number>, events: number): Record<string, number> {
  const ticks = new Map<string, number>();
  for (const pid of new Set(pids)) {
    const label = postgresLabels.get(pid) ?? 'other';
    ticks.set(label, (ticks.get(label) ?? 0) + (after.get(pid) ?? before.get(pid) ?? 0) - (before.get(pid) ?? 0));
  }
  return Object.fromEntries([...ticks].map(([k, t]) => [k, Math.round((t * 10_000) / events)] as const).filter(([, us]) => us > 0).sort((a, b) => b[1] - a[1]));
}

/** µs of CPU per event of each part between two samples; a process that ended in between is counted up to the last sample. */
function cpuBudget(parts: Map<string, number[]>, before: Map<number, number>, after: Map<number, number>, events: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [part, pids] of parts) {
    let ticks = 0;
    for (const pid of new Set(pids)) ticks += (after.get(pid) ?? before.get(pid) ?? 0) - (before.get(pid) ?? 0);
    out[part] = Math.round((ticks * 10_000) / events);
  }
  return out;
}

/**
 * Peak resident memory of each part in MB: the sum over its processes, except Postgres, whose backends share the
 * buffer cache (summing would count it once per backend): there the largest process.
 */
function peakRss(parts: Map<string, number[]>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [part, pids] of parts) {
    const each = [...new Set(pids)].map((pid) => { try { return peakRssMb(pid); } catch { return 0; } });
    out[part] = Math.round(part === 'postgres' ? Math.max(0, ...each) : each.reduce((a, b) => a + b, 0));
  }
  return out;
}

/**
 * Follows the pipeline's Postgres backends while it runs: the services' pools open connections as load grows and close
 * idle ones, so the backends of the first sample are not all of them. A backend is counted from when it is first seen
 * (every 250 ms) to its last sample, so at most a quarter of a second of each new one's work is missed.
 */
function followPostgres(db: pg.Client, parts: Map<string, number[]>, before: Map<number, number>): { stop(): Map<number, number> } {
  const latest = new Map<number, number>();
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    postgresProcesses(db).then((rows) => {
      const pids = parts.get('postgres')!;
      for (const { pid } of rows) {
        const t = ticksOf(pid);
        if (t === undefined) continue;
        if (!before.has(pid)) { pids.push(pid); before.set(pid, t); }
        latest.set(pid, t);
      }
    }).catch(() => undefined).finally(() => { busy = false; });
  }, 250);
  return { stop: () => { clearInterval(timer); const now = sampleTicks(parts); for (const [pid, t] of latest) if (!now.has(pid)) now.set(pid, t); return now; } };
}

function sampleTicks(parts: Map<string, number[]>): Map<number, number> {
  const m = new Map<number, number>();
  for (const pids of parts.values()) for (const pid of pids) { const t = ticksOf(pid); if (t !== undefined) m.set(pid, t); }
  return m;
}

// ---------------------------------------------------------------- raw limits

/** The same events as stream messages of 500 records each, published with acks (4 at a time) while a pull consumer drains them. */
async function rawJetStream(natsUrl: string, bodies: string[]): Promise<number> {
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await jsm.streams.add({ name: 'BENCH_RAW', subjects: ['bench.raw'], retention: RetentionPolicy.Workqueue, discard: DiscardPolicy.New, storage: StorageType.File });
  await jsm.consumers.add('BENCH_RAW', { durable_name: 'raw', ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 1000 });
  const messages = bodies.flatMap((b, r) => {
    const lines = b.split('\n');
    const out: Uint8Array[] = [];
    for (let i = 0; i < lines.length; i += RECORDS_PER_MESSAGE) {
      out.push(RawBatch.encode({ source_id: 'bench', format: 'json', received_ms: Date.now(), records: lines.slice(i, i + RECORDS_PER_MESSAGE), remote_addr: '127.0.0.1' }).finish());
    }
    return out.map((m, i) => ({ m, id: `raw-${r}-${i}` }));
  });
  const events = bodies.length * PER_REQUEST;
  const started = performance.now();
  const consumer = await js.consumers.get('BENCH_RAW', 'raw');
  let consumed = 0;
  const drained = (async () => {
    const iter = await consumer.consume({ max_messages: 64 });
    for await (const m of iter) {
      RawBatch.decode(m.data);
      m.ack();
      if (++consumed === messages.length) break;
    }
  })();
  let next = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < messages.length) {
      const { m, id } = messages[next++]!;
      await js.publish('bench.raw', m, { msgID: id });
    }
  }));
  await drained;
  const rate = events / ((performance.now() - started) / 1000);
  await jsm.streams.delete('BENCH_RAW');
  await nc.close();
  return rate;
}

/**
 * The rows the pipeline stored, written again with one COPY per 1,000 rows into a table like events: the same columns,
 * types, defaults and every index (LIKE ... INCLUDING ALL), partitioned by day the same way.
 */
async function rawCopy(db: pg.Client): Promise<number> {
  const cols = ['id', 'ts', 'source_id', 'kind', 'category', 'action', 'outcome', 'host_name', 'agent_id', 'user_name', 'source_ip', 'source_port',
    'destination_ip', 'destination_port', 'process_name', 'message', 'tags', 'doc'];
  await db.query('DROP TABLE IF EXISTS bench_copy');
  await db.query('CREATE TABLE bench_copy (LIKE events INCLUDING ALL) PARTITION BY RANGE (ts)');
  const { rows: days } = await db.query<{ day: string }>(`SELECT DISTINCT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day FROM events WHERE source_id = 'bench'`);
  for (const { day } of days) {
    const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000).toISOString();
    await db.query(`CREATE TABLE "bench_copy_${day}" PARTITION OF bench_copy FOR VALUES FROM ('${day}T00:00:00Z') TO ('${next}')`);
  }
  const indexes = Number((await db.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'bench_copy'`)).rows[0].n);
  const eventIndexes = Number((await db.query(`SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'events'`)).rows[0].n);
  if (indexes !== eventIndexes) throw new Error(`bench_copy has ${indexes} indexes, events ${eventIndexes}: the raw limit would not be fair`);
  const { rows } = await db.query(`SELECT ${cols.join(', ')} FROM events WHERE source_id = 'bench'`);
  const pgArray = (a: string[]) => `{${a.map((s) => `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(',')}}`;
  const chunks: string[] = [];
  for (let i = 0; i < rows.length; i += 1000) {
    chunks.push(stringify(rows.slice(i, i + 1000).map((r) => cols.map((c) => {
      const v = r[c];
      if (v === null || v === undefined) return null;
      if (Array.isArray(v)) return pgArray(v);
      if (v instanceof Date) return v.toISOString();
      if (c === 'doc') return JSON.stringify(v);
      return String(v);
    })), { quoted_string: true }));
  }
  const started = performance.now();
  for (const text of chunks) {
    await streamPipeline(Readable.from([text]), db.query(copyFrom(`COPY bench_copy (${cols.join(', ')}) FROM STDIN (FORMAT csv)`)));
  }
  const rate = rows.length / ((performance.now() - started) / 1000);
  await db.query('DROP TABLE bench_copy');
  return rate;
}

// ---------------------------------------------------------------- run

async function post(url: string, body: string, key: string, type: string): Promise<number> {
  let retries = 0;
  for (;;) {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': type, 'idempotency-key': key }, body });
    if (res.status === 202) return retries;
    if (res.status !== 503 && res.status !== 429) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
    retries++;
    await new Promise((s) => setTimeout(s, 200));
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function main(): Promise<void> {
  const work = tempDir('minisoc-bench-');
  const ruleSet = process.env.BENCH_RULES === 'variants' ? benchRules(join(work, 'rules')) : defaultPack();
  const feeds = benchIntel(join(work, 'intel'));
  process.stdout.write(`rules: ${ruleSet.rules} run (${ruleSet.problems} load problems; ${ruleSet.dirs}); intel: 100,000 indicators; GeoIP: shipped database\n`);

  const nats = process.env.NATS_URL ? undefined : await startTestNats();
  const database = await createTestDatabase();
  const natsUrl = process.env.NATS_URL ?? nats!.url;
  const port = await freePort();
  const env = {
    NATS_URL: natsUrl, DATABASE_URL: database.url, HTTP_PORT: String(port), LOG_LEVEL: 'warn', RULES_DIR: ruleSet.dirs,
    INTEL_FEEDS_FILE: feeds, INGEST_ALLOW_ANONYMOUS: 'true',
  };
  // The supervisor passes --cpu-prof on to the services it forks, so each writes its own profile when it stops.
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  const groups = process.env.BENCH_SPLIT ? process.env.BENCH_SPLIT.split('|') : [undefined];
  const procs: Proc[] = groups.map((g, i) => runNode('tools/cli/soc.js', ['up'], { ...env, SOC_SERVICES: g, DATA_DIR: join(work, `data-${i}`) }, profile));
  const soc = procs.find((_, i) => !groups[i] || groups[i]!.includes('ingest'))!;
  await waitFor('the ingest API', async () => {
    if (soc.child.exitCode !== null) throw new Error(`soc up exited: ${soc.output()}`);
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
  }, 120_000).catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${soc.output()}`); });
  const db = new pg.Client({ connectionString: database.url });
  await db.connect();
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  const count = async (source: string) => Number((await db.query(`SELECT count(*)::int AS n FROM events WHERE source_id = $1`, [source])).rows[0].n);
  const detectIdle = async () => {
    const c = await jsm.consumers.info('ENRICHED', 'detect');
    return c.num_pending + c.num_ack_pending === 0;
  };
  // Counting scans the events of the run: done only once every stage has nothing left, it stays out of the way (and
  // out of the Postgres line: the bench's own backend is not counted).
  const pipelineIdle = async () => (await pipelineLag(jsm)).every((c) => c.pending + c.ackPending === 0);
  // Enrich loads the feed and detect its rules after start: wait until one event has gone through.
  await post(`http://127.0.0.1:${port}/api/ingest?source=warmup`, eventLine(0), 'warmup', 'application/x-ndjson');
  await waitFor('a warm-up event stored', async () => (await count('warmup')) === 1, 120_000, 200);

  // 1. full speed
  const requests = Math.ceil(EVENTS / PER_REQUEST);
  const bodies = Array.from({ length: requests }, (_, r) => Array.from({ length: PER_REQUEST }, (_, i) => eventLine(r * PER_REQUEST + i)).join('\n'));
  const total = requests * PER_REQUEST;
  const parts = await pipelinePids(groups.map((_, i) => join(work, `data-${i}`)), procs.map((p) => p.child.pid!), nats?.process.pid, db);
  const ticksBefore = sampleTicks(parts);
  const postgres = followPostgres(db, parts, ticksBefore);
  process.stdout.write(`posting ${fmt(total)} events in ${requests} requests of ${PER_REQUEST}, ${CONCURRENCY} at a time\n`);
  const started = performance.now();
  let next = 0;
  let retries = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < requests) {
      const r = next++;
      retries += await post(`http://127.0.0.1:${port}/api/ingest?source=bench`, bodies[r]!, `bench-${r}`, 'application/x-ndjson');
    }
  }));
  const postedMs = performance.now() - started;
  await waitFor('every event stored and detected', async () => (await pipelineIdle()) && (await count('bench')) >= total && (await detectIdle()), 1_800_000, 100);
  const seconds = (performance.now() - started) / 1000;
  const ticksAfter = postgres.stop();
  const budget = cpuBudget(parts, ticksBefore, ticksAfter, total);
  const postgresBy = postgresBreakdown(parts.get('postgres')!, ticksBefore, ticksAfter, total);
  const rss = peakRss(parts);
  const endToEnd = total / seconds;
  const matches = Number((await db.query('SELECT count(*) AS n FROM alert_matches')).rows[0].n);
  const opened = Number((await db.query('SELECT count(*) AS n FROM alerts')).rows[0].n);
  process.stdout.write(`full speed: accepted in ${(postedMs / 1000).toFixed(1)} s (${fmt(total / (postedMs / 1000))} events/s, ${retries} retried requests), stored and detected in ${seconds.toFixed(1)} s: ${fmt(endToEnd)} events/s; ${fmt(matches)} rule matches stored as ${fmt(opened)} alerts\n`);
  const budgetTotal = Object.values(budget).reduce((a, b) => a + b, 0);
  process.stdout.write(`CPU budget (µs of CPU per event; ${fmt(1e6 / Math.max(1, budgetTotal))} events per CPU-second in all) and peak RSS:\n`);
  for (const [k, us] of Object.entries(budget).sort((a, b) => b[1] - a[1])) {
    process.stdout.write(`  ${k.padEnd(20)} ${String(us).padStart(6)} µs  ${((100 * us) / Math.max(1, budgetTotal)).toFixed(0).padStart(3)} %  ${String(rss[k]).padStart(5)} MB\n`);
  }
  process.stdout.write(`  Postgres by process: ${Object.entries(postgresBy).map(([k, us]) => `${k} ${us}`).join(', ')} µs\n`);
  const socRss = Object.entries(rss).filter(([k]) => k !== 'postgres' && k !== 'nats-server').reduce((a, [, v]) => a + v, 0);
  process.stdout.write(`  peak RSS: soc up (supervisor and services) ${socRss} MB, nats-server ${rss['nats-server'] ?? '-'} MB, Postgres (largest process) ${rss.postgres} MB\n`);

  // 2. latency at a fixed rate
  const latencies: number[] = [];
  const sentAt = new Map<number, number>();
  const sub = nc.subscribe('alerts.*', {
    callback: (_e, m) => {
      const a = Alert.decode(m.data);
      const n = a.source_ip?.startsWith('172.') ? lineOfIp(a.source_ip) : -1;
      const t = sentAt.get(n);
      if (t !== undefined) { latencies.push(performance.now() - t); sentAt.delete(n); }
    },
  });
  const perTick = Math.round(LATENCY_RATE / 10);
  const ticks = LATENCY_SECONDS * 10;
  process.stdout.write(`latency: ${fmt(LATENCY_RATE)} events/s for ${LATENCY_SECONDS} s (1 in 50 a SQL injection), from POST to the alert on alerts.*\n`);
  const latStart = performance.now();
  const inflight: Promise<number>[] = [];
  for (let t = 0; t < ticks; t++) {
    const due = latStart + t * 100;
    await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
    const first = t * perTick;
    const lines = Array.from({ length: perTick }, (_, i) => accessLine(first + i));
    const now = performance.now();
    for (let i = first; i < first + perTick; i += 50) sentAt.set(i, now);
    inflight.push(post(`http://127.0.0.1:${port}/api/ingest?source=latency&format=access`, lines.join('\n'), `lat-${t}`, 'text/plain'));
  }
  await Promise.all(inflight);
  const expected = Math.ceil((ticks * perTick) / 50);
  await waitFor('every latency alert', () => latencies.length >= expected, 300_000, 100).catch(() => undefined);
  sub.unsubscribe();
  const sorted = [...latencies].sort((a, b) => a - b);
  const p50 = percentile(sorted, 50);
  const p99 = percentile(sorted, 99);
  process.stdout.write(`  ${latencies.length} of ${expected} alerts seen: p50 ${p50.toFixed(0)} ms, p99 ${p99.toFixed(0)} ms, max ${(sorted.at(-1) ?? NaN).toFixed(0)} ms\n`);

  // 3. raw limits of the same machine, same data
  for (const p of procs) await p.kill('SIGTERM');
  const rawJs = await rawJetStream(natsUrl, bodies);
  const rawPg = await rawCopy(db);
  const limit = Math.min(rawJs, rawPg);
  process.stdout.write(`raw limits: JetStream publish+consume ${fmt(rawJs)} events/s (messages of ${RECORDS_PER_MESSAGE}), Postgres COPY ${fmt(rawPg)} rows/s (1,000 per COPY)\n`);

  const result = {
    at: new Date().toISOString(), machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version },
    input: { events: total, perRequest: PER_REQUEST, concurrency: CONCURRENCY, rules: ruleSet.rules, indicators: 100_000 },
    endToEnd: { eventsPerSecond: Math.round(endToEnd), seconds: +seconds.toFixed(2), acceptedPerSecond: Math.round(total / (postedMs / 1000)), retriedRequests: retries },
    cpuBudgetUsPerEvent: budget, postgresUsPerEventByProcess: postgresBy, peakRssMb: rss,
    latency: { rate: LATENCY_RATE, seconds: LATENCY_SECONDS, alerts: latencies.length, expected, p50Ms: Math.round(p50), p99Ms: Math.round(p99) },
    rawLimits: { jetstreamEventsPerSecond: Math.round(rawJs), postgresCopyRowsPerSecond: Math.round(rawPg), limit: Math.round(limit) },
    ratioToLimit: +(endToEnd / limit).toFixed(3),
  };
  mkdirSync(OUT, { recursive: true });
  writeFileSync(join(OUT, 'pipeline.json'), `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`results: ${join(OUT, 'pipeline.json')}\n`);

  await nc.close();
  await db.end();
  await nats?.close();
  await database.drop();
  rmSync(work, { recursive: true, force: true });
  process.stdout.write(`end-to-end: ${fmt(endToEnd)} events/s, ${(result.ratioToLimit * 100).toFixed(1)}% of raw limit, p99 ${p99.toFixed(0)} ms\n`);
}

await main();
