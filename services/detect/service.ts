// The detect service: enriched batches through the Sigma engine, alerts to alerts.<level>, hot rule reload.
import { unwatchFile, watchFile, type Stats } from 'node:fs';
import { Kvm, type KV } from '@nats-io/kv';
import { jetstream } from '@nats-io/jetstream';
import { Counter, Gauge } from 'prom-client';
import { ConfigError, errorMessage } from '../core/errors.js';
import { registry } from '../core/metrics.js';
import { Alert, EventBatch } from '../core/proto.js';
import { decoder, type Output, type Stage } from '../core/runner.js';
import { startStages, type RunningService, type ServiceContext } from '../core/service.js';
import { KV_BUCKETS, SEVERITIES, detectDurable, subjects, type Severity } from '../core/topology.js';
import { Detector, type DetectorSnapshot } from './detector.js';
import { FilterStore, filterLabel } from './filter-store.js';
import { SavedFilterSet } from './fp-filter.js';
import { applyPolicy, loadedRuleDirs, policyFile, readPolicy } from './policy.js';
import { RuleDirectory } from './rules-dir.js';
import { formatProblem } from './sigma/types.js';

const rulesLoaded = new Gauge({ name: 'minisoc_detect_rules_loaded', help: 'Rules the detect service evaluates', registers: [registry] });
const ruleProblems = new Gauge({ name: 'minisoc_detect_rule_problems', help: 'Problems found when the rules were last loaded (errors and warnings)', registers: [registry] });
const filtersLoaded = new Gauge({ name: 'minisoc_detect_filters_loaded', help: 'Sigma filters attached to the rules this instance evaluates', registers: [registry] });
const matchesFiltered = new Counter({ name: 'minisoc_detect_filtered_total', help: 'Rule matches dropped by a Sigma filter', registers: [registry] });
const alertsRaised = new Counter({ name: 'minisoc_detect_alerts_total', help: 'Alerts raised, by level', labelNames: ['level'] as const, registers: [registry] });

