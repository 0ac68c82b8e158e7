// `npm run bench`: posts events at full speed to a running pipeline and prints events/s stored end to end.
// Starts its own nats-server and Postgres (or uses NATS_URL / DATABASE_URL), and `soc up` as a separate process.
import { rmSync } from 'node:fs';
import pg from 'pg';
import { freePort } from '../../tools/local/postgres.js';
import { createTestDatabase, runNode, startTestNats, tempDir, waitFor } from '../harness.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const PER_REQUEST = Number(process.env.BENCH_BATCH ?? 2_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 4);

function body(r: number): string {
  const lines: string[] = [];
  for (let i = 0; i < PER_REQUEST; i++) {
    const n = r * PER_REQUEST + i;
    lines.push(JSON.stringify({
      '@timestamp': new Date(Date.UTC(2026, 10, 22, 12, 0, 0, n % 86_400_000)).toISOString(),
      host: `web-${n % 50}`, src_ip: `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`, dst_port: 443,
      user: `user${n % 1000}`, action: 'http_request', outcome: n % 10 ? 'success' : 'failure',
      url: `/app/item/${n % 5000}?q=${n}`, status: n % 10 ? 200 : 404, user_agent: 'Mozilla/5.0 (X11; Linux x86_64)',
      message: `GET /app/item/${n % 5000} HTTP/1.1`,
    }));
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const nats = process.env.NATS_URL ? undefined : await startTestNats();
  const database = await createTestDatabase();
  const dataDir = tempDir('minisoc-bench-');
  const port = await freePort();
  const env = { NATS_URL: process.env.NATS_URL ?? nats!.url, DATABASE_URL: database.url, DATA_DIR: dataDir, HTTP_PORT: String(port), LOG_LEVEL: 'warn' };
  // BENCH_PROFILE_DIR=dir writes a CPU profile of the pipeline process there.
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : [];
  // BENCH_SPLIT=a,b|c,d runs `soc up` once per group of services (one process each) instead of all in one.
  const groups = process.env.BENCH_SPLIT ? process.env.BENCH_SPLIT.split('|') : [undefined];
  const procs = groups.map((g, i) => runNode('tools/cli/soc.js', ['up'], { ...env, SOC_SERVICES: g, DATA_DIR: `${dataDir}/${i}` }, profile));
  const soc = procs.find((_, i) => !groups[i] || groups[i]!.includes('ingest'))!;
  const url = `http://127.0.0.1:${port}/api/ingest?source=bench`;
  await waitFor('the ingest API', async () => {
    if (soc.child.exitCode !== null) throw new Error(`soc up exited: ${soc.output()}`);
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
  }, 60_000).catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${soc.output()}`); });
  const db = new pg.Client({ connectionString: database.url });
  await db.connect();
  const stored = async () => Number((await db.query(`SELECT count(*)::int AS n FROM events WHERE source_id = 'bench'`)).rows[0].n);

  const requests = Math.ceil(EVENTS / PER_REQUEST);
  const bodies = Array.from({ length: requests }, (_, r) => body(r));
  process.stdout.write(`posting ${requests * PER_REQUEST} events in ${requests} requests of ${PER_REQUEST}, ${CONCURRENCY} at a time\n`);
  const started = performance.now();
  let next = 0;
  let retries = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < requests) {
      const r = next++;
      for (;;) {
        const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'idempotency-key': `bench-${r}` }, body: bodies[r] });
        if (res.status === 202) break;
        if (res.status !== 503 && res.status !== 429) throw new Error(`ingest answered ${res.status}: ${await res.text()}`);
        retries++;
        await new Promise((s) => setTimeout(s, 200));
      }
    }
  }));
  const posted = performance.now();
  const total = requests * PER_REQUEST;
  await waitFor('every event stored', async () => (await stored()) >= total, 600_000, 100);
  const done = performance.now();
  const seconds = (done - started) / 1000;
  process.stdout.write(`posted in ${((posted - started) / 1000).toFixed(2)} s (${Math.round(total / ((posted - started) / 1000))} events/s accepted, ${retries} retried requests)\n`);
  process.stdout.write(`stored ${await stored()} rows in ${seconds.toFixed(2)} s\n`);
  process.stdout.write(`end-to-end: ${Math.round(total / seconds)} events/s posted to stored (ingest, normalize, enrich, store)\n`);

  await db.end();
  for (const p of procs) await p.kill('SIGTERM');
  await nats?.close();
  await database.drop();
  rmSync(dataDir, { recursive: true, force: true });
}

await main();
