// Pure helpers behind `soc rules test` and `soc rules eval`: run rules' own test events, and match rules over events.
import type { Alert, Event } from '../core/proto.js';
import { Detector, type DetectorOptions } from './detector.js';
import { eventFromDoc } from './event-doc.js';
import type { RuleTest, SigmaRule, SourceRef } from './sigma/types.js';

/** Test events without a time get one, a second apart from this instant, so correlation windows behave. */
const TEST_EPOCH_MS = Date.UTC(2024, 0, 1);

export interface RuleTestResult {
  ruleId: string;
  title: string;
  source: SourceRef;
  test: string;
  /** Line of the test in the rule file. */
  line: number;
  passed: boolean;
  expected: boolean | number;
  /** Alerts the rule raised on the test's events. */
  alerts: number;
  message: string;
}

/** The rules a rule needs to run: itself and, for a correlation, every rule it refers to (transitively). */
export function withDependencies(rule: SigmaRule, all: readonly SigmaRule[]): SigmaRule[] {
  const byRef = new Map<string, SigmaRule>();
  for (const r of all) { byRef.set(r.id, r); if (r.name) byRef.set(r.name, r); }
  const out = new Set<SigmaRule>();
  const add = (r: SigmaRule): void => {
    if (out.has(r)) return;
    out.add(r);
    if (r.kind === 'correlation') for (const ref of r.rules) { const t = byRef.get(ref.toLowerCase()) ?? byRef.get(ref); if (t) add(t); }
  };
  add(rule);
  return [...out];
}

/** Turns ECS documents into events, giving each an id and a time when it has none. */
export function eventsFromDocs(docs: readonly Record<string, unknown>[], idPrefix = 'event'): Event[] {
  return docs.map((d, i) => {
    const e = eventFromDoc(d);
    if (!e.id) e.id = `${idPrefix}-${i}`;
    if (!e.timestamp) e.timestamp = new Date(TEST_EPOCH_MS + i * 1000).toISOString();
    return e;
  });
}

function runOne(rule: SigmaRule, test: RuleTest, all: readonly SigmaRule[], opts: DetectorOptions): RuleTestResult {
  const events = eventsFromDocs(test.events, `${rule.id}:${test.name}`);
  const detector = new Detector(withDependencies(rule, all), { ...opts, alertAll: true, shard: undefined, clock: () => TEST_EPOCH_MS });
  const base = { ruleId: rule.id, title: rule.title, source: rule.source, test: test.name, line: test.line, expected: test.expect };
  if (detector.problems.length) {
    return { ...base, passed: false, alerts: 0, message: detector.problems.map((p) => p.message).join('; ') };
  }
  const alerts = detector.evaluate(events);
  // The input ends: every window closes, so "fewer than" correlations are decided too.
  alerts.push(...detector.flush());
  const n = alerts.filter((a) => a.rule_id === rule.id).length;
  const passed = typeof test.expect === 'number' ? n === test.expect : test.expect ? n > 0 : n === 0;
  const want = typeof test.expect === 'number' ? `${test.expect} alert(s)` : test.expect ? 'a match' : 'no match';
  return { ...base, passed, alerts: n, message: passed ? 'ok' : `expected ${want}, got ${n} alert(s)` };
}

/** Runs every test of every rule through the real engine. Rules without tests give no results. */
export function runRuleTests(rules: readonly SigmaRule[], opts: DetectorOptions = {}): RuleTestResult[] {
  const out: RuleTestResult[] = [];
  for (const rule of rules) for (const test of rule.tests) out.push(runOne(rule, test, rules, opts));
  return out;
}

export interface HuntMatch {
  /** Index of the event that raised the alert in the input list (-1: a correlation window closed at the end). */
  index: number;
  eventId: string;
  ruleId: string;
  ruleTitle: string;
  level: string;
  alert: Alert;
}

/**
 * Evaluates rules over a list of events in order and returns every match with the index of its event.
 * Rules that only feed correlations report their matches too.
 */
export function huntEvents(rules: readonly SigmaRule[], events: readonly Event[], opts: DetectorOptions = {}): { matches: HuntMatch[]; detector: Detector } {
  const detector = new Detector(rules, { ...opts, alertAll: true, shard: undefined });
  const matches: HuntMatch[] = [];
  const push = (alert: Alert, index: number): void => {
    matches.push({ index, eventId: index >= 0 ? events[index]?.id ?? '' : '', ruleId: alert.rule_id ?? '', ruleTitle: alert.rule_title ?? '', level: alert.level ?? '', alert });
  };
  detector.evaluateEach(events, push);
  for (const a of detector.flush()) push(a, -1);
  return { matches, detector };
}
