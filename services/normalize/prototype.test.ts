// Prototype keys at every entry point of the log path: refused with a reason, stored documents built safely, Object.prototype untouched.
import { afterEach, describe, expect, it } from 'vitest';
import { fieldGetter, mergeMissing, toEcs } from '../core/ecs.js';
import { Event, TelemetryBatch } from '../core/proto.js';
import { splitRecords } from '../ingest/core.js';
import { normalizeRaw, normalizeTelemetry } from './core.js';

const ctx = { idPrefix: 'i1-1', nowMs: Date.parse('2026-11-22T12:00:00Z') };

function raw(format: string, records: string[]) {
  return normalizeRaw({ source_id: 'hostile', format, received_ms: ctx.nowMs, records }, ctx);
}

// What a polluted Object.prototype would show: every plain object inherits the key.
function polluted(): unknown[] {
  const o = {} as Record<string, unknown>;
  return [o.polluted, o.deep, o.viaConstructor, o.fromLabels, o.fromExtra];
}

afterEach(() => {
  expect(polluted()).toEqual([undefined, undefined, undefined, undefined, undefined]);
});

describe('prototype keys in log records', () => {
  it('dead-letters JSON and NDJSON records holding __proto__, constructor or prototype at any depth, and stores the rest', () => {
    const body = [
      '{"__proto__":{"polluted":"yes"}}',
      '{"message":"ok"}',
      '{"a":{"b":{"__proto__":{"deep":"yes"}}}}',
      '{"constructor":{"prototype":{"viaConstructor":"yes"}}}',
      '{"labels.__proto__":"fromLabels"}',
      '{"x":[{"prototype":1}]}',
    ].join('\n');
    const { events, rejects } = raw('json', splitRecords(body, 'ndjson'));
    expect(events.map((e) => e.message)).toEqual(['ok']);
    expect(rejects.map((r) => [r.index, r.error])).toEqual([
      [0, 'the record uses the key "__proto__", which is refused: it names an object prototype in JavaScript'],
      [2, 'the object at a.b uses the key "__proto__", which is refused: it names an object prototype in JavaScript'],
      [3, 'the record uses the key "constructor", which is refused: it names an object prototype in JavaScript'],
      [4, 'the record uses the key "__proto__", which is refused: it names an object prototype in JavaScript'],
      [5, 'the object at x.0 uses the key "prototype", which is refused: it names an object prototype in JavaScript'],
    ]);
    // Each dead letter carries its record whole, so it can be read and retried.
    expect(rejects[0]!.record).toBe('{"__proto__":{"polluted":"yes"}}');
    for (const e of events) toEcs(e);
  });

  it('takes a JSON array body apart without building objects from it', () => {
    const records = splitRecords('[{"__proto__":{"polluted":1}}, {"ok": true}]', 'json');
    expect(records).toEqual(['{"__proto__":{"polluted":1}}', '{"ok": true}']);
    expect(raw('json', records).rejects.map((r) => r.index)).toEqual([0]);
  });

  it('dead-letters CEF extensions, syslog structured data and sudo fields named after a prototype', () => {
    const { events, rejects } = raw('', [
      'CEF:0|V|P|1|1|n|5|__proto__=x src=10.0.0.1',
      'CEF:0|V|P|1|1|n|5|cs1.constructor=x',
      '<13>1 2026-11-22T10:00:00Z h app - - [__proto__ polluted="1"] m',
      '<13>1 2026-11-22T10:00:00Z h app - - [meta constructor="1"] m',
      '<86>Nov 22 10:00:00 h sudo:    alice : TTY=pts/1 ; __PROTO__=x ; USER=root ; COMMAND=/bin/true',
      '<13>1 2026-11-22T10:00:00Z h app - - [meta a="1"] fine',
    ]);
    expect(events.map((e) => e.message)).toEqual(['fine']);
    expect(rejects.map((r) => r.error)).toEqual([
      'CEF extension uses the key "__proto__", which is refused: it names an object prototype in JavaScript',
      'CEF extension uses the key "constructor", which is refused: it names an object prototype in JavaScript',
      'RFC 5424 structured data uses the key "__proto__", which is refused: it names an object prototype in JavaScript',
      'RFC 5424 structured data element [meta] uses the key "constructor", which is refused: it names an object prototype in JavaScript',
      'sudo message uses the key "__proto__", which is refused: it names an object prototype in JavaScript',
    ]);
  });

  it('dead-letters Windows event XML whose element or Data names are prototype keys', () => {
    const ev = (data: string) => `<Event><System><Provider Name="P"/><EventID>1</EventID></System><EventData>${data}</EventData></Event>`;
    const { events, rejects } = raw('winxml', [ev('<Data Name="__proto__">x</Data>'), ev('<constructor>x</constructor>'), ev('<Data Name="ok">x</Data>')]);
    expect(events).toHaveLength(1);
    expect(rejects.map((r) => r.error)).toEqual([
      'EventData uses the key "__proto__", which is refused: it names an object prototype in JavaScript',
      'EventData uses the key "constructor", which is refused: it names an object prototype in JavaScript',
    ]);
  });
});