/** "i/N": this instance evaluates shard i of N (rules whose id hashes to i). */
export function parseShard(value: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(value);
  if (!m || Number(m[1]) >= Number(m[2]) || Number(m[2]) < 1) throw new ConfigError(`DETECT_SHARD=${JSON.stringify(value)}: expected i/N with 0 <= i < N, e.g. 0/1`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

function severity(level: string | null | undefined): Severity {
  return (SEVERITIES as readonly string[]).includes(level ?? '') ? (level as Severity) : 'medium';
}

export function alertOutputs(alerts: Alert[]): Output[] {
  return alerts.map((a) => {
    alertsRaised.inc({ level: severity(a.level) });
    return { subject: subjects.alert(severity(a.level)), data: Alert.encode(a).finish(), key: a.id! };
  });
}

/** Quiet time after a change before the rules are rebuilt, and the longest a rebuild waits while changes keep coming. */
const RELOAD_DEBOUNCE_MS = 300;
const RELOAD_MAX_WAIT_MS = 2000;
const SAVED_PREFIX = filterLabel('');

/**
 * Runs `work` once requests have stopped for `debounceMs` (at most `maxWaitMs` after the first of a burst), one run
 * at a time: requests during a run make one more run after it. A rebuild compiles every rule, so a burst of saved
 * filters or file writes costs one or two rebuilds, never one each, and never two at once.
 */
export function serialDebounce(work: () => void | Promise<void>, debounceMs: number, maxWaitMs: number): { request(): void; close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let firstAt = 0;
  let running = false;
  let again = false;
  let closed = false;
  const fire = async (): Promise<void> => {
    timer = undefined;
    firstAt = 0;
    if (running) { again = true; return; }
    running = true;
    try {
      await work();
    } finally {
      running = false;
    }
    if (again) { again = false; request(); }
  };
  const request = (): void => {
    if (closed) return;
    const now = Date.now();
    if (!firstAt) firstAt = now;
    clearTimeout(timer);
    timer = setTimeout(() => void fire(), Math.max(0, Math.min(debounceMs, firstAt + maxWaitMs - now)));
  };
  return { request, close: () => { closed = true; clearTimeout(timer); } };
}

export async function startDetect(ctx: ServiceContext): Promise<RunningService> {
  const { config, log } = ctx;
  const shard = parseShard(config.DETECT_SHARD);
  if (shard.count !== config.DETECT_SHARDS) {
    throw new ConfigError(`DETECT_SHARD=${config.DETECT_SHARD} but DETECT_SHARDS=${config.DETECT_SHARDS}: set DETECT_SHARDS=${shard.count} for every service, since it decides the durable consumer of each shard`);
  }
  // RULES_DIR, and RULES_FILTERS_DIR when it exists: where versions before the RULE_FILTERS bucket saved filters.
  const dir = new RuleDirectory(loadedRuleDirs(config));
  const policyPath = policyFile(config);
  let policy = readPolicy(policyPath);
  // Every change (a rule file, the policy, a saved filter) asks for one rebuild; a burst of them makes one.
  let detector!: Detector;
  const reloader = serialDebounce(() => {
    try {
      detector = build(detector);
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'rule reload failed; the previous rules stay');
    }
  }, RELOAD_DEBOUNCE_MS, RELOAD_MAX_WAIT_MS);
  // Filters analysts save from closed false positives, in the RULE_FILTERS bucket: all of them are read before the
  // first batch (a filter saved before a restart holds for it), then followed by a watch.
  const store = await FilterStore.open(ctx.nc, { replicas: config.STREAM_REPLICAS, log });
  const follower = await store.follow(() => reloader.request(), log);
  const savedFilters = new SavedFilterSet();
  const build = (prev?: Detector): Detector => {
    const saved = savedFilters.load([...follower.entries.values()].map((e) => ({ file: filterLabel(e.key), text: e.yaml })));
    const v = dir.load(saved);
    // The policy is read again on every reload; a policy that no longer parses keeps the previous one.
    try {
      policy = readPolicy(policyPath);
    } catch (err) {
      if (!prev) throw err;
      log.error({ err: errorMessage(err) }, 'rules policy unreadable; the previous policy stays');
    }
    for (const p of v.problems) {
      const level = p.severity === 'error' ? log.error.bind(log) : log.warn.bind(log);
      // A saved filter that does not load is skipped alone; its key says which one to fix or remove.
      if (p.file.startsWith(SAVED_PREFIX)) level({ bucket: KV_BUCKETS.RULE_FILTERS, key: p.file.slice(SAVED_PREFIX.length), rule: formatProblem(p) }, 'saved filter problem');
      else level({ rule: formatProblem(p) }, 'rule problem');
    }
    if (v.kept.length) log.warn({ files: v.kept }, 'kept the previous version of rule files that no longer load');
    const run = applyPolicy(v.rules, policy);
    const d = new Detector(run.rules, { shard, placeholders: policy.placeholders });
    for (const p of d.problems) log.warn({ rule: formatProblem(p) }, 'rule not compiled');
    if (prev) d.restore(prev.snapshot());
    rulesLoaded.set(d.size);
    filtersLoaded.set(d.filterCount);
    ruleProblems.set(v.problems.length + d.problems.length);
    log.info({ rules: d.size, excluded: run.excluded.length, savedFilters: follower.entries.size, problems: v.problems.length + d.problems.length, shard: `${shard.index}/${shard.count}` }, 'rules loaded');
    return d;
  };
  detector = build();

  // Correlation windows survive a restart through a checkpoint in a KV bucket.
  const kv: KV = await new Kvm(ctx.nc).create(KV_BUCKETS.DETECT_STATE, { history: 1 });
  const key = `shard-${shard.index}-of-${shard.count}`;
  const saved = await kv.get(key).catch(() => null);
  if (saved?.value?.length) {
    try {
      detector.restore(JSON.parse(saved.string()) as DetectorSnapshot);
      log.info('correlation state restored');
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'ignoring an unreadable correlation checkpoint');
    }
  }
  const checkpoint = () => kv.put(key, JSON.stringify(detector.snapshot())).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'checkpoint failed'));

  const stage: Stage<ReturnType<typeof EventBatch.decode>> = {
    // Each shard reads every batch through its own durable and evaluates its share of the rules.
    name: detectDurable(shard.index, shard.count), stream: 'ENRICHED',
    decode: decoder((b) => EventBatch.decode(b), 'EventBatch'),
    size: (b) => b.events.length,
    handle: (batch) => {
      const d = detector;
      const before = d.filteredCount;
      const alerts = d.evaluate(batch.events);
      matchesFiltered.inc(d.filteredCount - before);
      return alertOutputs(alerts);
    },
  };
  const stages = await startStages(ctx, [stage]);

  // Correlation windows that close without a new event (an absence, a count reached at the end) fire on the clock.
  // An alert whose publish fails is kept and tried again on the next tick.
  const js = jetstream(ctx.nc);
  let unsent: Output[] = [];
  let ticking = false;
  const tick = setInterval(() => {
    if (ticking) return;
    ticking = true;
    const outs = [...unsent, ...alertOutputs(detector.tick(Date.now()))];
    unsent = [];
    void Promise.all(outs.map((o) => js.publish(o.subject, o.data, { msgID: `detect:tick:${o.key}` }).catch((err: unknown) => {
      log.warn({ err: errorMessage(err) }, 'alert publish failed, will retry');
      unsent.push(o);
    }))).finally(() => { ticking = false; });
  }, 1000);
  const saver = setInterval(() => void checkpoint(), config.DETECT_CHECKPOINT_MS);
  const watcher = dir.watch(() => reloader.request(), 0);
  // The policy file usually sits in DATA_DIR beside busy stores, so it is polled rather than watched.
  const onPolicy = (cur: Stats, old: Stats) => { if (cur.mtimeMs !== old.mtimeMs) reloader.request(); };
  watchFile(policyPath, { interval: 2000 }, onPolicy);
  return {
    stop: async () => {
      watcher.close();
      unwatchFile(policyPath, onPolicy);
      await follower.stop();
      reloader.close();
      clearInterval(tick);
      clearInterval(saver);
      await stages.stop();
      await checkpoint();
    },
  };
}
