// The detection engine: compiled Sigma rules indexed by logsource, evaluated over event batches into alerts.
import type { Alert, Event } from '../core/proto.js';
import { buildAlert, isoTime } from './alert.js';
import { CorrelationEngine, DEFAULT_CORRELATION_OPTIONS, type CorrelationFire, type CorrelationOptions, type CorrelationSnapshot, type CorrelationStats } from './correlation.js';
import { compileDetection, type CompiledDetection } from './sigma/compile.js';
import { RuleSelector, makePlan, type Candidates, type Entry } from './plan.js';
import { eventLogsource, logsourceMatches, type EventLogsource } from './sigma/logsource.js';
import { EvalContext, FieldSlots } from './sigma/match.js';
import { LEVELS, type CorrelationRule, type DetectionRule, type Level, type LoadProblem, type SigmaRule } from './sigma/types.js';
import { ValueError } from './sigma/values.js';

export interface DetectorOptions {
  /** Values of `expand` placeholders (%Administrators%, ...); a rule using one not given here is not loaded. */
  placeholders?: Readonly<Record<string, readonly string[]>>;
  /** Evaluate only the rules whose id hashes to `index` of `count` (plus what their correlations need). */
  shard?: { index: number; count: number };
  /** Time of events without a timestamp, and of tick(); Unix ms. */
  clock?: () => number;
  correlation?: Partial<CorrelationOptions>;
  /** Measure evaluation time per rule (costs a clock read per rule and event). */
  profile?: boolean;
  /** Alerts of one dedup key within this window count as repetitions in the score. */
  repeatWindowMs?: number;
  /** Most dedup keys remembered for repetition scoring. */
  maxRepeatKeys?: number;
  /**
   * Rules below this level raise no alerts and, unless a correlation uses them, are not evaluated.
   * Default 'low': the Sigma specification says informational rules are for enrichment, not alerting.
   */
  minAlertLevel?: Level;
  /** Every rule alerts on its own, even one that only feeds a correlation or is below minAlertLevel (for hunting and rule tests). */
  alertAll?: boolean;
  /**
   * Skip rules whose necessary values (an exact value, a file name, a trigram of a substring) the event
   * lacks. On by default; off only to check that it changes no result.
   */
  prefilter?: boolean;
}

export interface RuleStats {
  hits: number;
  evaluations: number;
  /** Total evaluation time, when profiling. */
  timeMs?: number;
}

export interface DetectorStats {
  events: number;
  evaluations: number;
  alerts: number;
  /** Events whose evaluation threw (counted, never fatal). */
  errors: number;
  /** Rule matches dropped by a Sigma filter. */
  filtered: number;
  rules: Record<string, RuleStats>;
  correlation: CorrelationStats;
}

export interface DetectorSnapshot {
  version: 1;
  correlation: CorrelationSnapshot;
}

/** 32-bit FNV-1a: a stable hash of a rule id, the same in every process. */
export function ruleHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function ruleShard(id: string, count: number): number {
  return ruleHash(id.toLowerCase()) % count;
}

interface Repeat { n: number; lastMs: number }

export class Detector {
  /** Rules that could not be compiled with these options (e.g. a placeholder without values). */
  readonly problems: LoadProblem[] = [];
  readonly rules: readonly SigmaRule[];
  private readonly compiled: Entry[] = [];
  private readonly alerting = new Set<string>();
  private readonly owned = new Set<string>();
  /** Ids of rules of this shard left out: below minAlertLevel, or silenced, and used by no correlation of the shard. */
  readonly quiet: string[] = [];
  private readonly engine: CorrelationEngine;
  private readonly slots = new FieldSlots();
  private readonly ctx: EvalContext;
  private readonly byLogsource = new Map<string, Candidates>();
  private readonly selector = new RuleSelector();
  private readonly hits: Uint32Array;
  private readonly evals: Float64Array;
  private readonly timeMs: Float64Array;
  private readonly clock: () => number;
  private readonly repeats = new Map<string, Repeat>();
  private counters = { events: 0, evaluations: 0, alerts: 0, errors: 0, filtered: 0 };
  /** Clock time of the last batch, and event time (the correlation watermark) after it: tick() extrapolates from them. */
  private arrivalMs = NaN;
  private arrivalWatermark = -Infinity;

