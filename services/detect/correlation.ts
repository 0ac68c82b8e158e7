// Sigma correlation rules evaluated on the stream in event time, with bounded, checkpointable state.
import type { Event } from '../core/proto.js';
import { readField, resolveField, type FieldRef } from './sigma/fieldmap.js';
import type { CorrelationRule, CountCondition, Logsource, SigmaRule } from './sigma/types.js';

/** A rule matched: one event for a detection rule, or a fired correlation feeding a chained one. */
export interface RuleMatch {
  ruleId: string;
  /** The event that completed the match; group-by fields are read from it. */
  event: Event;
  timeMs: number;
  firstMs: number;
  eventIds: string[];
}

/** A correlation that fired. */
export interface CorrelationFire {
  rule: CorrelationRule;
  event: Event;
  firstMs: number;
  lastMs: number;
  eventIds: string[];
  /** group-by field -> value (as seen in the event that completed the correlation). */
  group: Record<string, string>;
  /** Events counted (event_count), distinct values (value_count), rules seen (temporal), or the aggregate. */
  value: number;
}

export interface CorrelationOptions {
  /** Most groups kept per correlation rule; the least recently updated group is dropped beyond it. */
  maxGroups: number;
  /** Most event ids kept per group (and linked from an alert); the oldest are dropped beyond it. */
  maxEventIds: number;
  /** Most entries (events or distinct values) kept per group. */
  maxEntriesPerGroup: number;
}

export const DEFAULT_CORRELATION_OPTIONS: CorrelationOptions = { maxGroups: 10_000, maxEventIds: 100, maxEntriesPerGroup: 10_000 };

export interface CorrelationStats {
  groups: number;
  evictedGroups: number;
  lateMatches: number;
}

// ---------------------------------------------------------------- per-group state (plain JSON)

/** One match in a window: its time and the events behind it (one, or a fired correlation's). */
interface Entry { t: number; ids: string[] }
interface CountState { kind: 'count'; entries: Entry[]; firstMs: number; lastMs: number }
interface ValueState { kind: 'value'; values: Record<string, number>; entries: Entry[]; firstMs: number; lastMs: number }
interface SumState { kind: 'sum'; entries: (Entry & { v: number })[]; firstMs: number; lastMs: number }
interface Step { start: number; first: number; ids: string[] }
interface TemporalState { kind: 'temporal'; last: (Step | null)[]; firstMs: number; lastMs: number }
type GroupState = CountState | ValueState | SumState | TemporalState;

interface Group {
  values: Record<string, string>;
  state: GroupState;
}

/** A correlation rule with its references resolved, ready to run. */
interface Runner {
  rule: CorrelationRule;
  /** Referenced rule id -> its positions in `rules` (several for a rule written twice). */
  steps: Map<string, number[]>;
  /** Referenced rule id -> per group-by field, its readers (one per leaf logsource resolution). */
  groupRefs: Map<string, FieldRef[][]>;
  /** Referenced rule id -> readers of the value fields (value_count: all together; value_sum, value_avg: the first). */
  valueRefs: Map<string, FieldRef[][]>;
  groups: Map<string, Group>;
  /** Fires on arrival (only lower bounds: true stays true) or when its window closes (an upper bound). */
  onArrival: boolean;
}

export function checkCount(c: CountCondition | undefined, n: number): boolean {
  if (!c) return true;
  if (c.gt !== undefined && !(n > c.gt)) return false;
  if (c.gte !== undefined && !(n >= c.gte)) return false;
  if (c.lt !== undefined && !(n < c.lt)) return false;
  if (c.lte !== undefined && !(n <= c.lte)) return false;
  if (c.eq !== undefined && n !== c.eq) return false;
  if (c.neq !== undefined && n === c.neq) return false;
  return true;
}

/** Whether a condition can turn false again as more events come (lt, lte, eq, neq, ranges). */
function hasUpperBound(c: CountCondition | undefined): boolean {
  return !!c && (c.lt !== undefined || c.lte !== undefined || c.eq !== undefined || c.neq !== undefined);
}

