// False-positive filters: proposed from an alert's event, checked by the production loader and engine before they are saved.
import { describe, expect, it } from 'vitest';
import yaml from 'js-yaml';
import { Detector } from './detector.js';
import { checkFilter, docField, filterCandidates, filterIdFor, proposeFilter, sigmaLiteral, FilterError } from './fp-filter.js';
import { eventsFromDocs } from './hunt.js';
import type { DetectionRule } from './sigma/types.js';
import { rulesFrom } from './testdata/helpers.js';

const RULE_TEXT = `
title: PowerShell with a bypassed execution policy
id: 77777777-0000-4000-8000-000000000001
name: ps_bypass
level: medium
logsource: {product: windows, category: process_creation}
detection:
    selection: {CommandLine|contains|all: ['-ExecutionPolicy', 'Bypass']}
    condition: selection
`;
const rule = rulesFrom(RULE_TEXT)[0] as DetectionRule;

// An event as the store keeps it: a nested ECS document.
const event = (cmd: string, host = 'ws-12') => ({
  '@timestamp': '2026-12-01T10:00:00.000Z',
  event: { category: ['process'], type: ['start'] },
  host: { name: host, os: { family: 'windows' } },
  user: { name: 'svc_inventory' },
  process: { executable: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe', command_line: cmd, parent: { executable: 'C:\\Windows\\System32\\svchost.exe' } },
});
const BENIGN = 'powershell.exe -ExecutionPolicy Bypass -File C:\\Scripts\\inv?ntory[1]*.ps1';

const propose = (doc = event(BENIGN), fields?: string[]) => proposeFilter({ rule, doc, alertId: 'alert-1', author: 'alice', date: new Date('2026-12-03T00:00:00Z'), fields });

describe('false-positive filters', () => {
  it('read fields of nested and dotted documents alike', () => {
    expect(docField({ host: { name: 'a' } }, 'host.name')).toBe('a');
    expect(docField({ 'host.name': 'b' }, 'host.name')).toBe('b');
    expect(docField({ process: { 'parent.executable': 'c' } }, 'process.parent.executable')).toBe('c');
    expect(docField({ host: 'flat' }, 'host.name')).toBeUndefined();
  });

  it('offer the event\'s identity fields selected, and skip empty, dash and non-scalar values', () => {
    const c = filterCandidates({ ...event(BENIGN), source: { ip: '-' }, destination: { port: 443, ip: '' }, url: { path: ['a'] } });
    expect(c.map((x) => [x.field, x.selected])).toEqual([
      ['host.name', true], ['user.name', true], ['process.executable', true], ['process.command_line', true], ['process.parent.executable', true], ['destination.port', false],
    ]);
  });

  it('escape wildcards and backslashes so a value matches only itself', () => {
    expect(sigmaLiteral('C:\\a*b?c')).toBe('C:\\\\a\\*b\\?c');
  });

  it('propose a document the loader reads as a filter of the alert\'s rule, which drops that event and no other', () => {
    const p = propose();
    expect(p.id).toBe(filterIdFor('alert-1'));
    const doc = yaml.load(p.yaml) as { logsource: unknown; filter: { rules: string[]; selection: Record<string, unknown> } };
    expect(doc.logsource).toEqual({ product: 'windows', category: 'process_creation' });
    expect(doc.filter.rules).toEqual([rule.id]);
    expect(Object.keys(doc.filter.selection)).toEqual(['host.name', 'user.name', 'process.executable', 'process.command_line', 'process.parent.executable']);
    const check = checkFilter(p.yaml, '/filters/f.yml', { rule, loaded: [rule], doc: event(BENIGN) });
    expect(check.problems).toEqual([]);
    expect(check.matchesEvent).toBe(true);
    // The whole engine with the filter: the benign command line on that host is dropped; another script, or another host, still alerts.
    const d = new Detector([rule, check.filter!]);
    const alerts = d.evaluate(eventsFromDocs([event(BENIGN), event(BENIGN.replace('[1]', '[2]')), event(BENIGN, 'ws-13')]));
    expect(alerts.map((a) => a.event_ids?.[0])).toEqual(['event-1', 'event-2']);
  });

  it('propose only the fields asked for, and refuse fields the event lacks or none at all', () => {
    const p = propose(event(BENIGN), ['host.name']);
    expect(Object.keys((yaml.load(p.yaml) as { filter: { selection: object } }).filter.selection)).toEqual(['host.name']);
    expect(p.candidates.filter((c) => c.selected).map((c) => c.field)).toEqual(['host.name']);
    expect(() => propose(event(BENIGN), ['source.ip'])).toThrow(/no usable value for source.ip/);
    expect(() => propose(event(BENIGN), [])).toThrow(FilterError);
    expect(() => propose({ event: { category: ['process'] } } as never)).toThrow(/none of the fields/);
  });

  it('say when an edited filter no longer drops the alert\'s event', () => {
    const p = propose().yaml.replace("host.name: ws-12", 'host.name: ws-99');
    expect(checkFilter(p, 'f.yml', { rule, loaded: [rule], doc: event(BENIGN) })).toMatchObject({ problems: [], matchesEvent: false });
    expect(checkFilter(p, 'f.yml', { rule, loaded: [rule] }).matchesEvent).toBeNull();
  });

  it('refuse a broken edit with the loader\'s file and line', () => {
    const broken = propose().yaml.replace('condition: selection', 'condition: selection and nothing');
    const check = checkFilter(broken, '/data/rules-filters/x.yml', { rule, loaded: [rule] });
    const line = broken.split('\n').findIndex((l) => l.includes('condition:')) + 1;
    expect(check.problems.map((p) => `${p.file}:${p.line}`)).toEqual([`/data/rules-filters/x.yml:${line}`]);
    expect(check.problems[0]!.message).toMatch(/condition 'selection and nothing'/);
    expect(checkFilter('title: [unclosed\n', 'x.yml', { rule, loaded: [rule] }).problems[0]!.message).toMatch(/^YAML: /);
  });

  it('refuse a rule instead of a filter, a filter of another rule, two documents and a clashing id', () => {
    const p = propose().yaml;
    expect(checkFilter(RULE_TEXT.replace('77777777-0000-4000-8000-000000000001', '77777777-0000-4000-8000-000000000002').replace('name: ps_bypass\n', ''), 'r.yml', { rule, loaded: [rule] }).problems[0]!.message)
      .toMatch(/is a rule, not a filter/);
    expect(checkFilter(p.replace(rule.id, '77777777-0000-4000-8000-0000000000ff'), 'f.yml', { rule, loaded: [rule] }).problems[0]!.message).toMatch(/must name the alert's rule/);
    expect(checkFilter(p.replace(rule.id, 'ps_bypass'), 'f.yml', { rule, loaded: [rule] }).problems).toEqual([]);
    expect(checkFilter(`${p}---\n${p}`, 'f.yml', { rule, loaded: [rule] }).problems[0]!.message).toMatch(/expected one Sigma filter document, found 2/);
    const clash = p.replace(/^id: .*$/m, `id: ${rule.id}`);
    expect(checkFilter(clash, 'f.yml', { rule, loaded: [rule] }).problems[0]!.message).toMatch(/duplicate rule id/);
  });

  it('refuse a filter whose values do not compile', () => {
    const bad = propose().yaml.replace("host.name: ws-12", "host.name|re: '(?<=a)b'");
    const check = checkFilter(bad, 'f.yml', { rule, loaded: [rule] });
    expect(check.problems.length).toBe(1);
    expect(check.problems[0]!.file).toBe('f.yml');
  });
});
