// Correlation rules in event time: counts, distinct values, temporal proximity, windows, bounds and checkpoints.
import { describe, expect, it } from 'vitest';
import { Detector } from './detector.js';
import { eventsFromDocs } from './hunt.js';
import { rulesFrom } from './testdata/helpers.js';

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const at = (seconds: number): string => new Date(T0 + seconds * 1000).toISOString();

const SSH_RULES = `
title: SSH login failed
id: 11111111-0000-4000-8000-000000000001
name: ssh_failed
logsource: {product: linux, service: sshd}
detection:
    selection: {event.category: authentication, event.outcome: failure}
    condition: selection
---
title: SSH login succeeded
id: 11111111-0000-4000-8000-000000000002
name: ssh_success
logsource: {product: linux, service: sshd}
detection:
    selection: {event.category: authentication, event.outcome: success}
    condition: selection
`;

const ssh = (seconds: number, outcome: 'failure' | 'success', ip: string, user = 'root'): Record<string, unknown> => ({
  '@timestamp': at(seconds), 'event.module': 'syslog', 'process.name': 'sshd', 'event.category': ['authentication'],
  'event.outcome': outcome, 'source.ip': ip, 'user.name': user, 'host.name': 'bastion',
});

function detector(extra: string, opts: ConstructorParameters<typeof Detector>[1] = {}): Detector {
  return new Detector(rulesFrom(SSH_RULES + '---\n' + extra), { clock: () => T0, ...opts });
}

const COUNT = (gte: number, timespan = '5m', generate = false): string => `
title: SSH brute force
id: 11111111-0000-4000-8000-000000000010
name: ssh_bruteforce
level: medium
correlation:
    type: event_count
    rules: [ssh_failed]
    group-by: [source.ip]
    timespan: ${timespan}
    condition: {gte: ${gte}}
    generate: ${generate}
`;

describe('event_count', () => {
  it('fires once when the count is reached, and counts afresh after', () => {
    const d = detector(COUNT(3));
    const docs = [0, 10, 20, 30, 40, 50].map((s) => ssh(s, 'failure', '10.0.0.5'));
    const alerts = d.evaluate(eventsFromDocs(docs));
    expect(alerts.map((a) => a.event_ids)).toEqual([['event-0', 'event-1', 'event-2'], ['event-3', 'event-4', 'event-5']]);
    expect(alerts[0]).toMatchObject({ rule_id: '11111111-0000-4000-8000-000000000010', first_seen: at(0), timestamp: at(20), entities: { 'source.ip': '10.0.0.5' } });
  });

  it('counts each group-by value apart', () => {
    const d = detector(COUNT(3));
    const docs = [ssh(0, 'failure', '10.0.0.5'), ssh(1, 'failure', '10.0.0.6'), ssh(2, 'failure', '10.0.0.5'), ssh(3, 'failure', '10.0.0.6')];
    expect(d.evaluate(eventsFromDocs(docs))).toEqual([]);
  });

  it('forgets events older than the timespan (sliding window in event time)', () => {
    const d = detector(COUNT(3, '1m'));
    const docs = [ssh(0, 'failure', '10.0.0.5'), ssh(30, 'failure', '10.0.0.5'), ssh(100, 'failure', '10.0.0.5')];
    expect(d.evaluate(eventsFromDocs(docs))).toEqual([]);
    expect(d.evaluate(eventsFromDocs([ssh(110, 'failure', '10.0.0.5')], 'late'))).toHaveLength(0);
    expect(d.evaluate(eventsFromDocs([ssh(120, 'failure', '10.0.0.5')], 'more'))).toHaveLength(1);
  });

  it('silences the rules it correlates unless it asks to generate them', () => {
    const docs = [0, 1, 2].map((s) => ssh(s, 'failure', '10.0.0.5'));
    expect(detector(COUNT(3)).evaluate(eventsFromDocs(docs)).map((a) => a.rule_title)).toEqual(['SSH brute force']);
    expect(detector(COUNT(3, '5m', true)).evaluate(eventsFromDocs(docs)).map((a) => a.rule_title)).toEqual(['SSH login failed', 'SSH login failed', 'SSH login failed', 'SSH brute force']);
  });

  it('decides an upper-bound condition when its window closes', () => {
    const d = detector(`
title: Few failures
id: 11111111-0000-4000-8000-000000000011
correlation:
    type: event_count
    rules: [ssh_failed]
    group-by: [source.ip]
    timespan: 1m
    condition: {lt: 3}
`);
    expect(d.evaluate(eventsFromDocs([ssh(0, 'failure', '10.0.0.5'), ssh(10, 'failure', '10.0.0.5'), ssh(5, 'failure', '10.0.0.9'), ssh(6, 'failure', '10.0.0.9'), ssh(7, 'failure', '10.0.0.9')]))).toEqual([]);
    const closed = d.tick(T0 + 120_000);
    expect(closed.map((a) => a.entities)).toEqual([{ 'source.ip': '10.0.0.5' }]);
    expect(closed[0]!.event_ids).toEqual(['event-0', 'event-1']);
  });
});

