// `node --expose-gc dist/test/bench/enrich.js`: events/s of enrichBatch on one core with GeoIP, a 100,000-indicator feed and assets.
// BENCH_SECONDS (default 2) is the length of each of BENCH_ROUNDS (default 5) timed rounds; the median is printed.
// Only enrichBatch is timed; decoding the batches (as the stage gets them) happens outside the clock, and the
// whole stage step (decode + enrich + encode) is reported beside it. --expose-gc makes the memory figures exact.
import { openGeo } from '../../services/enrich/geo.js';
import { AssetRegistry } from '../../services/enrich/assets.js';
import { enrichBatch, newEnrichStats, type EnrichContext } from '../../services/enrich/core.js';
import { parseFeedText } from '../../services/enrich/feed-lists.js';
import { IntelIndex } from '../../services/enrich/intel.js';
import { formatIPv4, scopeOfIPv4 } from '../../services/enrich/ip.js';
import { EventBatch, type Event } from '../../services/core/proto.js';
import { prng } from '../prng.js';

const ROUND_SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH = 500;
const TARGET = 200_000;
const NOW = Date.parse('2026-11-22T12:00:00Z');

const rand = prng(20261122);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
/** Skewed towards the front of the list, as real traffic is (a few talkers, a long tail). */
const skewed = <T>(xs: readonly T[]): T => xs[Math.floor(xs.length * rand() ** 3)]!;
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(16)]).join('');

function publicV4(): number {
  for (;;) {
    const n = int(2 ** 32);
    if (n >= 0x01000000 && scopeOfIPv4(n) === 'public') return n;
  }
}
const publicV6 = () => `2${hex(3)}:${hex(4)}:${hex(4)}::${hex(4)}`;

/** 100,000 indicators: 70,000 addresses, 25,000 IPv4 blocks (/20 to /30), 5,000 IPv6 addresses and /48s. */
function feedText(): { text: string; listed: string[] } {
  const lines: string[] = ['# generated benchmark feed'];
  const listed: string[] = [];
  for (let i = 0; i < 70_000; i++) { const ip = formatIPv4(publicV4()); lines.push(ip); if (i < 2000) listed.push(ip); }
  for (let i = 0; i < 25_000; i++) {
    const len = 20 + int(11);
    const net = (publicV4() & ((0xffffffff << (32 - len)) >>> 0)) >>> 0;
    lines.push(`${formatIPv4(net)}/${len}`);
  }
  for (let i = 0; i < 5000; i++) lines.push(i % 2 ? publicV6() : `2${hex(3)}:${hex(4)}:${hex(4)}::/48`);
  return { text: lines.join('\n'), listed };
}

const AGENTS = Array.from({ length: 500 }, (_, i) => ({
  id: `agent-${i}`, hostname: `host-${i}`, os: pick(['Ubuntu 24.04', 'Windows 11', 'Debian 12']),
  ips: [`10.${i >> 8}.${i & 255}.10`], tags: i % 50 === 0 ? ['crown-jewel', 'criticality:high'] : ['workstation'],
}));

/** The addresses and names the events use: ~25,000 public addresses, as many as a busy site sees in a few minutes. */
const clients = Array.from({ length: 20_000 }, () => formatIPv4(publicV4()));
const servers = Array.from({ length: 3000 }, () => formatIPv4(publicV4()));
const v6 = Array.from({ length: 2000 }, publicV6);
const names = Array.from({ length: 3000 }, () => `${hex(6)}.${pick(['example.com', 'example.net', 'cdn.example.org'])}`);

