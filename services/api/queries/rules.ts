// The rule pack as the detect service loads it (files and the saved filters of the RULE_FILTERS bucket), with each rule's alert and false-positive counts, the rules the policy leaves out, and what fails to load.
import { sql } from 'kysely';
import type { Db } from '../../core/db/index.js';
import { errorMessage } from '../../core/errors.js';
import { KV_BUCKETS } from '../../core/topology.js';
import { RuleDirectory, SavedFilterSet, applyPolicy, formatProblem, loadedRuleDirs, policyFile, readPolicy, techniquesFromTags, type SigmaRule } from '../../detect/index.js';
import { filterLabel, type FilterStore, type SavedFilterEntry } from '../../detect/filter-store.js';

export interface RuleItem {
  id: string;
  title: string;
  level: string;
  /** `detection`, `correlation`, or `filter` for a Sigma filter document (it raises nothing of its own). */
  kind: string;
  techniques: string[];
  /** Matches stored for the rule (alert counts summed, folded repeats included). */
  hits: number;
  /** Alerts the rule opened: in all, in the last 24 hours and in the last 7 days (by when they were stored). */
  alerts: number;
  alerts24h: number;
  alerts7d: number;
  /** Its alerts closed as false positives. */
  falsePositives: number;
  /** Loaded Sigma filters that name the rule. */
  filters: number;
  file: string;
  error?: string;
  status?: string;
  author?: string;
  logsource?: string;
  /** Why the rules policy leaves the rule out. */
  excluded?: string;
}

export interface RuleCounts {
  hits: number;
  alerts: number;
  alerts24h: number;
  alerts7d: number;
  falsePositives: number;
}

/** One RuleDirectory per set of directories: unchanged files are not parsed again on the next request. */
const dirs = new Map<string, RuleDirectory>();
/** Saved filters are parsed again only when their text changes. */
const savedSet = new SavedFilterSet();

type RuleConfig = { RULES_DIR: string; RULES_POLICY?: string; RULES_FILTERS_DIR?: string; DATA_DIR: string };

/**
 * The rules of RULES_DIR (and of the filters directory of earlier versions) with the filters saved in the bucket, as
 * the detect service reads them: last good version of each file kept, a saved filter that does not load skipped.
 */
export function loadedRuleSet(config: RuleConfig, saved: readonly SavedFilterEntry[]): ReturnType<RuleDirectory['load']> {
  const list = loadedRuleDirs(config);
  const key = list.join('\n');
  let dir = dirs.get(key);
  if (!dir) { dir = new RuleDirectory(list); dirs.set(key, dir); }
  return dir.load(savedSet.load(saved.map((e) => ({ file: filterLabel(e.key), text: e.yaml }))));
}

/** Alert counts of every rule in one grouped pass over the alerts table. */
export async function ruleCounts(db: Db): Promise<Map<string, RuleCounts>> {
  const rows = await db.selectFrom('alerts').select((eb) => [
    'rule_id',
    eb.fn.sum<string>('count').as('hits'),
    eb.fn.countAll<string>().as('alerts'),
    sql<string>`count(*) FILTER (WHERE created_at >= now() - interval '24 hours')`.as('alerts_24h'),
    sql<string>`count(*) FILTER (WHERE created_at >= now() - interval '7 days')`.as('alerts_7d'),
    sql<string>`count(*) FILTER (WHERE status = 'closed' AND close_reason = 'false_positive')`.as('false_positives'),
  ]).groupBy('rule_id').execute();
  return new Map(rows.map((r) => [r.rule_id, {
    hits: Number(r.hits), alerts: Number(r.alerts), alerts24h: Number(r.alerts_24h), alerts7d: Number(r.alerts_7d), falsePositives: Number(r.false_positives),
  }]));
}

const NO_COUNTS: RuleCounts = { hits: 0, alerts: 0, alerts24h: 0, alerts7d: 0, falsePositives: 0 };

function logsourceText(r: SigmaRule): string {
  if (r.kind !== 'detection') return 'correlation';
  const l = r.logsource;
  return [l.product, l.category, l.service].filter(Boolean).join('/');
}

const isFilter = (r: SigmaRule): boolean => r.kind === 'detection' && r.filter !== undefined;

/**
 * Rules of RULES_DIR and the saved filters, those the policy leaves out, then one item per load error (with an empty
 * id). When the bucket cannot be read, the files are listed all the same, with an error item saying so.
 */
export async function listRules(db: Db, config: RuleConfig, store: () => Promise<FilterStore>): Promise<{ items: RuleItem[] }> {
  let saved: SavedFilterEntry[] = [];
  let unread: string | undefined;
  try {
    saved = await (await store()).list();
  } catch (err) {
    unread = `the saved filters (KV bucket ${KV_BUCKETS.RULE_FILTERS}) cannot be read, so they are not listed or counted: ${errorMessage(err)}`;
  }
  const { rules, problems } = loadedRuleSet(config, saved);
  const { rules: running, excluded } = applyPolicy(rules, readPolicy(policyFile(config)));
  const counts = await ruleCounts(db);
  // Filters name rules by id or name; each running filter counts once for every rule it names.
  const byName = new Map(rules.filter((r) => r.name).map((r) => [r.name!, r.id]));
  const filters = new Map<string, number>();
  for (const f of running) {
    if (f.kind !== 'detection' || !f.filter) continue;
    for (const ref of new Set(f.filter.map((x) => byName.get(x) ?? x.toLowerCase()))) filters.set(ref, (filters.get(ref) ?? 0) + 1);
  }
  const item = (r: SigmaRule, excludedWhy?: string): RuleItem => ({
    id: r.id, title: r.title, level: r.level, kind: isFilter(r) ? 'filter' : r.kind, techniques: techniquesFromTags(r.tags).map((t) => t.id),
    ...(counts.get(r.id) ?? NO_COUNTS), filters: filters.get(r.id) ?? 0,
    file: r.source.file, status: r.status ?? '', author: r.author ?? '', logsource: logsourceText(r),
    ...(excludedWhy ? { excluded: excludedWhy } : {}),
  });
  const items: RuleItem[] = running.map((r) => item(r));
  for (const e of excluded) items.push(item(e.rule, e.reason));
  const failed = (file: string, error: string): RuleItem => ({ id: '', title: '', level: '', kind: '', techniques: [], ...NO_COUNTS, filters: 0, file, error });
  for (const p of problems) if (p.severity === 'error') items.push(failed(p.file, formatProblem(p)));
  if (unread) items.push(failed(filterLabel(''), unread));
  return { items };
}
