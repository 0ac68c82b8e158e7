// The rule pack as the detect service loads it, with each rule's alert count, the rules the policy leaves out, and the files that fail to load.
import type { Db } from '../../core/db/index.js';
import { RuleDirectory, applyPolicy, formatProblem, policyFile, readPolicy, ruleDirs, techniquesFromTags, type SigmaRule } from '../../detect/index.js';

export interface RuleItem {
  id: string;
  title: string;
  level: string;
  kind: string;
  techniques: string[];
  /** Matches stored for the rule (alert counts summed, folded repeats included). */
  hits: number;
  file: string;
  error?: string;
  status?: string;
  author?: string;
  logsource?: string;
  /** Why the rules policy leaves the rule out. */
  excluded?: string;
}

/** One RuleDirectory per RULES_DIR value: unchanged files are not parsed again on the next request. */
const dirs = new Map<string, RuleDirectory>();

function logsourceText(r: SigmaRule): string {
  if (r.kind !== 'detection') return 'correlation';
  const l = r.logsource;
  return [l.product, l.category, l.service].filter(Boolean).join('/');
}

/** Rules of RULES_DIR (comma separated), those the policy leaves out, then one item per load error (with an empty id). */
export async function listRules(db: Db, config: { RULES_DIR: string; RULES_POLICY?: string; DATA_DIR: string }): Promise<{ items: RuleItem[] }> {
  let dir = dirs.get(config.RULES_DIR);
  if (!dir) { dir = new RuleDirectory(ruleDirs(config.RULES_DIR)); dirs.set(config.RULES_DIR, dir); }
  const { rules, problems } = dir.load();
  const { rules: running, excluded } = applyPolicy(rules, readPolicy(policyFile(config)));
  const counts = await db.selectFrom('alerts').select(['rule_id', (eb) => eb.fn.sum<string>('count').as('hits')]).groupBy('rule_id').execute();
  const hits = new Map(counts.map((c) => [c.rule_id, Number(c.hits)]));
  const item = (r: SigmaRule, excludedWhy?: string): RuleItem => ({
    id: r.id, title: r.title, level: r.level, kind: r.kind, techniques: techniquesFromTags(r.tags).map((t) => t.id),
    hits: hits.get(r.id) ?? 0, file: r.source.file, status: r.status ?? '', author: r.author ?? '', logsource: logsourceText(r),
    ...(excludedWhy ? { excluded: excludedWhy } : {}),
  });
  const items: RuleItem[] = running.map((r) => item(r));
  for (const e of excluded) items.push(item(e.rule, e.reason));
  for (const p of problems) {
    if (p.severity === 'error') items.push({ id: '', title: '', level: '', kind: '', techniques: [], hits: 0, file: p.file, error: formatProblem(p) });
  }
  return { items };
}
