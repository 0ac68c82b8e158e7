// Rule loading: several documents per file, file:line problems, collections, correlations and linking.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRules, loadRuleTexts, parseRuleText, parseTimespan } from './loader.js';
import { formatProblem, type CorrelationRule, type DetectionRule } from './types.js';
import { run } from '../testdata/helpers.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'testdata', 'loader');
const fixture = (name: string): string => join(FIXTURES, name);

describe('loadRules', () => {
  const { rules, problems } = loadRules([fixture('mixed.yml')]);
  const errors = problems.filter((p) => p.severity === 'error').map(formatProblem);

  it('loads the good rules of a file whose other rules are broken', () => {
    expect(rules.map((r) => r.title)).toEqual(['Good rule one', 'Good rule two']);
  });

  it('reports each broken rule as file:line: message, at the line of the mistake', () => {
    const f = fixture('mixed.yml');
    expect(errors).toEqual([
      `${f}:20: search 'selection': unknown modifier 'containz' in 'CommandLine|containz'`,
      `${f}:30: condition 'selection and not filter': unknown search identifier 'filter' (column 19)`,
      `${f}:32: rule 'No id' has no id: every rule needs a stable UUID`,
      `${f}:42: level 'severe' is not one of informational, low, medium, high, critical`,
      `${f}:54: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]`,
    ]);
  });

  it('keeps what a rule says about itself', () => {
    const two = rules[1] as DetectionRule;
    expect(two).toMatchObject({ id: '6f0b5a8e-2d0c-4c43-9a52-0d1c33b0a007', level: 'medium', logsource: { service: 'sshd' }, tags: ['attack.credential_access', 'attack.t1110.001'] });
    expect(two.source).toEqual({ file: fixture('mixed.yml'), line: 56 });
    expect(problems.filter((p) => p.severity === 'warning').map((p) => p.message)).toContain("rule 'Good rule two' has no level; it alerts as medium");
  });

  it('reports a path it cannot read instead of throwing', () => {
    const r = loadRules([fixture('missing.yml')]);
    expect(r.rules).toEqual([]);
    expect(r.problems[0]!.message).toMatch(/^cannot read/);
  });
});

describe('lines of problems', () => {
  const rule = (detection: string, extra = ''): string => `title: Lines
id: 4d7c0e52-6a87-4b6e-9d0b-5a0e3f0c0002
description: |
    Prose that reads like keys:
    Image|endswiht: b.exe
    condition: gte many
logsource: {product: windows, category: process_creation}
${extra}detection:
    selection:
${detection}
    condition: selection
`;
  const errorLines = (text: string): string[] => parseRuleText(text, 'r.yml').problems.filter((p) => p.severity === 'error').map((p) => `${p.line}: ${p.message}`);

  it('points at the key that is wrong, not at the first line that merely starts with its name', () => {
    // A field named like the condition key, above it: the problem is the condition, line 13.
    const text = rule(`        condition: a field of the event
    other:
        Image|endswith: b.exe`).replace('condition: selection', 'condition: selection or others');
    expect(errorLines(text)).toEqual([`13: condition 'selection or others': unknown search identifier 'others' (column 14)`]);
  });

  it('locates keys of a correlation inside its own mapping, and keys after a YAML alias', () => {
    const text = `title: Base
id: 4d7c0e52-6a87-4b6e-9d0b-5a0e3f0c0003
logsource: &ls {product: linux, service: sshd}
detection: {selection: {event.outcome: failure}, condition: selection}
---
title: Many
id: 4d7c0e52-6a87-4b6e-9d0b-5a0e3f0c0004
description: >
    condition: in prose
correlation:
    type: event_count
    rules: [4d7c0e52-6a87-4b6e-9d0b-5a0e3f0c0003]
    timespan: 5m
    condition:
        gte: many
`;
    expect(errorLines(text)).toEqual([`14: condition gte needs a number`]);
  });

  it('keeps a __proto__ key an ordinary key and refuses aliases that contain themselves or repeat without bound', () => {
    const proto = rule(`        __proto__: x`);
    expect(() => parseRuleText(proto, 'p.yml')).not.toThrow();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(errorLines('a: &a [*a]\n')[0]).toMatch(/^1: YAML: /);
    const laughs = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++) laughs.push(`${'bcdefghij'[i - 1]}: &${'bcdefghij'[i - 1]} [${Array(10).fill(`*${'abcdefghij'[i - 1]}`).join(', ')}]`);
    expect(errorLines(laughs.join('\n'))).toEqual([expect.stringMatching(/^\d+: YAML: aliases repeat more than 10000 nodes$/)]);
  });
});

