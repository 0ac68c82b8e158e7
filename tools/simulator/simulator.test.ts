// The simulator without a pipeline: seeds, formats through the production parsers, and each scenario and
// the background through the production rule engine (the pipeline run is test/simulator.test.ts).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Event } from '../../services/core/proto.js';
import { eventFromDoc } from '../../services/detect/event-doc.js';
import { huntEvents } from '../../services/detect/hunt.js';
import { loadRules } from '../../services/detect/sigma/loader.js';
import { normalizeRaw, normalizeTelemetry } from '../../services/normalize/core.js';
import { Engine } from './engine.js';
import { SOURCES, type SimRecord } from './formats.js';
import { selectScenarios, startSimulation } from './index.js';
import { parseDurationMs } from '../../services/core/time.js';
import { RULES, SCENARIOS, payloads } from './scenarios.js';

const { rules } = loadRules([join(import.meta.dirname, '..', '..', 'rules')]);
const START = Date.UTC(2026, 0, 5, 9, 0, 0);

/** Records to normalized events, as the normalize stage would make them; fails on any reject. */
function normalize(records: SimRecord[]): Event[] {
  const out: Event[] = [];
  records.forEach((r, i) => {
    if (r.kind === 'heartbeat') return;
    const res = r.kind === 'log'
      ? normalizeRaw({ source_id: r.source, format: SOURCES[r.source] === 'ndjson' ? 'json' : SOURCES[r.source], received_ms: r.ts, records: [r.text] }, { idPrefix: `r${i}`, nowMs: r.ts })
      : normalizeTelemetry({ agent_id: r.agent.agentId, batch_seq: i, created_ms: r.ts, events: [r.event], host: { name: r.agent.name, os_family: 'linux' } }, { idPrefix: `r${i}`, nowMs: r.ts });
    expect(res.rejects.map((x) => `${x.error}: ${x.record.slice(0, 200)}`)).toEqual([]);
    out.push(...res.events);
  });
  return out;
}

function run(o: { seed: number; scenarios: typeof SCENARIOS; seconds: number; rate: number; agents?: boolean }): SimRecord[] {
  const e = new Engine({ seed: o.seed, rate: o.rate, startMs: START, scenarios: o.scenarios, firstAttackMs: 1000, attackEveryMs: 2000, loop: false, agents: o.agents ?? true, heartbeatIntervalS: 5 });
  const out: SimRecord[] = [];
  while (e.nowMs < START + o.seconds * 1000) out.push(...e.tick());
  return out;
}

const alerting = (events: Event[]) => huntEvents(rules, events).matches.filter((m) => m.level !== 'informational');

describe('soc simulate engine', () => {
  it('gives the same records for the same seed and start, other records for another seed', async () => {
    const dry = async (seed: number) => {
      let out = '';
      const sim = startSimulation({ rate: 50, durationMs: 20_000, seed, scenarios: selectScenarios(['sql-injection,ssh-bruteforce']), attackEveryMs: 3000, logs: { stdout: (s) => { out += s; } }, startMs: START, realtime: false });
      await sim.done;
      return out;
    };
    const a = await dry(7);
    expect(a.split('\n').length).toBeGreaterThan(1000);
    expect(await dry(7)).toBe(a);
    expect(await dry(8)).not.toBe(a);
  });

  it('keeps the rate: 200 events/s for 10 s are 2,000 background records', () => {
    const records = run({ seed: 1, scenarios: [], seconds: 10, rate: 200, agents: false });
    expect(records).toHaveLength(2000);
    expect(new Set(records.map((r) => r.kind === 'log' && r.source))).toEqual(new Set(Object.keys(SOURCES)));
  });

  it('parses every background record with the production parsers, and raises no high or critical alert in 10 minutes of traffic', () => {
    const records = run({ seed: 3, scenarios: [], seconds: 600, rate: 50 });
    const events = normalize(records);
    expect(events.length).toBeGreaterThan(29_000);
    const loud = alerting(events).filter((m) => m.level === 'high' || m.level === 'critical');
    expect(loud.map((m) => `${m.ruleTitle}: ${events[m.index]?.message ?? ''}`)).toEqual([]);
    const scenarioRules = new Set(SCENARIOS.flatMap((s) => s.rules));
    expect(alerting(events).filter((m) => scenarioRules.has(m.ruleId)).map((m) => m.ruleTitle)).toEqual([]);
  });

  for (const s of SCENARIOS.filter((x) => !x.agents)) {
    it(`scenario ${s.name} raises ${s.rules.length} rule(s) through the parsers and the rule engine`, () => {
      const events = normalize(run({ seed: 11, scenarios: [s], seconds: 60, rate: 0, agents: false }));
      expect(events.length).toBeGreaterThan(0);
      const fired = new Set(alerting(events).map((m) => m.ruleId));
      expect(s.rules.filter((id) => !fired.has(id))).toEqual([]);
    });
  }

  it('silences an agent: no heartbeat or telemetry of it for 60 s, heartbeats before and after', () => {
    const e = new Engine({ seed: 5, rate: 20, startMs: START, scenarios: selectScenarios(['agent-silent']), firstAttackMs: 10_000, attackEveryMs: 2000, loop: false, agents: true, heartbeatIntervalS: 5 });
    const records: SimRecord[] = [];
    while (e.nowMs < START + 90_000) records.push(...e.tick());
    const silence = e.started[0]!.silence!;
    expect(silence.fromMs).toBe(START + 10_000);
    const of = records.filter((r) => r.kind !== 'log' && r.agent.agentId === silence.agent.agentId);
    expect(of.filter((r) => r.ts >= silence.fromMs && r.ts < silence.untilMs)).toEqual([]);
    expect(of.some((r) => r.kind === 'heartbeat' && r.ts >= silence.untilMs)).toBe(true);
    expect(of.some((r) => r.kind === 'heartbeat' && r.ts < silence.fromMs)).toBe(true);
    expect(records.some((r) => r.kind === 'heartbeat' && r.agent.agentId !== silence.agent.agentId && r.ts >= silence.fromMs && r.ts < silence.untilMs)).toBe(true);
  });

  it('ships payload lists its rules detect, every line', () => {
    for (const [list, ruleId] of [['sqli', RULES.sqlInjection], ['xss', RULES.xss]] as const) {
      const items = payloads(list);
      expect(items.length).toBe(120);
      const events = items.map((p, i) => {
        const e = eventFromDoc({ 'url.original': `/item.php?id=${encodeURIComponent(p)}`, 'http.request.method': 'GET', 'source.ip': '198.51.100.7', '@timestamp': '2026-01-01T00:00:00Z' });
        e.id = `${i}`;
        return e;
      });
      const hit = new Set(huntEvents(rules.filter((r) => r.id === ruleId), events).matches.map((m) => m.index));
      expect(items.filter((_, i) => !hit.has(i))).toEqual([]);
    }
  });

  it('refuses bad options with a message naming them', () => {
    expect(() => selectScenarios(['sql-injection,nope'])).toThrow(/--scenario: unknown scenario "nope" \(known: sql-injection/);
    expect(() => parseDurationMs('--duration', '5 minutes')).toThrow(/--duration "5 minutes": expected a duration/);
    expect(parseDurationMs('--duration', '2m')).toBe(120_000);
    expect(() => startSimulation({ rate: 1, seed: 1, scenarios: selectScenarios(['agent-silent']), attackEveryMs: 1000, logs: { http: 'http://127.0.0.1:1' } }))
      .toThrow(/agent-silent needs simulated agents/);
  });
});
