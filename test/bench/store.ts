// `npm run bench:store`: what storing one event costs, in the store's Node process and in its Postgres backend.
// Normalizes BENCH_STORE_EVENTS (100,000) JSON records as the pipeline bench posts them into ENRICHED messages of 500
// events, then does what the store stage does with each (decode, rows, insertEvents) on one connection whose
// backend's CPU time is read from /proc, so the figure is the server's work for these rows alone (the WAL writer and
// the checkpointer work on top, not counted). Then, on the same rows: a redelivery of every batch, and the cost of
// each secondary index of the events table (BENCH_STORE_INDEX_EVENTS with and then without it, index by index,
// BENCH_STORE_REPEAT times; BENCH_STORE_INDEXES=0 skips that). Needs the server on this machine.
import { readFileSync } from 'node:fs';
import { sql } from 'kysely';
import pg from 'pg';
import { createDb, migrateToLatest, type Db } from '../../services/core/db/index.js';
import { normalizeRaw } from '../../services/normalize/core.js';
import { EventBatch } from '../../services/core/proto.js';
import { eventRow } from '../../services/store/core.js';
import { insertEvents } from '../../services/store/sink.js';
import { storeMetrics } from '../../services/core/metrics.js';
import { eventLine } from './events.js';

const EVENTS = Number(process.env.BENCH_STORE_EVENTS ?? 100_000);
const BATCH = 500;
const INDEXES = process.env.BENCH_STORE_INDEXES !== '0';
const INDEX_EVENTS = Number(process.env.BENCH_STORE_INDEX_EVENTS ?? 20_000);
const REPEAT = Number(process.env.BENCH_STORE_REPEAT ?? 3);

const fmt = (n: number) => (n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString('en-US'));

/** CPU time of a process in µs (utime + stime; the kernel counts in ticks of 10 ms). */
function cpuOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** ENRICHED messages as the store stage receives them: encoded batches of BATCH events. */
function batches(n: number, day: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let b = 0; b < n / BATCH; b++) {
    const records = Array.from({ length: BATCH }, (_, i) => eventLine(b * BATCH + i, day));
    const res = normalizeRaw({ source_id: 'bench', format: 'json', records, received_ms: Date.now() }, { idPrefix: `bench.${day}.${b}`, nowMs: Date.now() });
    out.push(EventBatch.encode({ events: res.events }).finish());
  }
  return out;
}

interface Cost { nodeUs: number; pgUs: number; walBytes: number; rowsPerSecond: number }

/** The store stage's work on each message but the NATS client's: decode, rows, write. */
async function timed(db: Db, backend: number, work: Uint8Array[], rows: number): Promise<Cost> {
  const lsn = async () => (await sql<{ lsn: string }>`SELECT pg_current_wal_insert_lsn()::text AS lsn`.execute(db)).rows[0]!.lsn;
  const wal0 = await lsn();
  const node0 = process.cpuUsage(), pg0 = cpuOf(backend), t0 = performance.now();
  for (const b of work) await insertEvents(db, EventBatch.decode(b).events.map(eventRow));
  const seconds = (performance.now() - t0) / 1000;
  const node = process.cpuUsage(node0), pgUs = cpuOf(backend) - pg0;
  // WAL written by the whole server meanwhile: this run's, unless another database writes at the same time.
  const wal = Number((await sql<{ n: string }>`SELECT pg_wal_lsn_diff(${await lsn()}::pg_lsn, ${wal0}::pg_lsn)::bigint::text AS n`.execute(db)).rows[0]!.n);
  return { nodeUs: (node.user + node.system) / rows, pgUs: pgUs / rows, walBytes: wal / rows, rowsPerSecond: rows / seconds };
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
    const doc = EventBatch.decode(batches(BATCH, 0)[0]!).events.map((e) => JSON.stringify(eventRow(e).doc).length);
    console.log(`store bench: ${EVENTS.toLocaleString('en-US')} events, batches of ${BATCH}, document ${Math.round(doc.reduce((a, b) => a + b, 0) / doc.length)} bytes of JSON on average`);

    // Messages are made outside the clock; what is timed is what the stage does with each but receive and ack it.
    await timed(db, backend, batches(10 * BATCH, 1), 10 * BATCH); // warm-up: partitions, plans, JIT of V8
    const work = batches(EVENTS, 2);
    const first = await timed(db, backend, work, EVENTS);
    console.log(`insert:     Node ${fmt(first.nodeUs)} µs/event, Postgres ${fmt(first.pgUs)} µs/event, ${fmt(first.walBytes)} bytes of WAL/event, ${fmt(first.rowsPerSecond)} events/s`);
    const fallbacks = async () => (await storeMetrics.copyFallbacks.get()).values.reduce((a, v) => a + v.value, 0);
    if (await fallbacks() > 0) throw new Error(`COPY fell back to the statement on ${await fallbacks()} batches of new events: the figure would not be COPY's`);
    const again = await timed(db, backend, work, EVENTS);
    console.log(`redelivery: Node ${fmt(again.nodeUs)} µs/event, Postgres ${fmt(again.pgUs)} µs/event, ${fmt(again.rowsPerSecond)} events/s (nothing stored twice)`);

    const result: Record<string, unknown> = { events: EVENTS, insert: first, redelivery: again, indexes: {} as Record<string, number> };
    if (INDEXES) {
      const { rows: defs } = await sql<{ name: string; def: string }>`
        SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'events' AND indexname NOT LIKE '%pkey' ORDER BY indexname`.execute(db);
      // Each index's cost: the same insert into a fresh day with every index and then without this one, REPEAT times in
      // turn (the median is kept), so the runs of a pair see the same machine. CPU time moves with what else the
      // machine does; the WAL bytes do not, unless another database writes at the same time.
      let day = 3;
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      for (const d of defs) {
        const cpu: number[] = [], wal: number[] = [];
        for (let i = 0; i < REPEAT; i++) {
          const withAll = await timed(db, backend, batches(INDEX_EVENTS, day++), INDEX_EVENTS);
          await sql.raw(`DROP INDEX ${d.name}`).execute(db);
          const without = await timed(db, backend, batches(INDEX_EVENTS, day++), INDEX_EVENTS);
          await sql.raw(d.def).execute(db);
          cpu.push(withAll.pgUs - without.pgUs);
          wal.push(withAll.walBytes - without.walBytes);
        }
        (result.indexes as Record<string, unknown>)[d.name] = { pgUs: median(cpu), walBytes: median(wal) };
        console.log(`index ${d.name}: ${fmt(median(cpu))} µs of Postgres CPU per event (runs: ${cpu.map(fmt).join(', ')}), ${fmt(median(wal))} bytes of WAL`);
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