describe('YAML scalars', () => {
  it('keeps unquoted hex values and dates as the strings events carry', () => {
    const alerts = run(`
title: Lsass access
id: 4d7c0e52-6a87-4b6e-9d0b-5a0e3f0c0001
logsource: {product: windows, category: process_access}
detection:
    selection:
        GrantedAccess: 0x1010
        UtcDate: 2024-03-10
    condition: selection
`, [{ 'event.code': '10', 'event.module': 'sysmon', winlog: { channel: 'Microsoft-Windows-Sysmon/Operational', event_data: { GrantedAccess: '0x1010', UtcDate: '2024-03-10' } } }]);
    expect(alerts).toHaveLength(1);
  });
});

describe('rule collections', () => {
  it('merges an action: global document into each rule after it', () => {
    const { rules, problems } = loadRules([fixture('collection.yml')]);
    expect(problems).toEqual([]);
    expect(rules).toHaveLength(2);
    for (const r of rules as DetectionRule[]) {
      expect(r.title).toBe('Suspicious shell from a web server');
      expect(r.level).toBe('high');
      expect([...r.searches.keys()].sort()).toEqual(['selection_child', 'selection_parent']);
    }
  });
});

describe('correlation rules', () => {
  it('loads the specification example with names resolved', () => {
    const { rules, problems } = loadRules([fixture('correlation.yml')]);
    expect(problems).toEqual([]);
    const top = rules[0] as CorrelationRule;
    expect(top).toMatchObject({ kind: 'correlation', type: 'temporal_ordered', rules: ['multiple_failed_login', 'successful_login'], groupBy: ['User'], timespanMs: 600_000, generate: false });
    expect(rules[1]).toMatchObject({ type: 'event_count', condition: { gte: 10 } });
  });

  it('drops correlations that refer to missing rules, and duplicate ids', () => {
    const { rules, problems } = loadRules([fixture('references.yml')]);
    expect(rules.map((r) => r.title)).toEqual(['First']);
    expect(problems.filter((p) => p.severity === 'error').map((p) => `${p.line}: ${p.message}`)).toEqual([
      `11: duplicate rule id 1d7c0e52-6a87-4b6e-9d0b-5a0e3f0c0001 (also ${fixture('references.yml')}:2)`,
      '20: correlation \'Dangling correlation\' refers to unknown or invalid rule(s): no_such_rule',
    ]);
  });

  it('rejects correlations missing what their type needs', () => {
    const base = 'title: c\nid: 2d7c0e52-6a87-4b6e-9d0b-5a0e3f0c0001\ncorrelation:\n';
    const msg = (body: string): string => loadRuleTexts({ 'c.yml': base + body }).problems.map((p) => p.message).join();
    expect(msg('    type: event_count\n    rules: [x]\n    timespan: 5m\n')).toMatch(/needs a condition/);
    expect(msg('    type: value_count\n    rules: [x]\n    timespan: 5m\n    condition: {gte: 3}\n')).toMatch(/needs 'field'/);
    expect(msg('    type: event_count\n    rules: [x]\n    timespan: 5 minutes\n    condition: {gte: 3}\n')).toMatch(/needs a timespan/);
    expect(msg('    type: sometimes\n    rules: [x]\n    timespan: 5m\n')).toMatch(/type 'sometimes' is not supported/);
  });

  it('rewrites a legacy count aggregation into a rule and a correlation that keeps its id', () => {
    const text = `title: Password guessing
id: 3d7c0e52-6a87-4b6e-9d0b-5a0e3f0c0001
level: medium
logsource:
    product: windows
    service: security
detection:
    selection:
        EventID: 4625
    condition: selection | count(TargetUserName) by IpAddress > 3
    timeframe: 5m
`;
    const { rules, problems } = loadRuleTexts({ 'legacy.yml': text });
    expect(problems).toEqual([]);
    expect(rules.map((r) => r.kind)).toEqual(['detection', 'correlation']);
    expect(rules[1]).toMatchObject({ id: '3d7c0e52-6a87-4b6e-9d0b-5a0e3f0c0001', type: 'value_count', field: 'TargetUserName', groupBy: ['IpAddress'], condition: { gt: 3 }, timespanMs: 300_000, rules: [rules[0]!.id] });
  });
});

describe('parseTimespan', () => {
  it('reads seconds, minutes, hours and days', () => {
    expect([parseTimespan('30s'), parseTimespan('90m'), parseTimespan('1h'), parseTimespan('2d')]).toEqual([30_000, 5_400_000, 3_600_000, 172_800_000]);
    expect(parseTimespan('1 hour')).toBeUndefined();
    expect(parseTimespan('0s')).toBeUndefined();
  });
});
