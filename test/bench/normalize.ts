// `node dist/test/bench/normalize.js`: events/s of each normalize parser on one core, on realistic generated records.
// BENCH_SECONDS (default 1) is the length of each of the 5 timed rounds; the median round is printed.
// BENCH_FORMATS=syslog,winxml limits the run to some formats (for profiling with --cpu-prof).
import { pathToFileURL } from 'node:url';
import type { Parser } from '../../services/normalize/parsers/types.js';
import { PARSERS } from '../../services/normalize/parsers/index.js';
import { prng } from '../prng.js';

const ROUND_SECONDS = Number(process.env.BENCH_SECONDS ?? 1);
const ROUNDS = 5;
const WARMUP_SECONDS = Math.max(0.5, ROUND_SECONDS);
const RECEIVED_MS = Date.UTC(2026, 10, 22, 12, 0, 0);

const rand = prng(42);
const int = (n: number) => Math.floor(rand() * n);
const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
const hex = (n: number) => Array.from({ length: n }, () => '0123456789ABCDEF'[int(16)]).join('');
const guid = () => `{${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}}`;
const ipv4 = () => `${pick([10, 172, 192, 198, 203])}.${int(256)}.${int(256)}.${1 + int(254)}`;
const ipv6 = () => `2001:db8:${hex(4).toLowerCase()}::${hex(3).toLowerCase()}`;
const pad = (n: number) => String(n).padStart(2, '0');
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const USERS = ['alice', 'bob', 'carol', 'deploy', 'root', 'admin', 'oracle', 'postgres', 'svc-backup', 'jenkins'];
const HOSTS = ['bastion-01', 'web-01', 'web-02', 'db-01', 'build-7', 'fw-edge'];

