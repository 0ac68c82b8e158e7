import { describe, expect, it } from 'vitest';
import { ECS_FIELDS, fieldGetter, toEcs } from './ecs.js';
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