  constructor(allRules: readonly SigmaRule[], private readonly opts: DetectorOptions = {}) {
    this.clock = opts.clock ?? Date.now;
    // Sigma filters are not rules of their own: they are attached to the rules they name, below.
    const filters = allRules.filter((r): r is DetectionRule => r.kind === 'detection' && r.filter !== undefined);
    const rules = filters.length ? allRules.filter((r) => !(r.kind === 'detection' && r.filter !== undefined)) : allRules;
    this.rules = rules;
    const byRef = new Map<string, SigmaRule>();
    for (const r of rules) { byRef.set(r.id, r); if (r.name) byRef.set(r.name, r); }
    const resolve = (ref: string): SigmaRule | undefined => byRef.get(ref.toLowerCase()) ?? byRef.get(ref);

    // Rules fed to correlations alert on their own only if a correlation asks for it (`generate`).
    const referenced = new Map<string, boolean>();
    for (const r of rules) {
      if (r.kind !== 'correlation') continue;
      for (const ref of r.rules) {
        const t = resolve(ref);
        if (t) referenced.set(t.id, (referenced.get(t.id) ?? false) || r.generate);
      }
    }
    const shard = opts.shard;
    if (shard && !(Number.isInteger(shard.count) && shard.count > 0 && Number.isInteger(shard.index) && shard.index >= 0 && shard.index < shard.count)) {
      throw new RangeError(`shard ${shard.index} of ${shard.count} is not a valid shard`);
    }
    const isOwned = (r: SigmaRule): boolean => !shard || ruleShard(r.id, shard.count) === shard.index;

    // What this shard evaluates: its own rules, and everything its correlations rest on.
    const needed = new Set<SigmaRule>();
    const need = (r: SigmaRule): void => {
      if (needed.has(r)) return;
      needed.add(r);
      if (r.kind === 'correlation') for (const ref of r.rules) { const t = resolve(ref); if (t) need(t); }
    };
    const minLevel = LEVELS.indexOf(opts.minAlertLevel ?? 'low');
    for (const r of rules) {
      if (!isOwned(r)) continue;
      this.owned.add(r.id);
      const loud = LEVELS.indexOf(r.level) >= minLevel;
      if (opts.alertAll || (loud && (referenced.get(r.id) ?? true))) this.alerting.add(r.id);
      // What alerts is evaluated with all it rests on; the rest only if a correlation needs it.
      if (this.alerting.has(r.id)) need(r);
    }
    for (const r of rules) if (this.owned.has(r.id) && !needed.has(r)) this.quiet.push(r.id);

    const matchOpts = { placeholders: opts.placeholders ?? {} };
    const failed = new Set<string>();
    for (const r of needed) {
      if (r.kind !== 'detection') continue;
      try {
        const c = compileDetection(r as DetectionRule, this.slots, matchOpts);
        this.compiled.push({ c, i: this.compiled.length, id: r.id, alerts: false, feeds: false });
      } catch (e) {
        if (!(e instanceof ValueError)) throw e;
        failed.add(r.id);
        this.problems.push({ file: r.source.file, line: r.source.line, message: `rule '${r.title}' not loaded: ${e.message}`, severity: 'error' });
      }
    }
    // A correlation whose rules did not compile cannot run.
    const correlations = [...needed].filter((r): r is CorrelationRule => r.kind === 'correlation');
    const dead = (r: SigmaRule): boolean => failed.has(r.id) || (r.kind === 'correlation' && r.rules.some((ref) => { const t = resolve(ref); return !t || dead(t); }));
    const live = correlations.filter((c) => {
      if (!dead(c)) return true;
      this.problems.push({ file: c.source.file, line: c.source.line, message: `correlation '${c.title}' not loaded: one of its rules did not load`, severity: 'error' });
      return false;
    });
    this.engine = new CorrelationEngine(live, resolve, { ...DEFAULT_CORRELATION_OPTIONS, ...opts.correlation });
    if (filters.length) this.attachFilters(filters, resolve, matchOpts);
    for (const e of this.compiled) {
      e.alerts = this.owned.has(e.id) && this.alerting.has(e.id);
      e.feeds = this.engine.consumes(e.id);
    }
    this.ctx = new EvalContext(this.slots);
    const n = this.compiled.length;
    this.hits = new Uint32Array(n);
    this.evals = new Float64Array(n);
    this.timeMs = new Float64Array(n);
  }