/** The logsources of the detection rules a rule rests on (itself, or the leaves of a correlation chain). */
function leafLogsources(rule: SigmaRule, resolve: (ref: string) => SigmaRule | undefined, out: Logsource[] = [], seen = new Set<string>()): Logsource[] {
  if (seen.has(rule.id)) return out;
  seen.add(rule.id);
  if (rule.kind === 'detection') out.push(rule.logsource);
  else for (const r of rule.rules) { const t = resolve(r); if (t) leafLogsources(t, resolve, out, seen); }
  return out;
}

/** One reader for a field over several logsources: every resolution's paths, in order, without repeats. */
function fieldOver(name: string, logsources: Logsource[]): FieldRef[] {
  const seen = new Set<string>();
  const refs: FieldRef[] = [];
  for (const ls of logsources.length ? logsources : [{}]) {
    const ref = resolveField(name, ls);
    if (!seen.has(ref.key)) { seen.add(ref.key); refs.push(ref); }
  }
  return refs;
}

function readText(refs: FieldRef[], e: Event): string {
  for (const ref of refs) {
    const v = readField(ref, e);
    if (v === undefined) continue;
    return Array.isArray(v) ? v.map(String).join(',') : String(v);
  }
  return '';
}

export class CorrelationEngine {
  private readonly runners: Runner[] = [];
  /** Referenced rule id -> the runners that consume its matches. */
  private readonly consumers = new Map<string, Runner[]>();
  private watermarkMs = -Infinity;
  private evicted = 0;
  private late = 0;

  constructor(correlations: readonly CorrelationRule[], resolve: (ref: string) => SigmaRule | undefined, private readonly opts: CorrelationOptions = DEFAULT_CORRELATION_OPTIONS) {
    for (const rule of correlations) {
      const steps = new Map<string, number[]>();
      const groupRefs = new Map<string, FieldRef[][]>();
      const valueRefs = new Map<string, FieldRef[][]>();
      rule.rules.forEach((ref, i) => {
        const target = resolve(ref)!;
        steps.set(target.id, [...(steps.get(target.id) ?? []), i]);
        const ls = leafLogsources(target, resolve);
        const fields = rule.groupBy.map((g) => rule.aliases[g]?.[ref] ?? rule.aliases[g]?.[target.name ?? ''] ?? rule.aliases[g]?.[target.id] ?? g);
        groupRefs.set(target.id, fields.map((f) => fieldOver(f, ls)));
        // Several value_count fields (written as a list) count distinct combinations.
        if (rule.field) valueRefs.set(target.id, rule.field.split(',').map((f) => fieldOver(f.trim(), ls)));
      });
      const runner: Runner = { rule, steps, groupRefs, valueRefs, groups: new Map(), onArrival: rule.type.startsWith('temporal') || !hasUpperBound(rule.condition) };
      this.runners.push(runner);
      for (const id of steps.keys()) this.consumers.set(id, [...(this.consumers.get(id) ?? []), runner]);
    }
  }

  /** Whether any correlation consumes the matches of this rule. */
  consumes(ruleId: string): boolean {
    return this.consumers.has(ruleId);
  }

  get watermark(): number {
    return this.watermarkMs;
  }

  stats(): CorrelationStats {
    let groups = 0;
    for (const r of this.runners) groups += r.groups.size;
    return { groups, evictedGroups: this.evicted, lateMatches: this.late };
  }

  /** Feeds a rule match; fired correlations are pushed to `out` and fed on to correlations of correlations. */
  onMatch(m: RuleMatch, out: CorrelationFire[]): void {
    const runners = this.consumers.get(m.ruleId);
    if (!runners) return;
    if (m.timeMs > this.watermarkMs) this.watermarkMs = m.timeMs;
    for (const r of runners) {
      const fire = this.apply(r, m);
      if (fire) {
        out.push(fire);
        this.onMatch({ ruleId: r.rule.id, event: fire.event, timeMs: fire.lastMs, firstMs: fire.firstMs, eventIds: fire.eventIds }, out);
      }
    }
  }