describe('event time and the clock', () => {
  it('keeps the windows of a source whose events lag far behind the clock', () => {
    let now = T0 + 86_400_000;
    const d = detector(COUNT(5, '1m'), { clock: () => now });
    d.evaluate(eventsFromDocs([0, 1, 2].map((s) => ssh(s, 'failure', '10.0.0.5'))));
    now += 5_000;
    expect(d.tick()).toEqual([]);
    expect(d.stats().correlation.groups).toBe(1);
    expect(d.evaluate(eventsFromDocs([3, 4].map((s) => ssh(s, 'failure', '10.0.0.5')), 'rest'))).toHaveLength(1);
  });

  it('moves event time on by the idle time when no batch comes', () => {
    let now = T0 + 86_400_000;
    const d = detector(COUNT(5, '1m'), { clock: () => now });
    d.evaluate(eventsFromDocs([0, 1, 2].map((s) => ssh(s, 'failure', '10.0.0.5'))));
    now += 120_000;
    d.tick();
    expect(d.stats().correlation.groups).toBe(0);
  });

  it('decides every open window at the end of a finite input', () => {
    const d = detector(`
title: Single failure
id: 11111111-0000-4000-8000-000000000012
correlation:
    type: event_count
    rules: [ssh_failed]
    group-by: [source.ip]
    timespan: 1h
    condition: {eq: 1}
`);
    expect(d.evaluate(eventsFromDocs([ssh(0, 'failure', '10.0.0.5'), ssh(1, 'failure', '10.0.0.6'), ssh(2, 'failure', '10.0.0.6')]))).toEqual([]);
    expect(d.flush().map((a) => a.entities)).toEqual([{ 'source.ip': '10.0.0.5' }]);
  });
});

describe('value_count', () => {
  it('counts distinct values of a field per group', () => {
    const d = detector(`
title: Password spraying
id: 11111111-0000-4000-8000-000000000020
correlation:
    type: value_count
    rules: [ssh_failed]
    group-by: [source.ip]
    timespan: 5m
    condition: {field: user.name, gt: 3}
`);
    const same = [0, 1, 2, 3, 4].map((s) => ssh(s, 'failure', '10.0.0.5', 'root'));
    expect(d.evaluate(eventsFromDocs(same))).toEqual([]);
    const spray = ['alice', 'bob', 'carol', 'dave'].map((u, i) => ssh(10 + i, 'failure', '10.0.0.5', u));
    const alerts = d.evaluate(eventsFromDocs(spray, 'spray'));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.entities).toEqual({ 'source.ip': '10.0.0.5' });
  });
});

