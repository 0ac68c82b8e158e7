import { describe, expect, it } from 'vitest';
import { ECS_FIELDS, ZERO_IS_A_VALUE, fieldGetter, toEcs } from './ecs.js';
import { Event } from './proto.js';

describe('toEcs', () => {
  it('nests typed fields under their ECS names and leaves out proto3 defaults', () => {
    const decoded = Event.decode(Event.encode({
      id: 'i1.0', timestamp: '2026-11-22T10:00:00.123456Z', source_id: 'web',
      event: { category: ['authentication'], outcome: 'failure' }, host: { name: 'h', os_name: 'Debian' },
      source: { ip: '10.0.0.1', port: 22, geo: { lat: 1.5 } }, http: { response_status_code: 404 },
      labels: { env: 'prod' },
    }).finish());
    expect(toEcs(decoded)).toEqual({
      '@timestamp': '2026-11-22T10:00:00.123456Z',
      event: { id: 'i1.0', category: ['authentication'], outcome: 'failure' },
      host: { name: 'h', os: { name: 'Debian' } },
      source: { ip: '10.0.0.1', port: 22, geo: { location: { lat: 1.5 } } },
      http: { response: { status_code: 404 } },
      labels: { source_id: 'web', env: 'prod' },
    });
  });

  it('keeps zeros that are values (exit code 0, 0 bytes, latitude 0) and drops proto3 default zeros', () => {
    const e = Event.decode(Event.encode({
      process: { exit_code: 0, pid: 0, parent: { pid: 0 } }, http: { response_bytes: 0 }, source: { geo: { lat: 0, lon: 0 }, port: 0 },
      event: { severity: 0 }, host: { cpu_usage: 0 },
    }).finish());
    expect(toEcs(e)).toEqual({
      process: { exit_code: 0, pid: 0, parent: { pid: 0 } }, http: { response: { bytes: 0 } },
      source: { geo: { location: { lat: 0, lon: 0 } } }, event: { severity: 0 }, host: { cpu: { usage: 0 } },
    });
    for (const name of ZERO_IS_A_VALUE) {
      const [, proto] = ECS_FIELDS.find(([ecs]) => ecs === name)!;
      const parts = proto.split('.');
      const obj: Record<string, unknown> = {};
      let o = obj;
      for (const p of parts.slice(0, -1)) o = (o[p] = {}) as Record<string, unknown>;
      o[parts[parts.length - 1]!] = 0;
      expect(fieldGetter(name)(Event.decode(Event.encode(obj).finish())), `${name} must be optional in the proto`).toBe(0);
    }
  });

  it('merges extra fields into the document without overwriting typed ones', () => {
    const e = { host: { name: 'h' }, extra_json: JSON.stringify({ host: { name: 'other', uptime: 5 }, winlog: { event_id: 4625 } }) };
    expect(toEcs(e)).toEqual({ host: { name: 'h', uptime: 5 }, winlog: { event_id: 4625 } });
  });

  it('reads every table field back with the same value it wrote', () => {
    const e: Record<string, unknown> = {};
    const doc = toEcs(e);
    expect(doc).toEqual({});
    for (const [ecs] of ECS_FIELDS) expect(fieldGetter(ecs)({})).toBeUndefined();
    expect(fieldGetter('winlog.event_data.Image')({ extra_json: '{"winlog":{"event_data":{"Image":"C:\\\\x.exe"}}}' })).toBe('C:\\x.exe');
  });
});
