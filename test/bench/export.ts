// Benchmark: 1,000,000 events exported as CSV over HTTP; reports the server process's peak RSS and rows/s.
// `npm run bench:export` (EXPORT_ROWS=... to change the size). The server runs as a child process of this
// file (`--serve`), so its memory is measured alone, from /proc/<pid>/status (VmHWM: the peak resident set).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';
import { connect } from '@nats-io/transport-node';
import { sql } from 'kysely';
import { createUser } from '../../services/auth/users.js';
import { loadConfig } from '../../services/core/config.js';
import { createDb, ensurePartitions, migrateToLatest } from '../../services/core/db/index.js';
import { createLogger } from '../../services/core/log.js';
import { buildApp } from '../../services/http/app.js';
import { createTestDatabase, sessionFrom, startTestNats, waitFor } from '../harness.js';

const ROWS = Number(process.env.EXPORT_ROWS ?? 1_000_000);
const DAYS = ['2026-11-10', '2026-11-11', '2026-11-12'];

async function serve(): Promise<void> {
  const config = loadConfig();
  const log = createLogger('bench-export-server', 'warn');
  const nc = await connect({ servers: config.NATS_URL! });
  const db = createDb(config.DATABASE_URL!);
  const app = await buildApp({ nc, config, log, db: () => db }, { plugins: ['api'] });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  process.stdout.write(`${url}\n`);
}

function memory(pid: number): { rssMb: number; peakMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rssMb: kb('VmRSS') / 1024, peakMb: kb('VmHWM') / 1024 };
}

async function main(): Promise<void> {
  const [nats, tdb] = await Promise.all([startTestNats(), createTestDatabase()]);
  const db = createDb(tdb.url);
  try {
    await migrateToLatest(db);
    await ensurePartitions(db, DAYS);
    let t = performance.now();
    // Every seventh message needs CSV quoting (quotes, a comma, a newline).
    await sql`
      INSERT INTO events (id, ts, source_id, category, action, outcome, host_name, user_name, source_ip, destination_ip, destination_port, message, doc)
      SELECT 'ev' || n, timestamptz '2026-11-10T00:00:00Z' + (n * (259200.0 / ${ROWS})) * interval '1 second', 'bench', ARRAY['network'],
        'connection', 'success', 'host-' || (n % 50), 'user' || (n % 97), ('10.' || (n % 250) || '.' || (n % 200) || '.1')::inet, '198.51.100.7'::inet, 443,
        CASE WHEN n % 7 = 0 THEN 'said "hello", then' || chr(10) || 'left ' || n ELSE 'GET /index.html ' || n END,
        jsonb_build_object('n', n)
      FROM generate_series(0, ${ROWS - 1}) AS n`.execute(db);
    process.stderr.write(`inserted ${ROWS} events in ${((performance.now() - t) / 1000).toFixed(1)} s\n`);
    await sql`ANALYZE events`.execute(db);
    await createUser(db, 'bench', 'viewer', 'bench-password');

    const server = spawn(process.execPath, [fileURLToPath(import.meta.url), '--serve'], {
      env: { ...process.env, DATABASE_URL: tdb.url, NATS_URL: nats.url, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    server.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    try {
      const url = await waitFor('the export server', () => /^http\S+/m.exec(out)?.[0], 60_000);
      const login = await fetch(`${url}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-minisoc-request': '1' }, body: JSON.stringify({ name: 'bench', password: 'bench-password' }) });
      const token = sessionFrom(login.headers.getSetCookie());
      const before = memory(server.pid!);
      let peakDuring = 0;
      const sampler = setInterval(() => { peakDuring = Math.max(peakDuring, memory(server.pid!).rssMb); }, 100);
      t = performance.now();
      const res = await fetch(`${url}/api/export?kind=events&format=csv`, { headers: { authorization: `Bearer ${token}` } });
      if (res.status !== 200) throw new Error(`export answered ${res.status}: ${await res.text()}`);
      // Records end at newlines outside quotes; quoted messages hold newlines of their own.
      let records = 0;
      let bytes = 0;
      let quoted = false;
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        bytes += chunk.length;
        for (let i = 0; i < chunk.length; i++) {
          const c = chunk[i];
          if (c === 0x22) quoted = !quoted;
          else if (c === 0x0a && !quoted) records++;
        }
      }
      const seconds = (performance.now() - t) / 1000;
      clearInterval(sampler);
      const after = memory(server.pid!);
      const rows = records - 1;
      const report = {
        rows, expected: ROWS, exact: rows === ROWS, seconds: Number(seconds.toFixed(1)), rowsPerSecond: Math.round(rows / seconds),
        megabytes: Number((bytes / 1e6).toFixed(1)),
        serverRssMb: { beforeExport: Number(before.rssMb.toFixed(1)), peakDuringExport: Number(peakDuring.toFixed(1)), peakOfProcess: Number(after.peakMb.toFixed(1)) },
      };
      process.stdout.write(JSON.stringify(report, null, 2) + '\n');
      if (!report.exact) process.exitCode = 1;
    } finally {
      server.kill('SIGTERM');
    }
  } finally {
    await db.destroy();
    await tdb.drop();
    await nats.close();
  }
}

if (process.argv.includes('--serve')) await serve();
else await main();
