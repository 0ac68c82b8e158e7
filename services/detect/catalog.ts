// The rule catalogue: every rule of the rule directories with whether it runs and why not, and its ATT&CK coverage.
import { Detector } from './detector.js';
import { techniquesFromTags, tacticName } from './mitre/index.js';
import { applyPolicy, type Excluded, type RulePolicy } from './policy.js';
import { loadRules, type LoadResult } from './sigma/loader.js';
import type { LoadProblem, SigmaRule } from './sigma/types.js';

export interface CatalogEntry {
  rule: SigmaRule;
  /** `runs`, or why it does not: left out by the policy, or not compiled (e.g. a placeholder without values). */
  state: 'runs' | 'excluded' | 'not-compiled';
  reason?: string;
}

export interface Catalog {
  entries: CatalogEntry[];
  /** Problems of the files: a rule with an error is not in `entries` (the file and line say which). */
  problems: LoadProblem[];
  /** The engine the running rules make (for counts and tests). */
  detector: Detector;
}

/** Loads the directories (and `extra` rules, such as the saved filters), applies the policy and compiles what runs, as the detect service does. */
export function loadCatalog(dirs: readonly string[], policy: RulePolicy, extra?: LoadResult): Catalog {
  const { rules, problems } = loadRules(dirs, extra);
  const { rules: running, excluded } = applyPolicy(rules, policy);
  const detector = new Detector(running, { placeholders: policy.placeholders });
  return { entries: catalogEntries(running, excluded, detector.problems), problems, detector };
}

export function catalogEntries(running: readonly SigmaRule[], excluded: readonly Excluded[], notCompiled: readonly LoadProblem[]): CatalogEntry[] {
  const failed = new Map(notCompiled.map((p) => [`${p.file}:${p.line}`, p.message]));
  const entries: CatalogEntry[] = running.map((rule) => {
    const why = failed.get(`${rule.source.file}:${rule.source.line}`);
    return why ? { rule, state: 'not-compiled', reason: why } : { rule, state: 'runs' };
  });
  for (const e of excluded) entries.push({ rule: e.rule, state: 'excluded', reason: e.reason });
  return entries;
}

/** A rule's logsource as one label: product/category/service, `correlation` for correlations. */
export function logsourceLabel(r: SigmaRule): string {
  if (r.kind !== 'detection') return 'correlation';
  const l = r.logsource;
  return [l.product, l.category, l.service].filter(Boolean).join('/') || 'any';
}

export interface CoverageRow {
  tactic: string;
  tacticName: string;
  technique: string;
  name: string;
  /** Log source label -> number of rules. */
  bySource: Record<string, number>;
  rules: number;
}

/** The ATT&CK matrix of a rule set: one row per tactic and technique, with the rules per log source. */
export function coverage(rules: readonly SigmaRule[]): CoverageRow[] {
  const rows = new Map<string, CoverageRow>();
  for (const r of rules) {
    const source = logsourceLabel(r);
    for (const t of techniquesFromTags(r.tags)) {
      for (const tactic of t.tactics.length ? t.tactics : ['']) {
        const key = `${tactic}|${t.id}`;
        let row = rows.get(key);
        if (!row) {
          row = { tactic, tacticName: tacticName(tactic) ?? tactic, technique: t.id, name: t.name, bySource: Object.create(null) as Record<string, number>, rules: 0 };
          rows.set(key, row);
        }
        row.bySource[source] = (row.bySource[source] ?? 0) + 1;
        row.rules++;
      }
    }
  }
  return [...rows.values()].sort((a, b) => tacticRank(a.tactic) - tacticRank(b.tactic) || a.technique.localeCompare(b.technique));
}

const ORDER = ['reconnaissance', 'resource-development', 'initial-access', 'execution', 'persistence', 'privilege-escalation', 'defense-evasion',
  'credential-access', 'discovery', 'lateral-movement', 'collection', 'command-and-control', 'exfiltration', 'impact'];
function tacticRank(t: string): number {
  const i = ORDER.indexOf(t);
  return i < 0 ? ORDER.length : i;
}