  /** Compiles each filter once and hangs it on the compiled rules it names; a filter naming no known rule is reported. */
  private attachFilters(filters: DetectionRule[], resolve: (ref: string) => SigmaRule | undefined, matchOpts: { placeholders: Readonly<Record<string, readonly string[]>> }): void {
    const byId = new Map(this.compiled.map((e) => [e.id, e]));
    for (const f of filters) {
      let c: CompiledDetection;
      try {
        c = compileDetection(f, this.slots, matchOpts);
      } catch (e) {
        if (!(e instanceof ValueError)) throw e;
        this.problems.push({ file: f.source.file, line: f.source.line, message: `filter '${f.title}' not loaded: ${e.message}`, severity: 'error' });
        continue;
      }
      for (const ref of f.filter ?? []) {
        const target = resolve(ref);
        if (!target) {
          this.problems.push({ file: f.source.file, line: f.source.line, message: `filter '${f.title}': no rule '${ref}'`, severity: 'warning' });
          continue;
        }
        const entry = byId.get(target.id);
        if (entry) (entry.filters ??= []).push(c);
      }
    }
  }

  /** Rule matches dropped by Sigma filters so far (stats().filtered without building the per-rule table). */
  get filteredCount(): number {
    return this.counters.filtered;
  }

  /** Sigma filters attached to at least one compiled rule. */
  get filterCount(): number {
    const attached = new Set<CompiledDetection>();
    for (const e of this.compiled) for (const f of e.filters ?? []) attached.add(f);
    return attached.size;
  }

  /** Number of detection rules compiled (including those only feeding correlations). */
  get size(): number {
    return this.compiled.length;
  }

  private candidates(ls: EventLogsource): Candidates {
    let c = this.byLogsource.get(ls.key);
    if (!c) {
      const all = this.compiled.filter((r) => logsourceMatches(r.c.rule.logsource, ls));
      const codes = new Set<string>();
      for (const r of all) if (r.c.codes) for (const code of r.c.codes) codes.add(code);
      c = { any: makePlan(all.filter((r) => !r.c.codes)), byCode: new Map() };
      for (const code of codes) c.byCode.set(code, makePlan(all.filter((r) => !r.c.codes || r.c.codes.has(code))));
      this.byLogsource.set(ls.key, c);
    }
    return c;
  }

  private filtered(filters: readonly CompiledDetection[], ls: EventLogsource, ctx: EvalContext): boolean {
    for (const f of filters) if (logsourceMatches(f.rule.logsource, ls) && f.match(ctx)) return true;
    return false;
  }

  private eventTime(e: Event): number {
    const t = e.timestamp ? Date.parse(e.timestamp) : NaN;
    return Number.isNaN(t) ? this.clock() : t;
  }

  private repetitions(key: string, timeMs: number, atLeast: number): number {
    const window = this.opts.repeatWindowMs ?? 3_600_000;
    let r = this.repeats.get(key);
    if (r && timeMs - r.lastMs > window) r = undefined;
    const n = (r?.n ?? 0) + 1;
    this.repeats.delete(key);
    this.repeats.set(key, { n, lastMs: Math.max(timeMs, r?.lastMs ?? timeMs) });
    if (this.repeats.size > (this.opts.maxRepeatKeys ?? 10_000)) this.repeats.delete(this.repeats.keys().next().value as string);
    return Math.max(n, atLeast);
  }

  private fireAlert(f: CorrelationFire, index: number, onAlert: (a: Alert, index: number) => void): void {
    if (!this.owned.has(f.rule.id) || !this.alerting.has(f.rule.id)) return;
    const a = buildAlert({
      rule: f.rule, event: f.event, eventIds: f.eventIds, firstSeen: isoTime(f.firstMs), lastSeen: isoTime(f.lastMs), group: f.group,
      repetitions: (key) => this.repetitions(key, f.lastMs, f.eventIds.length),
    });
    this.counters.alerts++;
    onAlert(a, index);
  }