  /**
   * Moves event time forward: groups whose window has passed are dropped, and correlations with an
   * upper bound (lt, lte, eq, neq, ranges) are decided for them.
   */
  advance(timeMs: number, out: CorrelationFire[]): void {
    if (timeMs > this.watermarkMs) this.watermarkMs = timeMs;
    for (const r of this.runners) {
      const horizon = this.watermarkMs - r.rule.timespanMs;
      for (const [key, g] of r.groups) {
        // Groups are kept in update order, so the first one still inside its window ends the sweep.
        if (g.state.lastMs >= horizon && (r.onArrival || g.state.firstMs >= horizon)) break;
        r.groups.delete(key);
        if (!r.onArrival) {
          const fire = this.closeWindow(r, g);
          if (fire) {
            out.push(fire);
            this.onMatch({ ruleId: r.rule.id, event: fire.event, timeMs: fire.lastMs, firstMs: fire.firstMs, eventIds: fire.eventIds }, out);
          }
        }
      }
    }
  }

  /** Decides every open window (upper-bound correlations) and drops all groups: the end of a finite input. */
  flush(out: CorrelationFire[]): void {
    for (const r of this.runners) {
      for (const g of r.groups.values()) {
        if (r.onArrival) continue;
        const fire = this.closeWindow(r, g);
        if (fire) {
          out.push(fire);
          this.onMatch({ ruleId: r.rule.id, event: fire.event, timeMs: fire.lastMs, firstMs: fire.firstMs, eventIds: fire.eventIds }, out);
        }
      }
      r.groups.clear();
    }
  }

  private groupOf(r: Runner, m: RuleMatch): [string, Group] {
    const refs = r.groupRefs.get(m.ruleId)!;
    const values: Record<string, string> = {};
    let key = '';
    for (let i = 0; i < refs.length; i++) {
      const v = readText(refs[i]!, m.event);
      values[r.rule.groupBy[i]!] = v;
      key += (i ? '\u0000' : '') + v.toLowerCase();
    }
    let g = r.groups.get(key);
    if (g) r.groups.delete(key);
    else {
      g = { values, state: this.newState(r) };
      if (r.groups.size >= this.opts.maxGroups) {
        const oldest = r.groups.keys().next().value as string;
        r.groups.delete(oldest);
        this.evicted++;
      }
    }
    g.values = values;
    // Re-inserted at the end: the map stays in update order for advance() and eviction.
    r.groups.set(key, g);
    return [key, g];
  }

  private newState(r: Runner): GroupState {
    switch (r.rule.type) {
      case 'event_count': return { kind: 'count', entries: [], firstMs: Infinity, lastMs: -Infinity };
      case 'value_count': return { kind: 'value', values: {}, entries: [], firstMs: Infinity, lastMs: -Infinity };
      case 'value_sum': case 'value_avg': return { kind: 'sum', entries: [], firstMs: Infinity, lastMs: -Infinity };
      default: return { kind: 'temporal', last: r.rule.rules.map(() => null), firstMs: Infinity, lastMs: -Infinity };
    }
  }

  private pushIds(ids: string[], add: readonly string[]): void {
    for (const id of add) if (!ids.includes(id)) ids.push(id);
    if (ids.length > this.opts.maxEventIds) ids.splice(0, ids.length - this.opts.maxEventIds);
  }

