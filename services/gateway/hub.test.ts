// The hub's bookkeeping with sockets whose backlog the test sets: skipping, exact carried totals, shedding.
import { describe, expect, it } from 'vitest';
import type { Event } from '../core/proto.js';
import { DEFAULT_LIMITS, Hub, incidentItem, type ClientSocket } from './hub.js';

class Socket implements ClientSocket {
  bufferedAmount = 0;
  sent: Record<string, any>[] = [];
  terminated = false;
  send(data: string): void { this.sent.push(JSON.parse(data) as Record<string, any>); }
  terminate(): void { this.terminated = true; }
  of(type: string) { return this.sent.filter((m) => m.type === type); }
}

const events = (n: number, host = 'h1'): Event[] => Array.from({ length: n }, (_, i) => ({ id: `e${i}`, timestamp: '2026-11-22T10:00:00Z', host: { name: host }, message: `m${i}` }));

function setup() {
  let now = 0;
  const hub = new Hub({ ...DEFAULT_LIMITS, maxItemsPerFlush: 3, slowBufferBytes: 1000, slowClientTimeoutMs: 5000, maxBufferBytes: 10_000 }, () => now);
  return { hub, advance: (ms: number) => { now += ms; } };
}

describe('Hub', () => {
  it('keeps a slow client\'s totals exact across skipped intervals and tells it how many messages it missed', () => {
    const { hub, advance } = setup();
    const s = new Socket();
    hub.add(s, { name: 'ana' });
    s.bufferedAmount = 5000;
    hub.onEvents('web', events(10));
    hub.flush();
    hub.onEvents('web', events(7));
    hub.flush();
    hub.stats();
    expect(s.of('events')).toHaveLength(0);
    advance(1000);
    s.bufferedAmount = 0;
    hub.onEvents('web', events(1));
    hub.flush();
    expect(s.sent.at(-2)).toEqual({ type: 'dropped', count: 3 });
    expect(s.sent.at(-1)).toMatchObject({ type: 'events', total: 18 });
    // The sample is of the interval just ended: what was skipped is only counted.
    expect(s.sent.at(-1)!.items.map((e: { message: string }) => e.message)).toEqual(['m0']);
    expect(s.terminated).toBe(false);
  });

  it('still sends alerts to a slow client, and disconnects one that stays slow', () => {
    const { hub, advance } = setup();
    const slow = new Socket();
    const fine = new Socket();
    hub.add(slow, {});
    hub.add(fine, {});
    slow.bufferedAmount = 2000;
    hub.onAlert({ id: 'a1', rule_id: 'r', level: 'high', timestamp: '2026-11-22T10:00:00Z' });
    expect(slow.of('alert')).toHaveLength(1);
    advance(6000);
    hub.flush();
    expect(slow.terminated).toBe(true);
    expect(hub.size).toBe(1);
    hub.onEvents('web', events(2));
    hub.flush();
    expect(fine.of('events')).toMatchObject([{ total: 2 }]);
  });

  it('disconnects a client at once when its backlog passes the hard bound', () => {
    const { hub } = setup();
    const s = new Socket();
    hub.add(s, {});
    s.bufferedAmount = 20_000;
    hub.stats();
    expect(s.terminated).toBe(true);
    expect(hub.size).toBe(0);
  });

  it('reports events per second per source over the interval', () => {
    const { hub, advance } = setup();
    const s = new Socket();
    hub.add(s, {});
    hub.onEvents('web', events(30));
    hub.onEvents('dns', events(10));
    advance(2000);
    hub.setLag({ 'ENRICHED/store': 4 });
    hub.stats();
    expect(s.of('stats')[0]).toEqual({ type: 'stats', eventsPerSecond: 20, perSource: { web: 15, dns: 5 }, lag: { 'ENRICHED/store': 4 } });
  });

  it('sends an alert as an incident item with its dedup key and ATT&CK names, as /api/incidents lists it', () => {
    const item = incidentItem({
      id: 'm-2', dedup_key: 'ssh-brute|host.name=web-1', rule_id: 'ssh-brute', rule_title: 'SSH brute force', level: 'high', timestamp: '2026-11-22T10:00:00Z',
      techniques: [{ id: 'T1110.001', name: 'Brute Force: Password Guessing', tactics: ['credential-access'] }, { id: '', name: '', tactics: [] }],
    });
    expect(item).toMatchObject({
      id: 'm-2', dedupKey: 'ssh-brute|host.name=web-1', techniques: ['T1110.001'], tactics: ['credential-access'],
      mitre: { techniques: [{ id: 'T1110.001', name: 'Brute Force: Password Guessing' }], tactics: [{ id: 'credential-access', name: 'Credential Access' }] },
    });
    // An alert without a dedup key folds under its own id.
    expect(incidentItem({ id: 'm-3', rule_id: 'r', timestamp: '2026-11-22T10:00:00Z' }).dedupKey).toBe('m-3');
  });
});
