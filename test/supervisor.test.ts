// soc up as a supervisor: a record that crashes a stage, and one that stalls it, end in the dead-letter
// table after the poison rule's count of restarts, while every ordinary event is stored once and the HTTP
// app (ingest, the API, /healthz) keeps answering.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../tools/local/postgres.js';
import { ROOT, createTestDatabase, runCli, startTestNats, tempDir, waitFor, type Proc, type TestDatabase, type TestNats, startSocUp } from './harness.js';

const CRASH = 'crash-me-a7f3';
const STALL = 'stall-me-c91e';
const MAX_DELIVERIES = 3;

let nats: TestNats;
let database: TestDatabase;
let dataDir: string;
let soc: Proc;
let db: pg.Client;
let http: string;
let env: Record<string, string>;
const healthTimes: { ms: number; status: number }[] = [];

beforeAll(async () => {
  [nats, database] = await Promise.all([startTestNats(), createTestDatabase()]);
  dataDir = tempDir('minisoc-supervisor-');
  const port = await freePort();
  http = `http://127.0.0.1:${port}`;
  env = {
    NATS_URL: nats.url, DATABASE_URL: database.url, DATA_DIR: dataDir, HTTP_PORT: String(port), INGEST_ALLOW_ANONYMOUS: 'true',
    // Quicker redelivery and stall detection than the defaults, so the test does not wait minutes.
    STAGE_ACK_WAIT_MS: '2000', STAGE_MAX_DELIVERIES: String(MAX_DELIVERIES), SERVICE_STALL_MS: '4000', SERVICE_SEMI_SPACE_MB: '24',
    MINISOC_TEST_FAULT_STAGE: 'normalize', MINISOC_TEST_CRASH_MARKER: CRASH, MINISOC_TEST_STALL_MARKER: STALL,
  };
  ({ soc } = await startSocUp(env));
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
});

afterAll(async () => {
  await db?.end();
  if (soc) expect(await soc.kill('SIGTERM'), soc.output()).toBe(0);
  await nats?.close();
  await database?.drop();
  mkdirSync(join(ROOT, 'test-output'), { recursive: true });
  writeFileSync(join(ROOT, 'test-output', 'supervisor-healthz.json'), `${JSON.stringify(summary(healthTimes), null, 2)}\n`);
  if (soc) writeFileSync(join(ROOT, 'test-output', 'supervisor-soc.log'), soc.output());
  rmSync(dataDir, { recursive: true, force: true });
});

function summary(t: { ms: number; status: number }[]) {
  const ok = t.filter((x) => x.status === 200).map((x) => x.ms).sort((a, b) => a - b);
  return { probes: t.length, status503: t.filter((x) => x.status === 503).length, okP50Ms: ok[Math.floor(ok.length / 2)] ?? null, okMaxMs: ok[ok.length - 1] ?? null };
}

function line(n: number, extra = ''): string {
  return `10.9.${(n >> 8) & 255}.${n & 255} - - [22/Nov/2026:10:00:00 +0000] "GET /page?n=${n}${extra} HTTP/1.1" 200 512 "-" "ordinary"`;
}