function bsdTime(i: number): string {
  const d = new Date(RECEIVED_MS - 3_600_000 + i * 137);
  return `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** An auth.log / syslog mix: sshd successes and failures, sudo, cron, systemd, kernel, RFC 5424 applications. */
function syslogLine(i: number): string {
  const host = pick(HOSTS); const pid = 1000 + int(60000); const ip = rand() < 0.2 ? ipv6() : ipv4(); const port = 1024 + int(64000);
  const t = bsdTime(i); const user = pick(USERS);
  switch (int(10)) {
    case 0: return `<38>${t} ${host} sshd[${pid}]: Accepted publickey for ${user} from ${ip} port ${port} ssh2: ED25519 SHA256:${hex(43)}`;
    case 1: return `<86>${t} ${host} sshd[${pid}]: Failed password for ${rand() < 0.5 ? 'invalid user ' : ''}${user} from ${ip} port ${port} ssh2`;
    case 2: return `<38>${t} ${host} sshd[${pid}]: Invalid user ${user}${int(100)} from ${ip} port ${port}`;
    case 3: return `<38>${t} ${host} sshd[${pid}]: Connection closed by authenticating user ${user} ${ip} port ${port} [preauth]`;
    case 4: return `<86>${t} ${host} sudo:    ${user} : TTY=pts/${int(9)} ; PWD=/home/${user} ; USER=root ; COMMAND=/usr/bin/systemctl restart nginx`;
    case 5: return `<78>${t} ${host} CRON[${pid}]: (root) CMD (cd / && run-parts --report /etc/cron.hourly)`;
    case 6: return `<30>${t} ${host} systemd[1]: Started Session ${int(9999)} of User ${user}.`;
    case 7: return `<4>${t} ${host} kernel: [UFW BLOCK] IN=eth0 OUT= MAC=${hex(12)} SRC=${ipv4()} DST=${ipv4()} LEN=60 PROTO=TCP SPT=${port} DPT=${pick([22, 23, 445, 3389])} SYN`;
    case 8: return `<165>1 2026-11-22T11:${pad(int(60))}:${pad(int(60))}.${String(int(1e6)).padStart(6, '0')}+01:00 ${host}.example.net payments ${pid} TXN [origin ip="${ipv4()}"][meta@32473 sequenceId="${i}"] Payment authorised for order ${int(1e6)}`;
    default: return `<85>${t} ${host} sshd[${pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=${ip}  user=${user}`;
  }
}

const AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
  'Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0',
  'curl/8.5.0', 'Googlebot/2.1 (+http://www.google.com/bot.html)', 'sqlmap/1.7.2#stable (https://sqlmap.org)', '-',
];
const PATHS = ['/', '/index.html', '/login', '/api/v1/items', '/static/app.js', '/wp-login.php', '/search', '/.env', '/images/logo.png'];

/** Combined-format lines as Nginx and Apache write them, IPv4 and IPv6 clients, some escaped quotes. */
function accessLine(i: number): string {
  const d = new Date(RECEIVED_MS - 3_600_000 + i * 53);
  const time = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
  const path = pick(PATHS) + (rand() < 0.4 ? `?q=${hex(6)}&page=${int(20)}` : '') + (rand() < 0.03 ? '\\"' : '');
  const status = pick([200, 200, 200, 200, 301, 304, 404, 403, 500]);
  return `${rand() < 0.15 ? ipv6() : ipv4()} - ${rand() < 0.1 ? pick(USERS) : '-'} [${time}] "${pick(['GET', 'GET', 'GET', 'POST', 'HEAD'])} ${path} HTTP/1.1" ${status} ${int(50000)} "${rand() < 0.5 ? '-' : 'https://www.example.org/'}" "${pick(AGENTS)}"`;
}

const IMAGES = ['C:\\Windows\\System32\\svchost.exe', 'C:\\Windows\\System32\\cmd.exe', 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe',
  'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe', 'C:\\Windows\\explorer.exe', 'C:\\Users\\alice\\AppData\\Local\\Temp\\setup.exe'];

const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const data = (fields: [string, string][]) => fields.map(([k, v]) => (v === '' ? `<Data Name='${k}'/>` : `<Data Name='${k}'>${xmlText(v)}</Data>`)).join('');

/** One Sysmon event as `wevtutil qe Microsoft-Windows-Sysmon/Operational /f:xml` prints it, in a realistic ID mix. */
export function sysmonEvent(i: number): string {
  const d = new Date(RECEIVED_MS - 600_000 + i * 11);
  const iso = d.toISOString();
  const utc = `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
  const time = `${iso.slice(0, 23)}${String(int(1e6)).padStart(6, '0')}Z`;
  const image = pick(IMAGES); const pid = String(100 + int(20000)); const pguid = guid(); const user = `CORP\\${pick(USERS)}`;
  const base: [string, string][] = [['RuleName', '-'], ['UtcTime', utc], ['ProcessGuid', pguid], ['ProcessId', pid], ['Image', image]];
  const hashes = `SHA1=${hex(40)},MD5=${hex(32)},SHA256=${hex(64)},IMPHASH=${hex(32)}`;
  let id: number; let fields: [string, string][];
  const r = rand();
  if (r < 0.3) {
    id = 7;
    fields = [...base, ['ImageLoaded', `C:\\Windows\\System32\\${pick(['ntdll', 'kernel32', 'advapi32', 'crypt32', 'winhttp'])}.dll`], ['FileVersion', '10.0.22621.1 (WinBuild.160101.0800)'],
      ['Description', 'Windows NT BASE API Client DLL'], ['Product', 'Microsoft® Windows® Operating System'], ['Company', 'Microsoft Corporation'], ['OriginalFileName', 'kernel32'],
      ['Hashes', hashes], ['Signed', 'true'], ['Signature', 'Microsoft Windows'], ['SignatureStatus', 'Valid'], ['User', user]];
  } else if (r < 0.5) {
    id = 3;
    fields = [...base, ['User', user], ['Protocol', 'tcp'], ['Initiated', 'true'], ['SourceIsIpv6', 'false'], ['SourceIp', ipv4()], ['SourceHostname', 'WS-17.corp.example.com'],
      ['SourcePort', String(49152 + int(16000))], ['SourcePortName', '-'], ['DestinationIsIpv6', 'false'], ['DestinationIp', ipv4()], ['DestinationHostname', '-'],
      ['DestinationPort', '443'], ['DestinationPortName', 'https']];
  } else if (r < 0.65) {
    id = 13;
    fields = [['RuleName', '-'], ['EventType', 'SetValue'], ['UtcTime', utc], ['ProcessGuid', pguid], ['ProcessId', pid], ['Image', image],
      ['TargetObject', `HKU\\S-1-5-21-${int(1e9)}-1001\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\${hex(6)}`], ['Details', 'DWORD (0x00000001)'], ['User', user]];
  } else if (r < 0.75) {
    id = 10;
    fields = [['RuleName', 'technique_id=T1003,technique_name=Credential Dumping'], ['UtcTime', utc], ['SourceProcessGUID', pguid], ['SourceProcessId', pid], ['SourceThreadId', String(int(9000))],
      ['SourceImage', image], ['TargetProcessGUID', guid()], ['TargetProcessId', '684'], ['TargetImage', 'C:\\Windows\\system32\\lsass.exe'], ['GrantedAccess', '0x1010'],
      ['CallTrace', 'C:\\Windows\\SYSTEM32\\ntdll.dll+9d1e4|C:\\Windows\\System32\\KERNELBASE.dll+2c0fe|UNKNOWN(00000000000A1B2C)'], ['SourceUser', user], ['TargetUser', 'NT AUTHORITY\\SYSTEM']];
  } else if (r < 0.85) {
    id = 11;
    fields = [...base, ['TargetFilename', `C:\\Users\\alice\\AppData\\Local\\Temp\\${hex(8)}.tmp`], ['CreationUtcTime', utc], ['User', user]];
  } else if (r < 0.93) {
    id = 22;
    fields = [['RuleName', '-'], ['UtcTime', utc], ['ProcessGuid', pguid], ['ProcessId', pid], ['QueryName', `${hex(5).toLowerCase()}.example.com`], ['QueryStatus', '0'],
      ['QueryResults', `type:  5 edge.example.net;::ffff:${ipv4()};`], ['Image', image], ['User', user]];
  } else {
    id = 1;
    fields = [...base, ['FileVersion', '10.0.22621.2506 (WinBuild.160101.0800)'], ['Description', 'Windows Command Processor'], ['Product', 'Microsoft® Windows® Operating System'],
      ['Company', 'Microsoft Corporation'], ['OriginalFileName', 'Cmd.Exe'], ['CommandLine', `"C:\\Windows\\system32\\cmd.exe" /c whoami & echo ${hex(8)} > C:\\Temp\\o.txt`],
      ['CurrentDirectory', 'C:\\Users\\alice\\'], ['User', user], ['LogonGuid', guid()], ['LogonId', `0x${hex(6).toLowerCase()}`], ['TerminalSessionId', '1'], ['IntegrityLevel', 'High'],
      ['Hashes', hashes], ['ParentProcessGuid', guid()], ['ParentProcessId', String(int(20000))], ['ParentImage', 'C:\\Windows\\explorer.exe'],
      ['ParentCommandLine', 'C:\\Windows\\Explorer.EXE'], ['ParentUser', user]];
  }
  return `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Sysmon' Guid='{5770385f-c22a-43e0-bf4c-06f5698ffbd9}'/>`
    + `<EventID>${id}</EventID><Version>5</Version><Level>4</Level><Task>${id}</Task><Opcode>0</Opcode><Keywords>0x8000000000000000</Keywords>`
    + `<TimeCreated SystemTime='${time}'/><EventRecordID>${1_000_000 + i}</EventRecordID><Correlation/><Execution ProcessID='3208' ThreadID='${1000 + int(8000)}'/>`
    + `<Channel>Microsoft-Windows-Sysmon/Operational</Channel><Computer>WS-${int(300)}.corp.example.com</Computer><Security UserID='S-1-5-18'/></System>`
    + `<EventData>${data(fields)}</EventData></Event>`;
}

/** Application JSON as services post it to the ingest API (ECS names, aliases and custom fields mixed). */
function jsonRecord(i: number): string {
  return JSON.stringify({
    '@timestamp': new Date(RECEIVED_MS - 60_000 + i * 7).toISOString(),
    host: { name: pick(HOSTS) }, service: 'checkout', src_ip: ipv4(), dst_port: 443, user: pick(USERS),
    event: { action: pick(['login', 'logout', 'purchase', 'refund']), outcome: rand() < 0.9 ? 'success' : 'failure' },
    http: { request: { method: 'POST' }, response: { status_code: pick([200, 201, 400, 500]) } },
    url: { original: `/api/v1/orders/${int(1e6)}` }, trace: { id: hex(32).toLowerCase() }, duration_ms: int(500),
    message: `order ${int(1e6)} processed`,
  });
}

function cefLine(i: number): string {
  return `<134>${bsdTime(i)} fw-edge CEF:0|Palo Alto Networks|PAN-OS|11.1|${pick(['TRAFFIC', 'THREAT'])}|end|${int(10)}|rt=${RECEIVED_MS - i * 13} src=${ipv4()} dst=${ipv4()} spt=${49152 + int(16000)} dpt=${pick([443, 80, 53, 22])} proto=TCP act=${pick(['allow', 'deny'])} suser=corp\\\\${pick(USERS)} app=ssl in=${int(1e5)} out=${int(1e6)} cs1Label=Rule cs1=allow-web`;
}

interface Rates { wall: number; best: number; cpu: number }

/**
 * Events per second of wall time, and per second of this process's CPU time: on a machine shared with
 * other work the second is what one core of our own sustains (they agree on an idle machine).
 */
function measure(parser: Parser, records: string[]): Rates {
  const ctx = { sourceId: 'bench', receivedMs: RECEIVED_MS };
  let k = 0;
  const run = (seconds: number): Omit<Rates, 'best'> => {
    let events = 0;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    const until = start + seconds * 1000;
    let now = start;
    while (now < until) {
      for (let j = 0; j < 256; j++) {
        events += parser(records[k]!, ctx).length;
        k = k + 1 === records.length ? 0 : k + 1;
      }
      now = performance.now();
    }
    const cpu = process.cpuUsage(cpu0);
    return { wall: events / ((now - start) / 1000), cpu: events / ((cpu.user + cpu.system) / 1e6) };
  };
  run(WARMUP_SECONDS);
  const rounds = Array.from({ length: ROUNDS }, () => run(ROUND_SECONDS));
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { wall: median(rounds.map((r) => r.wall)), best: Math.max(...rounds.map((r) => r.wall)), cpu: median(rounds.map((r) => r.cpu)) };
}

function generate(n: number, make: (i: number) => string): string[] {
  return Array.from({ length: n }, (_, i) => make(i));
}

function main(): void {
  const suites: [string, Parser, string[], number?][] = [
    ['syslog', PARSERS.syslog!, generate(20_000, syslogLine), 100_000],
    ['winxml (Sysmon)', PARSERS.winxml!, generate(5_000, sysmonEvent), 30_000],
    ['access', PARSERS.access!, generate(20_000, accessLine)],
    ['json', PARSERS.json!, generate(20_000, jsonRecord)],
    ['cef', PARSERS.cef!, generate(20_000, cefLine)],
  ];
  const only = process.env.BENCH_FORMATS?.split(',');
  if (only) suites.splice(0, suites.length, ...suites.filter(([format]) => only.some((o) => format.startsWith(o))));
  // Every generated record must parse (this throws otherwise), or the figures would count rejects.
  for (const [, parser, records] of suites) for (const r of records) parser(r, { sourceId: 'bench', receivedMs: RECEIVED_MS });
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US').padStart(9);
  process.stdout.write(`normalize parsers on one core, node ${process.version}: median of ${ROUNDS} rounds of ${ROUND_SECONDS} s after ${WARMUP_SECONDS} s of warm-up\n`);
  for (const [format, parser, records, target] of suites) {
    const r = measure(parser, records);
    const bytes = records.reduce((n, rec) => n + Buffer.byteLength(rec), 0) / records.length;
    const verdict = target === undefined ? '' : `  target ${target.toLocaleString('en-US')}: ${r.wall >= target ? 'met' : r.cpu >= target ? 'met per CPU-second (the machine is busy)' : 'BELOW'}`;
    process.stdout.write(`${format.padEnd(16)} ${fmt(r.wall)} events/s (best round ${fmt(r.best)}, ${fmt(r.cpu)} per CPU-second)  ${((r.wall * bytes) / 1e6).toFixed(1).padStart(5)} MB/s  ${Math.round(bytes)} B/record, ${records.length} distinct${verdict}\n`);
  }
}

// Run when executed, not when a profiling script imports the generators.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