/** A SOC's day in miniature: firewall and Sysmon connections, web access, DNS, logons, process starts. */
function makeEvents(n: number, listed: string[]): Event[] {
  const internal = () => `10.${int(2)}.${int(256)}.${pick([10, 20, 30])}`;
  const remote = () => (rand() < 0.003 ? pick(listed) : rand() < 0.1 ? skewed(v6) : skewed(servers));
  const out: Event[] = [];
  for (let i = 0; i < n; i++) {
    const agent = skewed(AGENTS);
    const r = rand();
    let e: Event;
    if (r < 0.35) {
      e = { source: { ip: internal(), port: 49152 + int(16000) }, destination: { ip: remote(), port: pick([443, 80, 53, 22]) }, network: { transport: 'tcp' }, event: { category: ['network'] } };
    } else if (r < 0.55) {
      e = { source: { ip: rand() < 0.003 ? pick(listed) : skewed(clients) }, destination: { ip: '10.0.0.20', port: 443 }, url: { path: '/login' }, event: { category: ['web'] } };
    } else if (r < 0.7) {
      e = { agent: { id: agent.id }, source: { ip: internal() }, destination: { ip: '10.0.0.53', port: 53 }, dns: { question_name: pick(names), resolved_ip: [skewed(servers)] }, event: { category: ['network'] } };
    } else if (r < 0.85) {
      e = { agent: { id: agent.id }, source: { ip: rand() < 0.5 ? internal() : skewed(clients) }, user: { name: 'alice' }, event: { category: ['authentication'], outcome: 'failure' } };
    } else {
      e = { agent: { id: agent.id }, process: { name: 'cmd.exe', hash_sha256: hex(64) }, event: { category: ['process'] } };
    }
    e.id = `b-${i}`;
    e.timestamp = new Date(NOW - i).toISOString();
    e.source_id = 'bench';
    out.push(e);
  }
  return out;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
function memory(): { heap: number; external: number; rss: number } {
  globalThis.gc?.();
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external, rss: m.rss };
}
function delta(a: ReturnType<typeof memory>, b: ReturnType<typeof memory>): string {
  return `heap +${mb(b.heap - a.heap)}, external +${mb(b.external - a.external)}, RSS +${mb(b.rss - a.rss)}`;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main(): Promise<void> {
  const { text, listed } = feedText();
  const m0 = memory();
  const geo = await openGeo({ watchIntervalMs: 0, cacheEntries: 50_000 });
  const m1 = memory();
  let t = performance.now();
  const parsed = parseFeedText(text, { name: 'bench', format: 'cidr' });
  const intel = new IntelIndex([{ info: { name: 'bench', confidence: 80, description: '', tags: [], matchPrivate: false, expiresAtMs: Infinity }, data: parsed.data }]);
  const buildMs = performance.now() - t;
  const m2 = memory();
  const assets = new AssetRegistry(AGENTS);

  // Batches as the stage receives them: encoded once here, decoded fresh for every use (enrichment changes events in place).
  const wire = Array.from({ length: 200 }, () => EventBatch.encode({ source_id: 'bench', events: makeEvents(BATCH, listed) }).finish());
  const ctx: EnrichContext = { nowMs: NOW, geo: geo.reader, intel, assets };

  process.stdout.write(`enrichBatch on one core, node ${process.version}, batches of ${BATCH}, ${ROUNDS} rounds of ${ROUND_SECONDS} s after a warm-up${globalThis.gc ? '' : ' (run with --expose-gc for exact memory figures)'}\n`);
  process.stdout.write(`GeoIP: ${geo.databases.city.type} (${geo.databases.city.path.split('/').pop()}): ${delta(m0, m1)}\n`);
  process.stdout.write(`intel: ${fmt(parsed.count)} indicators (${fmt(intel.counts.ips)} addresses, ${fmt(intel.counts.networks)} blocks) parsed and indexed in ${Math.round(buildMs)} ms: ${delta(m1, m2)}\n`);

  let k = 0;
  const round = (seconds: number) => {
    let events = 0;
    let enrichMs = 0;
    let stageMs = 0;
    const stats = newEnrichStats();

    let enrichCpu = 0;
    const until = performance.now() + seconds * 1000;
    while (performance.now() < until) {
      const s0 = performance.now();
      const batch = EventBatch.decode(wire[k]!).events;
      k = (k + 1) % wire.length;
      const c0 = process.cpuUsage();
      const e0 = performance.now();
      enrichBatch(batch, { ...ctx, stats });
      const e1 = performance.now();
      const c1 = process.cpuUsage(c0);
      EventBatch.encode({ source_id: 'bench', events: batch }).finish();
      stageMs += performance.now() - s0;
      enrichMs += e1 - e0;
      enrichCpu += (c1.user + c1.system) / 1000;
      events += batch.length;
    }
    return { rate: events / (enrichMs / 1000), perCpu: events / (enrichCpu / 1000), stage: events / (stageMs / 1000), matches: stats.indicatorMatches / events, joins: stats.assetJoins / events };
  };
  t = performance.now();
  round(Math.max(1, ROUND_SECONDS));
  const warmupMs = performance.now() - t;
  const rounds = Array.from({ length: ROUNDS }, () => round(ROUND_SECONDS));
  const rates = rounds.map((r) => r.rate);
  const med = median(rates);
  const hit = geo.reader.stats.cacheHits / geo.reader.stats.lookups;
  const m3 = memory();
  process.stdout.write(`rounds (events/s): ${rates.map(fmt).join(', ')}  (warm-up ${Math.round(warmupMs)} ms)\n`);
  process.stdout.write(`enrichBatch: ${fmt(med)} events/s median (best ${fmt(Math.max(...rates))}, ${fmt(median(rounds.map((r) => r.perCpu)))} per CPU-second)`
    + `  target ${fmt(TARGET)}: ${med >= TARGET ? 'met' : median(rounds.map((r) => r.perCpu)) >= TARGET ? 'met per CPU-second (the machine is busy)' : 'BELOW'}\n`);
  process.stdout.write(`stage step (decode + enrichBatch + encode): ${fmt(median(rounds.map((r) => r.stage)))} events/s median\n`);
  process.stdout.write(`per event: ${(rounds[0]!.matches * 100).toFixed(2)} % with an indicator match, ${rounds[0]!.joins.toFixed(2)} asset joins; GeoIP cache hit ratio ${(hit * 100).toFixed(1)} % (${fmt(geo.reader.cachedEntries)} cached)\n`);
  process.stdout.write(`memory after the run: heap ${mb(m3.heap)}, RSS ${mb(m3.rss)}\n`);
  geo.close();
}

await main();
