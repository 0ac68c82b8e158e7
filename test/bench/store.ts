// `npm run bench:store`: what storing one event costs, in the store's Node process and in its Postgres backend.
// Normalizes BENCH_STORE_EVENTS (100,000) JSON records as the pipeline bench posts them, makes them store rows, and
// writes them with the store's own insertEvents in batches of 500 (one ENRICHED message), on one connection whose
// backend's CPU time is read from /proc, so the figure is the server's work for these rows alone (the WAL writer and
// the checkpointer work on top, not counted). Then, on the same rows: a redelivery of every batch, and the cost of
// each secondary index of the events table (the run without it, index by index). Needs the server on this machine.
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import pg from 'pg';
import { createDb, migrateToLatest, type Db } from '../../services/core/db/index.js';
import { normalizeRaw } from '../../services/normalize/core.js';
import { eventRow, type EventRow } from '../../services/store/core.js';
import { insertEvents } from '../../services/store/sink.js';
import { eventLine } from './events.js';

const EVENTS = Number(process.env.BENCH_STORE_EVENTS ?? 100_000);
const BATCH = 500;
const INDEXES = process.env.BENCH_STORE_INDEXES !== '0';

const fmt = (n: number) => (n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US'));

/** CPU time of a process in µs (utime + stime; the kernel counts in ticks of 10 ms). */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function batches(n: number, day: number): EventRow[][] {
  const out: EventRow[][] = [];
  for (let b = 0; b < n / BATCH; b++) {
    const records = Array.from({ length: BATCH }, (_, i) => eventLine(b * BATCH + i, day));
    const res = normalizeRaw({ source_id: 'bench', format: 'json', records, received_ms: Date.now() }, { idPrefix: `bench.${day}.${b}`, nowMs: Date.now() });
    out.push(res.events.map(eventRow));
  }
  return out;
}

interface Cost { nodeUs: number; pgUs: number; rowsPerSecond: number }

async function timed(db: Db, backend: number, work: EventRow[][], rows: number): Promise<Cost> {
  const node0 = process.cpuUsage(), pg0 = cpuOf(backend), t0 = performance.now();
  for (const b of work) await insertEvents(db, b);
  const seconds = (performance.now() - t0) / 1000;
  const node = process.cpuUsage(node0);
  return { nodeUs: (node.user + node.system) / rows, pgUs: (cpuOf(backend) - pg0) / rows, rowsPerSecond: rows / seconds };
}

async function main(): Promise<void> {
  const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `minisoc_bench_store_${process.pid}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(base);
  url.pathname = `/${name}`;
  const db = createDb(url.toString(), { max: 1 });
  try {
    await migrateToLatest(db);
    const backend = (await sql<{ pid: number }>`SELECT pg_backend_pid() AS pid`.execute(db)).rows[0]!.pid;
    const doc = batches(BATCH, 0)[0]!.map((r) => JSON.stringify(r.doc).length);
    console.log(`store bench: ${EVENTS.toLocaleString('en-US')} events, batches of ${BATCH}, document ${Math.round(doc.reduce((a, b) => a + b, 0) / doc.length)} bytes of JSON on average`);

    // Rows are made outside the clock; what is timed is the store's write of a batch, as the stage does it.
    await timed(db, backend, batches(10 * BATCH, 1), 10 * BATCH); // warm-up: partitions, plans, JIT of V8
    const work = batches(EVENTS, 2);
    const first = await timed(db, backend, work, EVENTS);
    console.log(`insert:     Node ${fmt(first.nodeUs)} µs/event, Postgres ${fmt(first.pgUs)} µs/event, ${fmt(first.rowsPerSecond)} events/s`);
    const again = await timed(db, backend, work, EVENTS);
    console.log(`redelivery: Node ${fmt(again.nodeUs)} µs/event, Postgres ${fmt(again.pgUs)} µs/event, ${fmt(again.rowsPerSecond)} events/s (nothing stored twice)`);

    const result: Record<string, unknown> = { events: EVENTS, insert: first, redelivery: again, indexes: {} as Record<string, number> };
    if (INDEXES) {
      const { rows: defs } = await sql<{ name: string; def: string }>`
        SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'events' AND indexname NOT LIKE '%pkey' ORDER BY indexname`.execute(db);
      // Each index's cost: the same insert into a fresh day without it, against a fresh day with all of them.
      let day = 3;
      const withAll = await timed(db, backend, batches(EVENTS / 2, day++), EVENTS / 2);
      for (const d of defs) {
        await sql.raw(`DROP INDEX ${d.name}`).execute(db);
        const without = await timed(db, backend, batches(EVENTS / 2, day++), EVENTS / 2);
        await sql.raw(d.def).execute(db);
        const cost = withAll.pgUs - without.pgUs;
        (result.indexes as Record<string, number>)[d.name] = cost;
        console.log(`index ${d.name}: ${fmt(cost)} µs of Postgres CPU per event`);
      }
    }
    const total = first.nodeUs + first.pgUs;
    console.log(`store: ${fmt(total)} µs of CPU per event (Node ${fmt(first.nodeUs)} + Postgres ${fmt(first.pgUs)})`);
    console.log(JSON.stringify(result));
  } finally {
    await db.destroy();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