describe('temporal and temporal_ordered', () => {
  const TEMPORAL = (type: string): string => `
title: Fail and succeed
id: 11111111-0000-4000-8000-000000000030
correlation:
    type: ${type}
    rules: [ssh_failed, ssh_success]
    group-by: [source.ip]
    timespan: 1m
`;

  it('temporal fires when all rules matched within the timespan, in any order', () => {
    const d = detector(TEMPORAL('temporal'));
    expect(d.evaluate(eventsFromDocs([ssh(0, 'success', '10.0.0.5'), ssh(30, 'failure', '10.0.0.5')]))).toHaveLength(1);
    expect(d.evaluate(eventsFromDocs([ssh(100, 'success', '10.0.0.6'), ssh(200, 'failure', '10.0.0.6')], 'far'))).toHaveLength(0);
  });

  it('temporal_ordered needs the rules in the written order', () => {
    const d = detector(TEMPORAL('temporal_ordered'));
    expect(d.evaluate(eventsFromDocs([ssh(0, 'success', '10.0.0.5'), ssh(30, 'failure', '10.0.0.5')]))).toHaveLength(0);
    const ordered = d.evaluate(eventsFromDocs([ssh(40, 'success', '10.0.0.5')], 'next'));
    expect(ordered).toHaveLength(1);
    expect(ordered[0]!.event_ids).toEqual(['event-1', 'next-0']);
  });

  it('temporal_ordered needs the whole sequence inside the timespan', () => {
    const d = detector(TEMPORAL('temporal_ordered'));
    expect(d.evaluate(eventsFromDocs([ssh(0, 'failure', '10.0.0.5'), ssh(61, 'success', '10.0.0.5')]))).toHaveLength(0);
    expect(d.evaluate(eventsFromDocs([ssh(70, 'failure', '10.0.0.5'), ssh(130, 'success', '10.0.0.5')], 'in'))).toHaveLength(1);
  });

  it('joins fields of different names through aliases', () => {
    const d = new Detector(rulesFrom(`
title: Internal error
id: 11111111-0000-4000-8000-000000000040
name: internal_error
logsource: {category: webserver}
detection:
    selection: {http.response.status_code: 500}
    condition: selection
---
title: New connection
id: 11111111-0000-4000-8000-000000000041
name: new_network_connection
logsource: {category: network_connection}
detection:
    selection: {event.category: network, event.type: connection}
    condition: selection
---
title: Error then callback
id: 11111111-0000-4000-8000-000000000042
correlation:
    type: temporal
    rules: [internal_error, new_network_connection]
    group-by: [internal_ip, remote_ip]
    timespan: 10s
    aliases:
        internal_ip: {internal_error: destination.ip, new_network_connection: source.ip}
        remote_ip: {internal_error: source.ip, new_network_connection: destination.ip}
`));
    const web = { '@timestamp': at(0), 'event.category': ['web'], 'url.original': '/x', 'http.response.status_code': 500, 'source.ip': '203.0.113.7', 'destination.ip': '10.0.0.2' };
    const conn = (src: string): Record<string, unknown> => ({ '@timestamp': at(3), 'event.category': ['network'], 'event.type': ['connection'], 'source.ip': src, 'destination.ip': '203.0.113.7' });
    expect(d.evaluate(eventsFromDocs([web, conn('10.0.0.3')]))).toHaveLength(0);
    const alerts = d.evaluate(eventsFromDocs([web, conn('10.0.0.2')], 'b'));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.entities).toEqual({ internal_ip: '10.0.0.2', remote_ip: '203.0.113.7' });
  });
});

describe('brute force followed by a successful login', () => {
  const CHAIN = `${COUNT(5)}
---
title: SSH brute force followed by success
id: 11111111-0000-4000-8000-000000000050
level: high
tags: [attack.credential_access, attack.t1110.001]
correlation:
    type: temporal_ordered
    rules: [ssh_bruteforce, ssh_success]
    group-by: [source.ip]
    timespan: 10m
`;

  it('raises ONE alert that links the failures and the success', () => {
    const d = detector(CHAIN);
    const docs = [
      ...[0, 5, 10, 15, 20, 25].map((s) => ssh(s, 'failure', '198.51.100.9')),
      ssh(26, 'failure', '10.0.0.7'), ssh(27, 'success', '10.0.0.7'),
      ssh(60, 'success', '198.51.100.9'),
    ];
    const alerts = d.evaluate(eventsFromDocs(docs));
    expect(alerts).toHaveLength(1);
    const a = alerts[0]!;
    expect(a).toMatchObject({
      rule_id: '11111111-0000-4000-8000-000000000050', level: 'high', first_seen: at(0), timestamp: at(60),
      event_ids: ['event-0', 'event-1', 'event-2', 'event-3', 'event-4', 'event-8'],
      entities: { 'source.ip': '198.51.100.9' }, source_ip: '198.51.100.9', user_name: 'root', host_name: 'bastion',
    });
    expect(a.techniques).toEqual([{ id: 'T1110.001', name: 'Brute Force: Password Guessing', tactics: ['credential-access'] }]);
  });

  it('does not fire when the success comes before the failures', () => {
    const d = detector(CHAIN);
    const docs = [ssh(0, 'success', '198.51.100.9'), ...[1, 2, 3, 4, 5].map((s) => ssh(s, 'failure', '198.51.100.9'))];
    expect(d.evaluate(eventsFromDocs(docs))).toEqual([]);
  });
});