async function post(source: string, body: string, key: string): Promise<void> {
  for (;;) {
    const res = await fetch(`${http}/api/ingest?source=${source}&format=access`, { method: 'POST', headers: { 'content-type': 'text/plain', 'idempotency-key': key }, body });
    if (res.status === 202) return;
    if (res.status !== 503) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function stored(source: string): Promise<{ total: number; distinct: number }> {
  const { rows } = await db.query<{ total: number; distinct: number }>(
    `SELECT count(*)::int AS total, count(DISTINCT doc #>> '{url,original}')::int AS distinct FROM events WHERE source_id = $1`, [source]);
  return rows[0]!;
}

async function deadLetter(marker: string): Promise<{ stage: string; error: string } | undefined> {
  const { rows } = await db.query<{ stage: string; error: string }>(
    `SELECT stage, error FROM dead_letters WHERE position($1::bytea in payload) > 0`, [Buffer.from(marker)]);
  return rows[0];
}

/** A wait that fails carries what soc up and its services last logged: the failure explains itself in CI. */
async function withLog<T>(wait: Promise<T>): Promise<T> {
  return wait.catch((err: Error) => {
    throw new Error(`${err.message}\n--- soc up's last output ---\n${soc.output().slice(-8000)}`);
  });
}

describe('soc up supervisor', () => {
  it('dead-letters a crashing and a stalling record after the poison rule, while everything else is stored once and the app answers', async () => {
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const t0 = performance.now();
        const res = await fetch(`${http}/healthz`, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
        healthTimes.push({ ms: performance.now() - t0, status: res?.status ?? 0 });
        // Every answer is either healthy or says which part is not.
        if (res && res.status !== 200) expect((await res.json() as { failing: string[] }).failing.length).toBeGreaterThan(0);
        else await res?.arrayBuffer();
        await new Promise((r) => setTimeout(r, 200));
      }
    })();

    // The hostile records, each in a request of its own (one batch each), between ordinary traffic.
    await post('sup', Array.from({ length: 500 }, (_, i) => line(i)).join('\n'), 'ordinary-0');
    await post('sup', line(100_000, `&x=${CRASH}`), 'crash');
    await post('sup', Array.from({ length: 500 }, (_, i) => line(500 + i)).join('\n'), 'ordinary-1');
    await post('sup', line(100_001, `&x=${STALL}`), 'stall');
    // Ingest and the API keep answering while normalize is down and restarting.
    for (let b = 2; b < 6; b++) await post('sup', Array.from({ length: 500 }, (_, i) => line(b * 500 + i)).join('\n'), `ordinary-${b}`);
    const me = await fetch(`${http}/api/events?limit=1`);
    expect([200, 401]).toContain(me.status);

    const reason = `crashed or stalled the normalize stage ${MAX_DELIVERIES} times`;
    const crash = await withLog(waitFor('the crashing record in the dead-letter table', () => deadLetter(CRASH), 240_000, 500));
    const stall = await withLog(waitFor('the stalling record in the dead-letter table', () => deadLetter(STALL), 240_000, 500));
    expect(crash).toEqual({ stage: 'normalize', error: reason });
    expect(stall).toEqual({ stage: 'normalize', error: reason });
    await withLog(waitFor('every ordinary event stored', async () => (await stored('sup')).total >= 3000, 120_000, 500));
    const s = await stored('sup');
    expect(s).toEqual({ total: 3000, distinct: 3000 });
    // The store's connections (open: it has just written) say whose they are in pg_stat_activity.
    const apps = (await db.query<{ app: string }>(`SELECT DISTINCT application_name AS app FROM pg_stat_activity WHERE datname = current_database()`)).rows.map((r) => r.app);
    expect(apps).toContain('minisoc-store');

    // The supervisor restarted normalize and says so; the others never stopped.
    const states = await waitFor('normalize running again', async () => {
      const res = await fetch(`${http}/healthz`);
      const body = await res.json() as { ok: boolean; services: { name: string; state: string; restarts: number }[] };
      return body.ok ? body.services : undefined;
    }, 120_000, 500);
    const byName = new Map(states.map((x) => [x.name, x]));
    // The crashing record took normalize down at each of its MAX_DELIVERIES deliveries (a first crash may
    // have held both records); the stalling one at least once: a stalled process's pending pull may take
    // redeliveries (each counted) before the supervisor kills it. Never more than both records' deliveries.
    const restarts = byName.get('normalize')!.restarts;
    expect(restarts).toBeGreaterThanOrEqual(MAX_DELIVERIES);
    expect(restarts).toBeLessThanOrEqual(2 * MAX_DELIVERIES);
    for (const name of ['http', 'store', 'detect', 'enrich']) expect(byName.get(name)!.restarts, name).toBe(0);
    // `soc stats` reads the same states from DATA_DIR/services.json.
    const cli = await runCli(['stats', '--json'], env);
    expect(cli.code, cli.stderr).toBe(0);
    const fromCli = (JSON.parse(cli.stdout) as { services: { name: string; restarts: number }[] }).services;
    expect(fromCli.find((x) => x.name === 'normalize')!.restarts).toBe(byName.get('normalize')!.restarts);
    // Every service, restarted or not, runs with the configured V8 heap and young generation.
    const running = (JSON.parse(readFileSync(join(dataDir, 'services.json'), 'utf8')) as { services: { name: string; pid: number }[] }).services;
    expect(running.length).toBeGreaterThanOrEqual(7);
    for (const x of running) {
      const argv = readFileSync(`/proc/${x.pid}/cmdline`, 'utf8').split('\0');
      expect(argv, x.name).toEqual(expect.arrayContaining(['--max-old-space-size=1024', '--max-semi-space-size=24']));
    }
    probing = false;
    await prober;
    expect(healthTimes.some((t) => t.status === 503)).toBe(true);
    expect(healthTimes.every((t) => t.status === 200 || t.status === 503)).toBe(true);
  }, 900_000);
});
