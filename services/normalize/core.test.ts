import { describe, expect, it } from 'vitest';
import { normalizeRaw, normalizeTelemetry } from './core.js';

const ctx = { idPrefix: 'iabc-7', nowMs: Date.parse('2026-11-22T12:00:00Z') };

describe('normalizeRaw', () => {
  it('maps flat JSON keys to ECS fields and keeps the raw record', () => {
    const record = '{"ts":"2026-11-22T10:00:00.123456+01:00","host":"WEB-1.example.com.","src_ip":"::ffff:10.0.0.5","user":"alice","action":"login","outcome":"failure","extra":{"k":"v"}}';
    const { events, rejects } = normalizeRaw({ source_id: 'app', format: 'json', received_ms: ctx.nowMs, records: [record] }, ctx);
    expect(rejects).toEqual([]);
    expect(events).toHaveLength(1);
    const e = events[0]!;
    expect(e).toMatchObject({
      id: 'iabc-7.0', source_id: 'app', timestamp: '2026-11-22T09:00:00.123456Z',
      host: { name: 'web-1.example.com' }, source: { ip: '10.0.0.5' }, user: { name: 'alice' },
      event: { action: 'login', outcome: 'failure', kind: 'event' }, raw: record,
    });
    expect(JSON.parse(e.extra_json!)).toEqual({ extra: { k: 'v' } });
  });

  it('reads nested and dotted ECS documents alike', () => {
    const nested = '{"@timestamp":1795392000000,"source":{"ip":"2001:DB8::1","port":4444},"event":{"category":"network"}}';
    const dotted = '{"@timestamp":1795392000000,"source.ip":"2001:db8::1","source.port":"4444","event.category":["network"]}';
    const { events } = normalizeRaw({ source_id: 's', format: 'json', records: [nested, dotted] }, ctx);
    for (const e of events) {
      expect(e.source).toMatchObject({ ip: '2001:db8::1', port: 4444 });
      expect(e.event?.category).toEqual(['network']);
      expect(e.timestamp).toBe('2026-11-23T00:00:00.000Z');
    }
    expect(events.map((e) => e.id)).toEqual(['iabc-7.0', 'iabc-7.1']);
  });

  it('rejects records it cannot normalize, each with its index and reason', () => {
    const records = ['{"ok":1}', '42', '{"source.ip":"999.1.1.1"}', '{"@timestamp":"yesterday-ish"}', '{not json'];
    const { events, rejects } = normalizeRaw({ source_id: 's', format: 'json', records }, ctx);
    expect(events).toHaveLength(1);
    expect(rejects.map((r) => r.index)).toEqual([1, 2, 3, 4]);
    expect(rejects[0]!.error).toBe('expected a JSON object, got a number');
    expect(rejects[1]!.error).toMatch(/^source\.ip: "999\.1\.1\.1" is not an IP address/);
    expect(rejects[2]!.error).toMatch(/^@timestamp: .* is not a time/);
    expect(rejects[3]!.error).toMatch(/^invalid JSON/);
  });

  it('uses the time the record was received when it carries none', () => {
    const { events } = normalizeRaw({ source_id: 's', format: 'json', received_ms: Date.parse('2026-01-02T03:04:05.678Z'), records: ['{"message":"x"}'] }, ctx);
    expect(events[0]!.timestamp).toBe('2026-01-02T03:04:05.678Z');
  });

  it('dead-letters records of a format it has no parser for', () => {
    const { rejects } = normalizeRaw({ source_id: 's', format: 'nonsense', records: ['x'] }, ctx);
    expect(rejects[0]!.error).toBe('no parser for format "nonsense"');
  });
});

describe('normalizeTelemetry', () => {
  it('stamps agent id, host and deterministic ids on agent events', () => {
    const { events } = normalizeTelemetry({ agent_id: 'a1', created_ms: ctx.nowMs, host: { name: 'box' }, events: [{ event: { category: ['process'] } }, {}] }, { ...ctx, idPrefix: 'tq-3' });
    expect(events.map((e) => [e.id, e.agent?.id, e.host?.name, e.source_id])).toEqual([['tq-3.0', 'a1', 'box', 'a1'], ['tq-3.1', 'a1', 'box', 'a1']]);
  });

  it('builds agent event ids from the agent and its batch sequence, so a late re-send is stored once', () => {
    const { events } = normalizeTelemetry({ agent_id: 'a1', batch_seq: 42, events: [{}, {}] }, ctx);
    expect(events.map((e) => e.id)).toEqual(['t-a1-42.0', 't-a1-42.1']);
  });

  it("gives agent events the batch's host facts they lack, without overwriting their own", () => {
    const { events } = normalizeTelemetry({
      agent_id: 'a1', host: { name: 'box', os_family: 'linux', os_kernel: '6.1' },
      events: [{ host: { cpu_usage: 0.97 } }, { host: { name: 'other', os_family: 'debian' } }],
    }, ctx);
    expect(events[0]!.host).toMatchObject({ name: 'box', os_family: 'linux', os_kernel: '6.1', cpu_usage: 0.97 });
    expect(events[1]!.host).toMatchObject({ name: 'other', os_family: 'debian', os_kernel: '6.1' });
  });
});
