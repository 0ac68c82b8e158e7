// Agent footprint: runs `soc-agent run` against a local nats-server at default intervals and prints
// its average CPU (% of one core, itself and the helpers it spawns) and peak RSS.
// BENCH_AGENT_SECONDS (default 300) sets the duration; BENCH_AGENT_EXE=path measures a built executable instead.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { TelemetryBatch } from '../../services/core/proto.js';
import { ensureTopology, subjects } from '../../services/core/topology.js';
import { ROOT, startTestNats, tempDir, waitFor } from '../harness.js';

const SECONDS = Number(process.env.BENCH_AGENT_SECONDS ?? 300);
const WARMUP_S = Math.min(30, Math.floor(SECONDS / 5));
const TICK = 100; // USER_HZ on Linux: /proc times are in 1/100 s
const TARGET_CPU_PCT = 2;
const TARGET_RSS_MB = 120;

interface Sample { atMs: number; selfTicks: number; childTicks: number; rssKb: number; hwmKb: number }

function sample(pid: number): Sample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  // Fields 14-17 (utime, stime, cutime, cstime) are at 11-14 once pid and comm are cut off.
  return { atMs: Date.now(), selfTicks: Number(f[11]) + Number(f[12]), childTicks: Number(f[13]) + Number(f[14]), rssKb: kb('VmRSS'), hwmKb: kb('VmHWM') };
}

function cpuPct(a: Sample, b: Sample, key: 'selfTicks' | 'childTicks'): number {
  return ((b[key] - a[key]) / TICK / ((b.atMs - a.atMs) / 1000)) * 100;
}

async function main(): Promise<void> {
  const nats = await startTestNats();
  const nc = await connect({ servers: nats.url });
  const jsm = await jetstreamManager(nc);
  await ensureTopology(jsm, { maxBytes: 1024 * 1024 * 1024, maxAgeS: 3600, replicas: 1, ackWaitMs: 30_000 });
  const dataDir = tempDir('minisoc-bench-agent-');
  const env = { ...process.env, SOC_AGENT_ID: 'bench-agent', SOC_AGENT_NATS_URLS: nats.url, SOC_AGENT_DATA_DIR: dataDir, SOC_AGENT_LOG_LEVEL: 'warn' };
  const exe = process.env.BENCH_AGENT_EXE;
  const cmd = exe ? [exe, 'run'] : [process.execPath, join(ROOT, 'dist', 'agent', 'main.js'), 'run'];
  const child = spawn(cmd[0]!, cmd.slice(1), { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const pid = child.pid!;
  console.log(`agent pid ${pid} (${exe ?? 'node dist/agent/main.js'}), ${SECONDS} s at default intervals, first ${WARMUP_S} s counted apart`);

  const start = sample(pid);
  let afterWarmup: Sample | undefined;
  let peakRssKb = 0;
  const endAt = Date.now() + SECONDS * 1000;
  while (Date.now() < endAt) {
    await new Promise((r) => setTimeout(r, 1000));
    if (child.exitCode !== null) throw new Error(`the agent exited with ${child.exitCode}`);
    const s = sample(pid);
    peakRssKb = Math.max(peakRssKb, s.rssKb);
    if (!afterWarmup && s.atMs - start.atMs >= WARMUP_S * 1000) afterWarmup = s;
  }
  const end = sample(pid);

  let batches = 0;
  let events = 0;
  const info = await jsm.streams.info('TELEMETRY');
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage('TELEMETRY', { seq }).catch(() => null);
    if (m?.subject !== subjects.telemetry('bench-agent')) continue;
    batches++;
    events += TelemetryBatch.decode(m.data).events.length;
  }
  const hb = await jsm.streams.getMessage('HEARTBEATS', { last_by_subj: subjects.heartbeat('bench-agent') });

  child.kill('SIGTERM');
  await waitFor('the agent to stop', () => child.exitCode !== null, 15_000);
  await nc.close();
  await nats.close();
  rmSync(dataDir, { recursive: true, force: true });

  const steady = afterWarmup ?? start;
  const r = {
    seconds: SECONDS,
    cpu_pct_self: +cpuPct(start, end, 'selfTicks').toFixed(2),
    cpu_pct_children: +cpuPct(start, end, 'childTicks').toFixed(2),
    cpu_pct_total: +(cpuPct(start, end, 'selfTicks') + cpuPct(start, end, 'childTicks')).toFixed(2),
    steady_cpu_pct_total: +(cpuPct(steady, end, 'selfTicks') + cpuPct(steady, end, 'childTicks')).toFixed(2),
    peak_rss_mb: +(Math.max(peakRssKb, end.hwmKb) / 1024).toFixed(1),
    final_rss_mb: +(end.rssKb / 1024).toFixed(1),
    batches, events, heartbeat_present: hb !== null,
  };
  console.log(JSON.stringify(r));
  console.log(`average CPU ${r.cpu_pct_total} % of one core (agent ${r.cpu_pct_self} %, helpers it spawns ${r.cpu_pct_children} %; ` +
    `${r.steady_cpu_pct_total} % after the first ${WARMUP_S} s), peak RSS ${r.peak_rss_mb} MB; ${events} events in ${batches} batches`);
  const ok = r.cpu_pct_total < TARGET_CPU_PCT && r.peak_rss_mb < TARGET_RSS_MB;
  console.log(`${ok ? 'within' : 'OVER'} the targets (< ${TARGET_CPU_PCT} % CPU, < ${TARGET_RSS_MB} MB RSS)`);
  process.exitCode = ok ? 0 : 1;
}

await main();
