// Sigma filters (the `filter:` document type): loaded, attached to the rules they name, and suppressing only what they match.
import { describe, expect, it } from 'vitest';
import { Detector } from './detector.js';
import { eventsFromDocs } from './hunt.js';
import { loadRuleTexts } from './sigma/loader.js';
import { rulesFrom } from './testdata/helpers.js';

const RULE = `
title: PowerShell with a bypassed execution policy
id: 66666666-0000-4000-8000-000000000001
name: ps_bypass
level: medium
logsource: {product: windows, category: process_creation}
detection:
    selection: {CommandLine|contains|all: ['-ExecutionPolicy', 'Bypass']}
    condition: selection
`;

const FILTER = `
title: The inventory script of the IT department
description: C:\\Scripts\\inventory.ps1 runs every hour with a bypassed policy, started by the task scheduler.
logsource: {product: windows, category: process_creation}
filter:
    rules:
        - ps_bypass
        - 66666666-0000-4000-8000-0000000000ff   # a rule that is not loaded
    selection:
        CommandLine|endswith: '-File C:\\Scripts\\inventory.ps1'
        ParentImage|endswith: '\\svchost.exe'
    condition: selection
`;

const ev = (cmd: string, parent = 'C:\\Windows\\System32\\svchost.exe') => ({
  'event.category': ['process'], 'event.type': ['start'], 'host.os.family': 'windows', 'process.command_line': cmd, 'process.parent.executable': parent,
});

describe('Sigma filters', () => {
  it('load as filters of the rules they name, with an id derived when they have none', () => {
    const r = loadRuleTexts({ 'rule.yml': RULE, 'filter.yml': FILTER });
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
    const f = r.rules.find((x) => x.title.startsWith('The inventory'));
    expect(f).toMatchObject({ kind: 'detection', filter: ['ps_bypass', '66666666-0000-4000-8000-0000000000ff'] });
    expect(f!.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(loadRuleTexts({ 'filter.yml': FILTER }).rules[0]!.id).toBe(f!.id);
  });

  it('drop the matches of their rules that they match, and only those', () => {
    const d = new Detector(rulesFrom(RULE + '---' + FILTER));
    const alerts = d.evaluate(eventsFromDocs([
      ev('powershell.exe -ExecutionPolicy Bypass -File C:\\Scripts\\inventory.ps1'),
      ev('powershell.exe -ExecutionPolicy Bypass -File C:\\Scripts\\inventory.ps1', 'C:\\Windows\\explorer.exe'),
      ev('powershell.exe -ExecutionPolicy Bypass -File C:\\Users\\Public\\run.ps1'),
    ]));
    expect(alerts.map((a) => a.event_ids?.[0])).toEqual(['event-1', 'event-2']);
    expect(d.stats().filtered).toBe(1);
  });

  it('raise no alert of their own and report the rules they name that are not loaded', () => {
    const d = new Detector(rulesFrom(RULE + '---' + FILTER));
    expect(d.rules.map((r) => r.title)).toEqual(['PowerShell with a bypassed execution policy']);
    expect(d.problems.map((p) => p.message)).toEqual(["filter 'The inventory script of the IT department': no rule '66666666-0000-4000-8000-0000000000ff'"]);
  });

  it('apply only on their own logsource', () => {
    const linux = FILTER.replace('{product: windows, category: process_creation}', '{product: linux, category: process_creation}');
    const d = new Detector(rulesFrom(RULE + '---' + linux));
    expect(d.evaluate(eventsFromDocs([ev('powershell.exe -ExecutionPolicy Bypass -File C:\\Scripts\\inventory.ps1')]))).toHaveLength(1);
  });

  it('are refused without rules to filter', () => {
    const r = loadRuleTexts({ 'filter.yml': FILTER.replace(/ {4}rules:\n( {8}- [^\n]*\n)+/, '') });
    expect(r.problems.map((p) => p.message)).toEqual(['filter.rules must name at least one rule (id or name)']);
  });
});
