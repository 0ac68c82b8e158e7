// The differ against fixtures on disk: snapshots in, the exact events out (no systeminformation involved).
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toEcs } from '../services/core/ecs.js';
import { Event, TelemetryBatch, type minisoc } from '../services/core/proto.js';
import { diff, inventory, type DiffState } from './differ.js';
import type { Stamp } from './events.js';
import type { Snapshot } from './snapshot.js';

interface Step { note: string; snapshot: Snapshot; expect: Record<string, unknown>[]; absent?: string[]; hostChanged?: boolean }
interface Fixture { description: string; stamp: Stamp; steps: Step[] }

const dir = join(import.meta.dirname, 'fixtures', 'differ');
const fixtures = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => [f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as Fixture] as const);

function run(f: Fixture): { state: DiffState; results: ReturnType<typeof diff>[] } {
  let state: DiffState = {};
  const results = f.steps.map((s) => {
    const r = diff(state, s.snapshot, f.stamp);
    state = r.state;
    return r;
  });
  return { state, results };
}

describe('the differ', () => {
  it('finds every fixture', () => {
    expect(fixtures.map(([f]) => f).sort()).toEqual(['processes.json', 'resources-host.json', 'sockets.json']);
  });

  for (const [file, f] of fixtures) {
    describe(`${file}: ${f.description}`, () => {
      const { results } = run(f);
      f.steps.forEach((step, i) => {
        it(`step ${i + 1} gives the expected events: ${step.note}`, () => {
          const r = results[i]!;
          expect(r.events).toHaveLength(step.expect.length);
          expect(r.events).toMatchObject(step.expect);
          for (const path of step.absent ?? []) {
            for (const e of r.events) expect(path.split('.').reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], e)).toBeUndefined();
          }
          if (step.hostChanged !== undefined) expect(r.hostChanged).toBe(step.hostChanged);
        });
      });
    });
  }

  it('leaves the state it was given unchanged, so a failed publish can retry from it', () => {
    const [, f] = fixtures.find(([n]) => n === 'processes.json')!;
    const first = diff({}, f.steps[0]!.snapshot, f.stamp).state;
    const before = [...first.processes!.keys()];
    diff(first, f.steps[1]!.snapshot, f.stamp);
    expect([...first.processes!.keys()]).toEqual(before);
  });

  it('gives the same events for the same input', () => {
    for (const [, f] of fixtures) expect(JSON.stringify(run(f).results)).toBe(JSON.stringify(run(f).results));
  });

  it('writes events that survive the wire and read as ECS fields downstream', () => {
    const all = fixtures.flatMap(([, f]) => run(f).results.flatMap((r) => r.events));
    expect(all.length).toBeGreaterThan(10);
    const wire = TelemetryBatch.decode(TelemetryBatch.encode({ agent_id: 'web-1', batch_seq: 1, created_ms: 1, events: all }).finish());
    expect(wire.events.map((e) => Event.toObject(e as minisoc.Event, { defaults: false }))).toEqual(all.map((e) => Event.toObject(Event.fromObject(e), { defaults: false })));
    const started = toEcs(all.find((e) => e.event?.action === 'process-started')!);
    expect(started).toMatchObject({
      '@timestamp': '2026-11-18T11:06:50.000Z',
      event: { kind: 'event', category: ['process'], type: ['start'], action: 'process-started' },
      process: { pid: 4242, name: 'curl', parent: { pid: 1000, name: 'bash' }, user: { name: 'alice' } },
      user: { name: 'alice' }, host: { name: 'web-1' }, agent: { id: 'web-1' },
    });
    const inbound = toEcs(all.find((e) => e.network?.direction === 'inbound')!);
    expect(inbound).toMatchObject({ source: { ip: '203.0.113.9', port: 61000 }, destination: { ip: '192.0.2.10', port: 22 }, network: { transport: 'tcp', direction: 'inbound' } });
    for (const e of all) expect(e.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('lists the host, every process and each listening port once in the inventory', () => {
    const [, p] = fixtures.find(([n]) => n === 'processes.json')!;
    const [, s] = fixtures.find(([n]) => n === 'sockets.json')!;
    const [, h] = fixtures.find(([n]) => n === 'resources-host.json')!;
    const snap: Snapshot = { timeMs: 1795000000000, processes: p.steps[1]!.snapshot.processes, sockets: s.steps[1]!.snapshot.sockets, host: h.steps[0]!.snapshot.host };
    const events = inventory(snap, p.stamp);
    expect(events.map((e) => e.event?.action)).toEqual([
      'host-inventory', ...Array(5).fill('process-inventory'), 'port-inventory', 'port-inventory', 'port-inventory',
    ]);
    expect(events.every((e) => e.event?.kind === 'state')).toBe(true);
    expect(events[0]!.host).toMatchObject({ os_name: 'Debian GNU/Linux', ip: ['192.0.2.10'], mac: ['02:00:00:00:00:01'] });
  });
});
