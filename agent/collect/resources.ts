// Samples CPU, memory, the fullest filesystem and network counters.
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import si from 'systeminformation';
import type { ResourceSample } from '../snapshot.js';

/** Byte counters of every non-loopback interface, summed: one file read on Linux. */
function procNetDev(): { rx: number; tx: number } | undefined {
  let text: string;
  try { text = readFileSync('/proc/net/dev', 'utf8'); } catch { return undefined; }
  let rx = 0;
  let tx = 0;
  for (const line of text.split('\n').slice(2)) {
    const colon = line.indexOf(':');
    if (colon < 0 || line.slice(0, colon).trim() === 'lo') continue;
    const f = line.slice(colon + 1).trim().split(/\s+/);
    rx += Number(f[0]) || 0;
    tx += Number(f[8]) || 0;
  }
  return { rx, tx };
}

async function networkCounters(): Promise<{ rx: number; tx: number }> {
  const fast = procNetDev();
  if (fast) return fast;
  let rx = 0;
  let tx = 0;
  for (const s of await si.networkStats('*')) {
    if (s.iface === 'lo' || s.iface.startsWith('Loopback')) continue;
    rx += s.rx_bytes || 0;
    tx += s.tx_bytes || 0;
  }
  return { rx, tx };
}

let lastCpu: { busy: number; total: number } = { busy: 0, total: 0 };

/**
 * Busy share of all cores since the previous sample (since boot on the first), from os.cpus():
 * si.currentLoad() would run a shell synchronously on every sample.
 */
function cpuUsage(): number {
  let busy = 0;
  let total = 0;
  for (const c of cpus()) {
    const t = c.times;
    busy += t.user + t.nice + t.sys + t.irq;
    total += t.user + t.nice + t.sys + t.irq + t.idle;
  }
  const d = { busy: busy - lastCpu.busy, total: total - lastCpu.total };
  lastCpu = { busy, total };
  return d.total > 0 ? Math.min(1, Math.max(0, d.busy / d.total)) : 0;
}

export async function sampleResources(): Promise<ResourceSample> {
  const load = cpuUsage();
  const [mem, disks, net] = await Promise.all([si.mem(), si.fsSize(), networkCounters()]);
  let fullest = { use: 0, mount: '' };
  for (const d of disks) if (d.size > 0 && d.use > fullest.use) fullest = { use: d.use, mount: d.mount };
  return {
    cpuUsage: load,
    memoryTotal: mem.total,
    memoryUsed: Math.max(0, mem.total - mem.available),
    diskUsage: Math.min(1, fullest.use / 100),
    diskMount: fullest.mount,
    networkRxBytes: net.rx,
    networkTxBytes: net.tx,
  };
}
