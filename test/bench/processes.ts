// The process model's cost: a default `soc up` (its own nats-server and embedded Postgres, every service in its
// own process) on a fresh DATA_DIR. Prints the time until /healthz answers 200 and the resident memory of each
// process once it is idle, then stops it. `npm run bench:processes`.
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { freePort } from '../../tools/local/postgres.js';
import { startSocUp, tempDir, waitFor } from '../harness.js';

interface Proc { pid: number; ppid: number; rssKb: number; cmd: string }

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const status = readFileSync(`/proc/${d}/status`, 'utf8');
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      out.push({ pid: Number(d), ppid: Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]), rssKb: Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0), cmd });
    } catch { /* ended meanwhile */ }
  }
  return out;
}

/** The process and every descendant. */
function tree(root: number): Proc[] {
  const all = processes();
  const out: Proc[] = [];
  const visit = (pid: number) => { for (const p of all) if (p.pid === pid || p.ppid === pid) { if (!out.includes(p)) { out.push(p); if (p.pid !== pid) visit(p.pid); } } };
  visit(root);
  return out;
}

function label(p: Proc): string {
  const service = /services\/([a-z]+)\/main\.js/.exec(p.cmd)?.[1];
  if (service) return service;
  if (p.cmd.includes('soc.js up')) return 'soc up (supervisor)';
  if (p.cmd.includes('nats-server')) return 'nats-server';
  if (p.cmd.includes('postgres')) return 'postgres';
  return p.cmd.slice(0, 40);
}

async function main(): Promise<void> {
  const dataDir = tempDir('minisoc-bench-processes-');
  const port = await freePort();
  const t0 = Date.now();
  const { soc, runtime } = await startSocUp({ DATA_DIR: dataDir, HTTP_PORT: String(port), NATS_URL: undefined, DATABASE_URL: undefined });
  await waitFor('/healthz 200', async () => (await fetch(`${runtime.httpUrl}/healthz`).catch(() => undefined))?.status === 200, 300_000, 200);
  const healthyMs = Date.now() - t0;
  // Idle for a while, so start-up garbage is collected and the figures are the steady ones.
  await new Promise((r) => setTimeout(r, 15_000));
  const procs = tree(soc.child.pid!);
  const groups = new Map<string, { n: number; kb: number }>();
  for (const p of procs) {
    const g = groups.get(label(p)) ?? { n: 0, kb: 0 };
    g.n++; g.kb += p.rssKb;
    groups.set(label(p), g);
  }
  console.log(`soc up healthy after ${(healthyMs / 1000).toFixed(1)} s (fresh DATA_DIR: migrations, first admin, nats-server and Postgres started)`);
  console.log('resident memory once idle (RSS, MiB):');
  let total = 0;
  for (const [name, g] of [...groups].sort((a, b) => b[1].kb - a[1].kb)) {
    total += g.kb;
    console.log(`  ${name.padEnd(22)} ${(g.kb / 1024).toFixed(0).padStart(6)}${g.n > 1 ? `  (${g.n} processes)` : ''}`);
  }
  console.log(`  ${'total'.padEnd(22)} ${(total / 1024).toFixed(0).padStart(6)}`);
  await soc.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}

await main();
