// The helpers behind `soc rules test` and `soc rules eval`, run on the fixture rule pack.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { eventsFromDocs, huntEvents, runRuleTests } from './hunt.js';
import { loadRules } from './sigma/loader.js';
import { rulesFrom } from './testdata/helpers.js';

const PACK = join(dirname(fileURLToPath(import.meta.url)), 'testdata', 'rules');

describe('runRuleTests', () => {
  const { rules, problems } = loadRules([PACK]);

  it('loads the fixture pack without problems', () => {
    expect(problems).toEqual([]);
  });

  it('passes every test the fixture rules carry, correlation chains included', () => {
    const results = runRuleTests(rules);
    expect(results.filter((r) => !r.passed)).toEqual([]);
    expect(results.length).toBe(16);
    expect(results.find((r) => r.test === 'five failures then a success')).toMatchObject({ passed: true, alerts: 1 });
  });

  it('fails a test whose expectation the rule does not meet, saying why', () => {
    const [rule] = rulesFrom(`
title: Curl
id: 44444444-0000-4000-8000-000000000001
logsource: {product: linux, category: process_creation}
detection:
    selection: {Image|endswith: /curl}
    condition: selection
tests:
    - name: wget is not curl
      match: true
      event: {host.os.family: linux, event.category: [process], event.type: [start], process.executable: /usr/bin/wget}
`);
    const [result] = runRuleTests([rule!]);
    expect(result).toMatchObject({ passed: false, alerts: 0, line: 9, message: 'expected a match, got 0 alert(s)' });
  });
});

describe('huntEvents', () => {
  it('returns each match with the index of its event, base rules of correlations included', () => {
    const { rules } = loadRules([PACK]);
    const fail = (s: number): Record<string, unknown> => ({ '@timestamp': `2025-06-01T10:00:0${s}Z`, 'process.name': 'sshd', 'event.module': 'syslog', 'event.category': ['authentication'], 'event.outcome': 'failure', 'source.ip': '198.51.100.9' });
    const events = eventsFromDocs([
      { 'url.original': '/a?q=1 union select 1', 'http.request.method': 'GET' },
      { 'url.original': '/home', 'http.request.method': 'GET' },
      fail(0), fail(1), fail(2), fail(3), fail(4),
    ]);
    const { matches } = huntEvents(rules, events);
    expect(matches.map((m) => [m.index, m.ruleTitle])).toEqual([
      [0, 'SQL injection attempt in a request'],
      [2, 'SSH login failed'], [3, 'SSH login failed'], [4, 'SSH login failed'], [5, 'SSH login failed'], [6, 'SSH login failed'],
      [6, 'Many failed SSH logins from one address'],
    ]);
    expect(matches[0]!.eventId).toBe('event-0');
  });
});
