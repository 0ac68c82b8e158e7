// `npm run bench:hostile`: 10 MiB adversarial bodies of every format, cut by the ingest splitter and parsed by normalize, timed per shape.
// The target (docs/performance.md): every shape answered (400) or cut and parsed within 2 s on one core of
// the 2-core machine. BENCH_HOSTILE_MIB changes the body size; BENCH_HOSTILE_ONLY=winxml,json picks formats.
import { bodyKind, chunk, declaredFormat, splitRecords } from '../../services/ingest/core.js';
import { errorMessage } from '../../services/core/errors.js';
import { normalizeRaw } from '../../services/normalize/core.js';
import { hostileBodies, type HostileShape } from '../fuzz/hostile-bodies.js';

const MIB = Number(process.env.BENCH_HOSTILE_MIB ?? 10);
const SIZE = MIB * 1024 * 1024;
const ONLY = process.env.BENCH_HOSTILE_ONLY?.split(',');
// What ingest uses: 500 records and 0.9 × the 8 MB max_payload per RawBatch.
const BATCH_RECORDS = 500;
const BATCH_BYTES = 8 * 1024 * 1024 * 0.9;
const TARGET_MS = 2000;

const SHAPES = hostileBodies(SIZE);
type Shape = HostileShape;


function run(s: Shape): { ms: number; splitMs: number; records: number; events: number; rejects: number; answer: string } {
  const body = s.body();
  const t0 = performance.now();
  let records: string[];
  const kind = bodyKind(s.format, body);
  try {
    records = splitRecords(body, s.format, kind);
  } catch (err) {
    const ms = performance.now() - t0;
    return { ms, splitMs: ms, records: 0, events: 0, rejects: 0, answer: `400 ${errorMessage(err).slice(0, 60)}` };
  }
  let batches: string[][];
  try {
    batches = chunk(records, BATCH_RECORDS, BATCH_BYTES);
  } catch (err) {
    const ms = performance.now() - t0;
    return { ms, splitMs: ms, records: records.length, events: 0, rejects: 0, answer: `413 ${errorMessage(err).slice(0, 60)}` };
  }
  const splitMs = performance.now() - t0;
  let events = 0;
  let rejects = 0;
  batches.forEach((b, i) => {
    const r = normalizeRaw({ source_id: 'bench', format: declaredFormat(s.format, kind), received_ms: Date.now(), records: b }, { idPrefix: `b${i}`, nowMs: Date.now() });
    events += r.events.length;
    rejects += r.rejects.length;
  });
  return { ms: performance.now() - t0, splitMs, records: records.length, events, rejects, answer: '202' };
}

process.stdout.write(`${MIB} MiB hostile bodies, cut by services/ingest/core.ts and parsed by normalizeRaw (target ${TARGET_MS} ms each)\n`);
process.stdout.write(`${'format'.padEnd(7)} ${'shape'.padEnd(56)} ${'split ms'.padStart(9)} ${'total ms'.padStart(9)} ${'records'.padStart(9)} ${'events'.padStart(8)} ${'dead'.padStart(8)}  answer\n`);
let worst = 0;
for (const s of SHAPES) {
  if (ONLY && !ONLY.includes(s.format)) continue;
  const r = run(s);
  worst = Math.max(worst, r.ms);
  process.stdout.write(`${s.format.padEnd(7)} ${s.name.slice(0, 56).padEnd(56)} ${r.splitMs.toFixed(0).padStart(9)} ${r.ms.toFixed(0).padStart(9)} ${String(r.records).padStart(9)} ${String(r.events).padStart(8)} ${String(r.rejects).padStart(8)}  ${r.answer}${r.ms > TARGET_MS ? '  OVER TARGET' : ''}\n`);
}
process.stdout.write(`slowest: ${worst.toFixed(0)} ms (${worst <= TARGET_MS ? 'within' : 'over'} the ${TARGET_MS} ms target)\n`);