describe('correlations of correlations', () => {
  it('count the fires of a correlation, not the events behind them', () => {
    const d = detector(`${COUNT(3)}
---
title: Repeated brute force waves
id: 11111111-0000-4000-8000-000000000055
correlation:
    type: event_count
    rules: [ssh_bruteforce]
    group-by: [source.ip]
    timespan: 1h
    condition: {gte: 2}
`);
    expect(d.evaluate(eventsFromDocs([0, 1, 2].map((s) => ssh(s, 'failure', '10.0.0.5'))))).toEqual([]);
    const alerts = d.evaluate(eventsFromDocs([3, 4, 5].map((s) => ssh(s, 'failure', '10.0.0.5')), 'wave2'));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.event_ids).toEqual(['event-0', 'event-1', 'event-2', 'wave2-0', 'wave2-1', 'wave2-2']);
  });
});

describe('bounded, checkpointed state', () => {
  it('keeps at most maxGroups groups, dropping the least recently updated', () => {
    const d = detector(COUNT(2), { correlation: { maxGroups: 3 } });
    const docs = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'].map((ip, i) => ssh(i, 'failure', ip));
    d.evaluate(eventsFromDocs(docs));
    expect(d.stats().correlation).toMatchObject({ groups: 3, evictedGroups: 2 });
    // 10.0.0.1 was evicted: its second failure starts over instead of firing.
    expect(d.evaluate(eventsFromDocs([ssh(6, 'failure', '10.0.0.1')], 'x'))).toEqual([]);
    expect(d.evaluate(eventsFromDocs([ssh(7, 'failure', '10.0.0.5')], 'y'))).toHaveLength(1);
  });

  it('drops groups whose window has passed in event time', () => {
    const d = detector(COUNT(5, '1m'));
    d.evaluate(eventsFromDocs([ssh(0, 'failure', '10.0.0.1'), ssh(1, 'failure', '10.0.0.2')]));
    expect(d.stats().correlation.groups).toBe(2);
    d.evaluate(eventsFromDocs([ssh(300, 'failure', '10.0.0.3')], 'later'));
    expect(d.stats().correlation.groups).toBe(1);
  });

  it('resumes from a JSON snapshot as if it had never stopped', () => {
    const first = detector(COUNT(5));
    first.evaluate(eventsFromDocs([0, 1, 2].map((s) => ssh(s, 'failure', '10.0.0.5'))));
    const saved = JSON.parse(JSON.stringify(first.snapshot()));
    const rest = eventsFromDocs([3, 4].map((s) => ssh(s, 'failure', '10.0.0.5')), 'rest');

    const restored = detector(COUNT(5));
    restored.restore(saved);
    const alerts = restored.evaluate(rest);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.event_ids).toEqual(['event-0', 'event-1', 'event-2', 'rest-0', 'rest-1']);
    expect(detector(COUNT(5)).evaluate(rest)).toEqual([]);
  });

  it('refuses a snapshot of an unknown version', () => {
    expect(() => detector(COUNT(5)).restore({ version: 9 } as never)).toThrow(/unknown detector snapshot version 9/);
  });
});

describe('value_sum and value_avg', () => {
  it('compare the sum of a numeric field in the window', () => {
    const d = new Detector(rulesFrom(`
title: Web response
id: 11111111-0000-4000-8000-000000000060
name: web_response
logsource: {category: webserver}
detection:
    selection: {http.request.method: GET}
    condition: selection
---
title: Large download volume
id: 11111111-0000-4000-8000-000000000061
correlation:
    type: value_sum
    rules: [web_response]
    group-by: [source.ip]
    timespan: 1h
    condition: {field: http.response.bytes, gt: 1000000}
`));
    const get = (s: number, bytes: number): Record<string, unknown> => ({ '@timestamp': at(s), 'url.original': '/f', 'http.request.method': 'GET', 'http.response.bytes': bytes, 'source.ip': '10.0.0.8' });
    expect(d.evaluate(eventsFromDocs([get(0, 400_000), get(1, 500_000)]))).toEqual([]);
    expect(d.evaluate(eventsFromDocs([get(2, 200_000)], 'b'))).toHaveLength(1);
  });
});