  private apply(r: Runner, m: RuleMatch): CorrelationFire | undefined {
    const [key, g] = this.groupOf(r, m);
    const span = r.rule.timespanMs;
    let closed: CorrelationFire | undefined;
    if (!r.onArrival && m.timeMs - g.state.firstMs > span) {
      // The window of an upper-bound correlation runs from its first event; this event opens the next one.
      closed = this.closeWindow(r, g);
      g.state = this.newState(r);
    }
    const s = g.state;
    if (m.timeMs < s.lastMs - span) { this.late++; return closed; }
    s.lastMs = Math.max(s.lastMs, m.timeMs);
    s.firstMs = Math.min(s.firstMs, m.firstMs);
    const horizon = s.lastMs - span;
    const cap = this.opts.maxEntriesPerGroup;
    let value: number;
    let ids: string[];
    switch (s.kind) {
      case 'count': {
        s.entries.push({ t: m.timeMs, ids: m.eventIds });
        if (r.onArrival) prune(s.entries, horizon);
        if (s.entries.length > cap) s.entries.splice(0, s.entries.length - cap);
        value = s.entries.length;
        ids = idsOf(s.entries);
        break;
      }
      case 'value': {
        const parts = r.valueRefs.get(m.ruleId)!.map((refs) => readText(refs, m.event));
        const v = parts.every((p) => p === '') ? '' : parts.join('\u0000');
        if (v !== '') s.values[v.toLowerCase()] = m.timeMs;
        s.entries.push({ t: m.timeMs, ids: m.eventIds });
        if (r.onArrival) {
          prune(s.entries, horizon);
          for (const [k, t] of Object.entries(s.values)) if (t < horizon) delete s.values[k];
        }
        if (s.entries.length > cap) s.entries.splice(0, s.entries.length - cap);
        const keys = Object.keys(s.values);
        if (keys.length > cap) for (const k of keys.slice(0, keys.length - cap)) delete s.values[k];
        value = Object.keys(s.values).length;
        ids = idsOf(s.entries);
        break;
      }
      case 'sum': {
        const n = Number(readText(r.valueRefs.get(m.ruleId)![0]!, m.event));
        s.entries.push({ t: m.timeMs, ids: m.eventIds, v: Number.isFinite(n) ? n : 0 });
        if (r.onArrival) prune(s.entries, horizon);
        if (s.entries.length > cap) s.entries.splice(0, s.entries.length - cap);
        const sum = s.entries.reduce((a, e) => a + e.v, 0);
        value = r.rule.type === 'value_avg' ? sum / s.entries.length : sum;
        ids = idsOf(s.entries);
        break;
      }
      case 'temporal': {
        const fired = this.applyTemporal(r, s, m);
        if (!fired) return undefined;
        value = fired.value;
        ids = fired.ids;
        break;
      }
    }
    if (!r.onArrival) return closed;
    if (s.kind !== 'temporal' && !checkCount(r.rule.condition, value)) return undefined;
    // A fired group starts over, so the same evidence raises one alert, not one per further event.
    r.groups.delete(key);
    const firstMs = s.kind === 'temporal' ? s.firstMs : Math.min(s.entries[0]?.t ?? m.firstMs, m.firstMs);
    return { rule: r.rule, event: m.event, firstMs, lastMs: m.timeMs, eventIds: this.cappedIds(ids), group: g.values, value };
  }

  private cappedIds(ids: string[]): string[] {
    const out = ids.filter(Boolean);
    return out.length > this.opts.maxEventIds ? out.slice(out.length - this.opts.maxEventIds) : out;
  }

  private applyTemporal(r: Runner, s: TemporalState, m: RuleMatch): { value: number; ids: string[] } | undefined {
    const span = r.rule.timespanMs;
    const positions = r.steps.get(m.ruleId)!;
    const ordered = r.rule.type === 'temporal_ordered';
    // Later positions first, so one event never fills two consecutive steps.
    for (let pi = positions.length - 1; pi >= 0; pi--) {
      const k = positions[pi]!;
      if (!ordered) {
        s.last[k] = { start: m.timeMs, first: m.firstMs, ids: m.eventIds.slice(-this.opts.maxEventIds) };
        continue;
      }
      if (k === 0) {
        s.last[0] = { start: m.timeMs, first: m.firstMs, ids: m.eventIds.slice(-this.opts.maxEventIds) };
        continue;
      }
      const prev = s.last[k - 1];
      // The chain through step k keeps the latest possible start, so it stays inside the window longest.
      if (prev && prev.start >= m.timeMs - span && prev.start <= m.timeMs) {
        const ids = prev.ids.slice();
        this.pushIds(ids, m.eventIds);
        const cur = s.last[k];
        if (!cur || cur.start <= prev.start) s.last[k] = { start: prev.start, first: Math.min(prev.first, m.firstMs), ids };
      }
    }
    const horizon = m.timeMs - span;
    if (ordered) {
      const lastStep = s.last[s.last.length - 1];
      if (lastStep && lastStep.start >= horizon) {
        s.firstMs = lastStep.first;
        return { value: s.last.length, ids: lastStep.ids };
      }
      return undefined;
    }
    const present = s.last.filter((x): x is Step => !!x && x.start >= horizon);
    const distinct = new Set(r.rule.rules.filter((_, i) => s.last[i] && s.last[i]!.start >= horizon)).size;
    const need = r.rule.condition ? checkCount(r.rule.condition, distinct) : present.length === s.last.length;
    if (!need) return undefined;
    const ids: string[] = [];
    for (const st of [...present].sort((a, b) => a.start - b.start)) this.pushIds(ids, st.ids);
    s.firstMs = Math.min(...present.map((p) => p.first));
    return { value: distinct, ids };
  }

