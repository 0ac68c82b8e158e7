// Alerts: MITRE context from tags, the score formula, entities, deterministic ids and dedup keys.
import { describe, expect, it } from 'vitest';
import { alertId, alertScore, dedupKey, eventEntities, repetitionBoost } from './alert.js';
import { eventFromDoc } from './event-doc.js';
import { techniquesFromTags } from './mitre/index.js';
import { run } from './testdata/helpers.js';

const RULE = `
title: Whoami
id: 22222222-0000-4000-8000-000000000001
level: high
description: whoami run
tags: [attack.discovery, attack.t1033, attack.t1059.001, attack.execution]
logsource: {category: process_creation}
detection:
    selection: {Image|endswith: '\\whoami.exe'}
    condition: selection
`;

describe('MITRE ATT&CK', () => {
  it('names the techniques of attack.t tags, keeping the tactics the rule names', () => {
    expect(techniquesFromTags(['attack.credential_access', 'attack.t1110.001'])).toEqual([{ id: 'T1110.001', name: 'Brute Force: Password Guessing', tactics: ['credential-access'] }]);
    // T1078 serves four tactics; the rule says it detects the initial-access use.
    expect(techniquesFromTags(['attack.initial-access', 'attack.t1078'])[0]!.tactics).toEqual(['initial-access']);
    expect(techniquesFromTags(['attack.t1078'])[0]!.tactics).toEqual(['defense-evasion', 'persistence', 'privilege-escalation', 'initial-access']);
  });

  it('keeps unknown technique ids and ignores other namespaces', () => {
    expect(techniquesFromTags(['attack.t9999', 'attack.g0016', 'cve.2021-44228', 'attack.s0002'])).toEqual([{ id: 'T9999', name: '', tactics: [] }]);
  });
});

describe('score', () => {
  const plain = eventFromDoc({ 'host.name': 'ws1' });

  it('starts from the level', () => {
    expect(['informational', 'low', 'medium', 'high', 'critical'].map((l) => alertScore(l as 'low', plain, 1))).toEqual([5, 20, 40, 60, 80]);
  });

  it('adds asset criticality from a label or a crown-jewel tag', () => {
    expect(alertScore('medium', eventFromDoc({ labels: { 'asset.criticality': 'high' } }), 1)).toBe(50);
    expect(alertScore('medium', eventFromDoc({ tags: ['crown-jewel'] }), 1)).toBe(55);
  });

  it('adds threat intelligence hits, more with higher confidence', () => {
    expect(alertScore('medium', eventFromDoc({ 'threat.indicator': [{ type: 'ipv4-addr', value: '1.2.3.4', confidence: 100 }] }), 1)).toBe(55);
    expect(alertScore('medium', eventFromDoc({ 'threat.indicator': [{ type: 'ipv4-addr', value: '1.2.3.4', confidence: 0 }] }), 1)).toBe(50);
    expect(alertScore('medium', eventFromDoc({ tags: ['threat-intel'] }), 1)).toBe(50);
  });

  it('adds repetition, 3 per doubling up to 10', () => {
    expect([1, 2, 4, 8, 1000].map(repetitionBoost)).toEqual([0, 3, 6, 9, 10]);
  });

  it('never leaves 0..100', () => {
    const all = eventFromDoc({ tags: ['crown-jewel'], 'threat.indicator': [{ value: 'x', confidence: 100 }] });
    expect(alertScore('critical', all, 1000)).toBe(100);
  });
});

describe('alerts from rule matches', () => {
  const proc = (id: string, user: string): Record<string, unknown> => ({
    'event.id': id, '@timestamp': '2025-06-01T10:00:00Z', 'event.category': ['process'], 'event.type': ['start'], 'host.name': 'WS1', 'process.executable': 'C:\\Windows\\System32\\whoami.exe', 'user.name': user, 'agent.id': 'a-1',
  });

  it('carry the rule, its ATT&CK techniques, the entities and the event', () => {
    const [a] = run(RULE, [proc('e1', 'bob')]);
    expect(a).toMatchObject({
      rule_id: '22222222-0000-4000-8000-000000000001', rule_title: 'Whoami', level: 'high', description: 'whoami run',
      timestamp: '2025-06-01T10:00:00Z', first_seen: '2025-06-01T10:00:00Z', event_ids: ['e1'], host_name: 'ws1', user_name: 'bob', agent_id: 'a-1',
      entities: { 'host.name': 'ws1', 'user.name': 'bob' }, count: 1, score: 60,
    });
    expect(a!.techniques!.map((t) => [t.id, t.tactics])).toEqual([['T1033', ['discovery']], ['T1059.001', ['execution']]]);
  });

  it('get the same id for the same rule and events, and another for other events', () => {
    const [a] = run(RULE, [proc('e1', 'bob')]);
    const [b] = run(RULE, [proc('e1', 'bob')]);
    const [c] = run(RULE, [proc('e2', 'bob')]);
    expect(a!.id).toBe(b!.id);
    expect(a!.id).not.toBe(c!.id);
    expect(a!.id).toBe(alertId('22222222-0000-4000-8000-000000000001', ['e1']));
  });

  it('share a dedup key when rule and entities are the same, and score repeats higher', () => {
    const alerts = run(RULE, [proc('e1', 'bob'), proc('e2', 'BOB'), proc('e3', 'alice')]);
    expect(alerts[0]!.dedup_key).toBe('22222222-0000-4000-8000-000000000001|host.name=ws1|user.name=bob');
    expect(alerts[1]!.dedup_key).toBe(alerts[0]!.dedup_key);
    expect(alerts[2]!.dedup_key).not.toBe(alerts[0]!.dedup_key);
    expect(alerts.map((a) => a.score)).toEqual([60, 63, 60]);
  });

  it('name the threat-intel indicator that matched as an entity of its own, in the dedup key', () => {
    const conn = (id: string, dst: string): Record<string, unknown> => ({
      ...proc(id, 'bob'), 'destination.ip': dst, 'threat.indicator': [{ type: 'ipv4-addr', value: dst, provider: 'feodo', confidence: 90 }],
    });
    const alerts = run(RULE, [conn('e1', '203.0.113.66'), conn('e2', '203.0.113.66'), conn('e3', '198.51.100.9'), proc('e4', 'bob')]);
    expect(alerts[0]!.entities).toEqual({ 'host.name': 'ws1', 'user.name': 'bob', 'threat.indicator.value': '203.0.113.66' });
    expect(alerts[0]!.destination_ip).toBe('203.0.113.66');
    expect(alerts[1]!.dedup_key).toBe(alerts[0]!.dedup_key);
    expect(alerts[2]!.dedup_key).not.toBe(alerts[0]!.dedup_key);
    expect(alerts[3]!.entities).toEqual({ 'host.name': 'ws1', 'user.name': 'bob' });
  });

  it('take Windows entities from EventData when the ECS fields are empty', () => {
    const e = eventFromDoc({ winlog: { computer_name: 'DC01.corp', event_data: { TargetUserName: 'admin', IpAddress: '10.1.1.1' } } });
    expect(eventEntities(e)).toMatchObject({ host: 'dc01.corp', user: 'admin', sourceIp: '10.1.1.1' });
    expect(eventEntities(eventFromDoc({ winlog: { event_data: { IpAddress: '-' } } })).sourceIp).toBe('');
  });

  it('order dedup key entities by name', () => {
    expect(dedupKey('r', { 'user.name': 'B', 'host.name': 'a', 'source.ip': '' })).toBe('r|host.name=a|user.name=b');
  });
});