describe('prototype keys from agents', () => {
  it('dead-letters agent events whose extra_json or labels hold prototype keys, with the whole event as the record', () => {
    // Through the wire format, as normalize receives them.
    const batch = TelemetryBatch.decode(TelemetryBatch.encode({
      agent_id: 'a1', events: [
        { message: 'bad extra', extra_json: '{"__proto__":{"fromExtra":"yes"}}' },
        { message: 'ok', extra_json: '{"proc":{"threads":4}}' },
        { message: 'bad label', labels: JSON.parse('{"__proto__":"fromLabels"}') as Record<string, string> },
        { message: 'deep', extra_json: `${'{"a":'.repeat(40)}1${'}'.repeat(40)}` },
        { message: 'not json', extra_json: '{' },
      ],
    }).finish());
    const { events, rejects } = normalizeTelemetry(batch, ctx);
    expect(events.map((e) => e.message)).toEqual(['ok']);
    expect(rejects.map((r) => [r.index, r.error])).toEqual([
      [0, 'extra_json: the record uses the key "__proto__", which is refused: it names an object prototype in JavaScript'],
      [2, 'labels uses the key "__proto__", which is refused: it names an object prototype in JavaScript'],
      [3, expect.stringMatching(/^extra_json: the record nests deeper than 32 levels \(at a\.a\.a/)],
      [4, expect.stringMatching(/^extra_json is not JSON/)],
    ]);
    expect(JSON.parse(rejects[0]!.record)).toMatchObject({ message: 'bad extra', extra_json: '{"__proto__":{"fromExtra":"yes"}}' });
    expect(Object.keys(JSON.parse(rejects[1]!.record).labels)).toEqual(['__proto__']);
    expect(toEcs(events[0]!)).toMatchObject({ message: 'ok', proc: { threads: 4 } });
  });
});

describe('the ECS mapping on events that bypassed normalize', () => {
  it('keeps a __proto__ key of extra_json as data in the stored document instead of polluting', () => {
    const e = Event.decode(Event.encode({ host: { name: 'h' }, extra_json: '{"__proto__":{"polluted":"yes"},"host":{"__proto__":{"deep":"yes"}},"constructor":{"prototype":{"viaConstructor":1}}}' }).finish());
    const doc = toEcs(e);
    expect(Object.getPrototypeOf(doc)).toBe(Object.prototype);
    expect(Object.hasOwn(doc, '__proto__')).toBe(true);
    expect(JSON.parse(JSON.stringify(doc))).toEqual(JSON.parse('{"host":{"name":"h","__proto__":{"deep":"yes"}},"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"viaConstructor":1}}}'));
  });

  it('merges only own properties', () => {
    const to: Record<string, unknown> = { a: { b: 1 } };
    mergeMissing(to, JSON.parse('{"a":{"c":2},"toString":"x","__proto__":{"polluted":1}}'));
    expect(JSON.stringify(to)).toBe('{"a":{"b":1,"c":2},"toString":"x","__proto__":{"polluted":1}}');
  });

  it('reads no inherited property through a field name', () => {
    const e = { extra_json: '{"a":{}}' };
    expect(fieldGetter('constructor')(e)).toBeUndefined();
    expect(fieldGetter('a.constructor')(e)).toBeUndefined();
    expect(fieldGetter('a.toString')(e)).toBeUndefined();
  });
});