  /** Decides a correlation with an upper bound (fewer than 3, exactly 1, 101 to 200) for a group whose window has closed. */
  private closeWindow(r: Runner, g: Group): CorrelationFire | undefined {
    const s = g.state;
    let value: number;
    if (s.kind === 'count') value = s.entries.length;
    else if (s.kind === 'value') value = Object.keys(s.values).length;
    else if (s.kind === 'sum') { const sum = s.entries.reduce((a, e) => a + e.v, 0); value = r.rule.type === 'value_avg' ? sum / Math.max(1, s.entries.length) : sum; }
    else return undefined;
    if (!checkCount(r.rule.condition, value)) return undefined;
    const ids = idsOf(s.entries);
    return { rule: r.rule, event: { id: ids.at(-1) ?? '' }, firstMs: s.firstMs, lastMs: s.lastMs, eventIds: this.cappedIds(ids), group: g.values, value };
  }

  /** The state as plain JSON, for the stage to checkpoint. */
  snapshot(): CorrelationSnapshot {
    const correlations: CorrelationSnapshot['correlations'] = {};
    for (const r of this.runners) {
      if (r.groups.size === 0) continue;
      correlations[r.rule.id] = { type: r.rule.type, groups: [...r.groups].map(([key, g]) => [key, g.values, g.state]) };
    }
    return { version: 1, watermarkMs: Number.isFinite(this.watermarkMs) ? this.watermarkMs : null, correlations };
  }

  /** Restores a snapshot; state of correlations that no longer exist (or changed type) is left out. */
  restore(snap: CorrelationSnapshot): void {
    if (!snap || snap.version !== 1) throw new Error(`unknown correlation snapshot version ${String((snap as { version?: unknown })?.version)}`);
    this.watermarkMs = snap.watermarkMs ?? -Infinity;
    for (const r of this.runners) {
      r.groups.clear();
      const saved = snap.correlations[r.rule.id];
      if (!saved || saved.type !== r.rule.type) continue;
      for (const [key, values, state] of saved.groups.slice(-this.opts.maxGroups)) {
        r.groups.set(key, { values, state: fromJson(state) });
      }
    }
  }
}

export interface CorrelationSnapshot {
  version: 1;
  watermarkMs: number | null;
  correlations: Record<string, { type: string; groups: [string, Record<string, string>, unknown][] }>;
}

/** JSON turns ±Infinity into null; the state keeps its meaning either way. */
function fromJson(state: unknown): GroupState {
  const s = state as GroupState & { firstMs: number | null; lastMs: number | null };
  s.firstMs = s.firstMs ?? Infinity;
  s.lastMs = s.lastMs ?? -Infinity;
  return s;
}

function prune(entries: Entry[], horizon: number): void {
  let i = 0;
  while (i < entries.length && entries[i]!.t < horizon) i++;
  if (i > 0) entries.splice(0, i);
}

function idsOf(entries: Entry[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const e of entries) for (const id of e.ids) if (!seen.has(id)) { seen.add(id); out.push(id); }
  return out;
}