  /**
   * Evaluates events in order, calling `onAlert` with each alert and the index of the event that
   * raised it (-1 for correlation windows closed by the passing of time).
   */
  evaluateEach(events: readonly Event[], onAlert: (alert: Alert, index: number) => void): void {
    const ctx = this.ctx;
    const profile = this.opts.profile === true;
    const fires: CorrelationFire[] = [];
    let lastTime = -Infinity;
    for (let i = 0; i < events.length; i++) {
      const e = events[i]!;
      this.counters.events++;
      try {
        ctx.reset(e);
        const ls = eventLogsource(e);
        const cands = this.candidates(ls);
        const code = e.event?.code;
        const byCode = cands.byCode;
        const plan = (code && byCode.size && (byCode.get(code) ?? byCode.get(code.toLowerCase()))) || cands.any;
        const list = plan.slots.length && this.opts.prefilter !== false ? this.selector.select(plan, ctx, this.compiled.length) : plan.rules;
        let timeMs = NaN;
        let seen = '';
        this.counters.evaluations += list.length;
        for (let k = 0; k < list.length; k++) {
          const r = list[k]!;
          const ri = r.i;
          this.evals[ri]!++;
          let hit: boolean;
          if (profile) {
            const t0 = performance.now();
            hit = r.c.match(ctx);
            this.timeMs[ri]! += performance.now() - t0;
          } else hit = r.c.match(ctx);
          if (!hit) continue;
          if (r.filters && this.filtered(r.filters, ls, ctx)) { this.counters.filtered++; continue; }
          this.hits[ri]!++;
          if (Number.isNaN(timeMs)) {
            const parsed = e.timestamp ? Date.parse(e.timestamp) : NaN;
            timeMs = Number.isNaN(parsed) ? this.clock() : parsed;
            // The event's own time string keeps the source's precision.
            seen = Number.isNaN(parsed) ? isoTime(timeMs) : e.timestamp!;
          }
          const t = timeMs;
          if (r.alerts) {
            const a = buildAlert({ rule: r.c.rule, event: e, eventIds: [e.id ?? ''], firstSeen: seen, lastSeen: seen, repetitions: (key) => this.repetitions(key, t, 1) });
            this.counters.alerts++;
            onAlert(a, i);
          }
          if (r.feeds) {
            this.engine.onMatch({ ruleId: r.id, event: e, timeMs: t, firstMs: t, eventIds: [e.id ?? ''] }, fires);
            for (const f of fires) this.fireAlert(f, i, onAlert);
            fires.length = 0;
          }
        }
        if (!Number.isNaN(timeMs)) lastTime = Math.max(lastTime, timeMs);
      } catch {
        this.counters.errors++;
      }
    }
    // Event time moves on with the batch (never with the clock): close the windows it has passed.
    if (events.length) {
      const last = events[events.length - 1]!.timestamp;
      const t = last ? Date.parse(last) : NaN;
      const to = Number.isNaN(t) ? lastTime : Math.max(t, lastTime);
      if (Number.isFinite(to)) this.engine.advance(to, fires);
      for (const f of fires) this.fireAlert(f, -1, onAlert);
      this.arrivalMs = this.clock();
      this.arrivalWatermark = this.engine.watermark;
    }
  }

  /** Evaluates a batch of events and returns the alerts they raise. */
  evaluate(events: readonly Event[]): Alert[] {
    const out: Alert[] = [];
    this.evaluateEach(events, (a) => { out.push(a); });
    return out;
  }

  /**
   * For an idle stream: event time moves on by the wall-clock time passed since the last batch (not to
   * `nowMs` itself, so a source whose events lag behind the clock loses no window), closing the
   * windows it passes (e.g. "fewer than 3 in 10m"). Call it every few seconds.
   */
  tick(nowMs = this.clock()): Alert[] {
    const out: Alert[] = [];
    if (Number.isNaN(this.arrivalMs) || !Number.isFinite(this.arrivalWatermark)) return out;
    const target = this.arrivalWatermark + Math.max(0, nowMs - this.arrivalMs);
    if (target <= this.engine.watermark) return out;
    const fires: CorrelationFire[] = [];
    this.engine.advance(target, fires);
    for (const f of fires) this.fireAlert(f, -1, (a) => { out.push(a); });
    return out;
  }

  /** At the end of a finite input (a hunt, a rule test): decides every open window and forgets it. */
  flush(): Alert[] {
    const fires: CorrelationFire[] = [];
    const out: Alert[] = [];
    this.engine.flush(fires);
    for (const f of fires) this.fireAlert(f, -1, (a) => { out.push(a); });
    return out;
  }

  stats(): DetectorStats {
    const rules: Record<string, RuleStats> = {};
    for (const { id, i } of this.compiled) {
      const s: RuleStats = { hits: this.hits[i]!, evaluations: this.evals[i]! };
      if (this.opts.profile) s.timeMs = this.timeMs[i]!;
      rules[id] = s;
    }
    return { ...this.counters, rules, correlation: this.engine.stats() };
  }

  /** Correlation state as plain JSON, for the stage to checkpoint. */
  snapshot(): DetectorSnapshot {
    return { version: 1, correlation: this.engine.snapshot() };
  }

  restore(snap: DetectorSnapshot): void {
    if (snap?.version !== 1) throw new Error(`unknown detector snapshot version ${String((snap as { version?: unknown })?.version)}`);
    this.engine.restore(snap.correlation);
  }
}

