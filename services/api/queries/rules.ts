// The rule pack as the detect service loads it, with each rule's alert count and the files that fail to load.
import type { Db } from '../../core/db/index.js';
import { RuleDirectory, formatProblem, techniquesFromTags } from '../../detect/index.js';

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
}

/** Rules of RULES_DIR (comma separated), then one item per load error (with an empty id). */
export async function listRules(db: Db, rulesDir: string): Promise<{ items: RuleItem[] }> {
  const dir = new RuleDirectory(rulesDir.split(',').map((d) => d.trim()).filter(Boolean));
  const { rules, problems } = dir.load();
  const counts = await db.selectFrom('alerts').select(['rule_id', (eb) => eb.fn.sum<string>('count').as('hits')]).groupBy('rule_id').execute();
  const hits = new Map(counts.map((c) => [c.rule_id, Number(c.hits)]));
  const items: RuleItem[] = rules.map((r) => ({
    id: r.id, title: r.title, level: r.level, kind: r.kind, techniques: techniquesFromTags(r.tags).map((t) => t.id),
    hits: hits.get(r.id) ?? 0, file: r.source.file,
  }));
  for (const p of problems) {
    if (p.severity === 'error') items.push({ id: '', title: '', level: '', kind: '', techniques: [], hits: 0, file: p.file, error: formatProblem(p) });
  }
  return { items };
}
