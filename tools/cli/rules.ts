// `soc rules test|eval|list|show|coverage`: the production engine over rule tests and log files, and the rule catalogue.
import { SavedFilterSet, coverage, formatProblem, huntEvents, loadCatalog, loadRules, loadedRuleDirs, logsourceLabel, policyFile, readPolicy, runRuleTests, techniquesFromTags, type Catalog, type LoadResult, type SigmaRule } from '../../services/detect/index.js';
import { filterLabel } from '../../services/detect/filter-store.js';
import { ruleCounts, type RuleCounts } from '../../services/api/queries/rules.js';
import { withDb } from './incidents.js';
import { loadConfig } from '../../services/core/config.js';
import { isSourceKind, SOURCE_KINDS } from '../../services/core/source-kinds.js';
import { ConfigError, errorMessage } from '../../services/core/errors.js';
import { KV_BUCKETS } from '../../services/core/topology.js';
import { withFilterStore } from './nats.js';
import type { BodyFormat } from '../../services/ingest/core.js';
import type { Event } from '../../services/core/proto.js';
import { parseFile } from './parse.js';

function load(dirs: string[]): { rules: SigmaRule[]; errors: number } {
  const { rules, problems } = loadRules(dirs);
  for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
  return { rules, errors: problems.filter((p) => p.severity === 'error').length };
}

/** Runs every rule's own test events; the exit code is non-zero on any failed test or load error. */
export async function rulesTest(dir: string | undefined, o: { json?: boolean }): Promise<void> {
  const { rules, errors } = load([dir ?? 'rules']);
  const results = runRuleTests(rules);
  let failed = 0;
  for (const r of results) {
    if (!r.passed) failed++;
    if (o.json) process.stdout.write(JSON.stringify(r) + '\n');
    else if (!r.passed) process.stdout.write(`FAIL ${r.source?.file ?? ''}:${r.line} ${r.title} [${r.test}]: ${r.message}\n`);
  }
  const untested = rules.filter((r) => r.tests.length === 0).length;
  process.stderr.write(`${rules.length} rule(s), ${results.length - failed} test(s) passed, ${failed} failed, ${errors} load error(s), ${untested} rule(s) without tests\n`);
  if (failed || errors) process.exitCode = 1;
}

/** Hunts over log files with a rule set: one JSON line per match, a summary on stderr. */
export async function rulesEval(files: string[], o: { rules: string[]; format?: string; kind?: string }): Promise<void> {
  if (files.length === 0) throw new ConfigError('no event files given');
  if (o.kind && !isSourceKind(o.kind)) throw new ConfigError(`--kind ${o.kind}: expected one of ${SOURCE_KINDS.join(', ')}`);
  const { rules, errors } = load(o.rules);
  const events: Event[] = [];
  const where: { file: string; record: number; line: number }[] = [];
  for (const file of files) {
    const parsed = parseFile(file, (o.format ?? 'auto') as BodyFormat, 'hunt', o.kind ?? '');
    for (const r of parsed.rejects) process.stderr.write(`${file}:${r.line}: ${r.error}\n`);
    for (const e of parsed.events) {
      e.event.id = `${events.length}`;
      events.push(e.event);
      where.push({ file, record: e.record, line: e.line });
    }
  }
  const { matches } = huntEvents(rules, events);
  const perRule = new Map<string, number>();
  for (const m of matches) {
    perRule.set(m.ruleId, (perRule.get(m.ruleId) ?? 0) + 1);
    const w = m.index >= 0 ? where[m.index] : undefined;
    process.stdout.write(JSON.stringify({
      rule_id: m.ruleId, title: m.ruleTitle, level: m.level, timestamp: m.alert.timestamp,
      file: w?.file ?? null, record: w?.record ?? null, line: w?.line ?? null, event_ids: m.alert.event_ids,
    }) + '\n');
  }
  process.stderr.write(`${events.length} event(s), ${rules.length} rule(s), ${matches.length} match(es) of ${perRule.size} rule(s), ${errors} load error(s)\n`);
  if (errors) process.exitCode = 1;
}

interface CatalogOptions { rules?: string[]; policy?: string }

/**
 * The filters saved from false positives (KV RULE_FILTERS), as the detect service reads them, when NATS is at hand
 * (NATS_URL or a running soc up); without it the rule files are listed alone, and stderr says so.
 */
async function savedFilters(): Promise<LoadResult | undefined> {
  try {
    const entries = await withFilterStore((store) => store.list());
    return new SavedFilterSet().load(entries.map((e) => ({ file: filterLabel(e.key), text: e.yaml })));
  } catch (err) {
    process.stderr.write(`the saved filters (KV bucket ${KV_BUCKETS.RULE_FILTERS}) are left out: ${errorMessage(err)}\n`);
    return undefined;
  }
}

/** The rule directories, saved filters and policy as the detect service would read them (RULES_DIR, KV RULE_FILTERS, RULES_POLICY), or the rules given. */
async function catalog(o: CatalogOptions): Promise<Catalog> {
  const config = loadConfig();
  const dirs = o.rules?.length ? o.rules : loadedRuleDirs(config);
  const c = loadCatalog(dirs, readPolicy(o.policy ?? policyFile(config)), o.rules?.length ? undefined : await savedFilters());
  for (const p of c.problems) process.stderr.write(`${formatProblem(p)}\n`);
  return c;
}

/** Every rule with its state (runs, excluded by the policy, not compiled) and the reason; load errors on stderr. */
export async function rulesList(o: CatalogOptions & { json?: boolean; state?: string; counts?: boolean }): Promise<void> {
  const c = await catalog(o);
  // Alert counts come from the database (DATABASE_URL or a running soc up), in the one grouped query the API uses.
  const counts = o.counts ? await withDb(ruleCounts) : undefined;
  const none: RuleCounts = { hits: 0, alerts: 0, alerts24h: 0, alerts7d: 0, falsePositives: 0 };
  const states = { runs: 0, excluded: 0, 'not-compiled': 0 };
  for (const e of c.entries) {
    states[e.state]++;
    if (o.state && e.state !== o.state) continue;
    const r = e.rule;
    const n = counts ? counts.get(r.id) ?? none : undefined;
    const kind = r.kind === 'detection' && r.filter ? 'filter' : r.kind;
    if (o.json) {
      process.stdout.write(JSON.stringify({ id: r.id, title: r.title, level: r.level, status: r.status ?? '', kind, logsource: logsourceLabel(r),
        state: e.state, reason: e.reason ?? null, file: r.source.file, author: r.author ?? '', ...n }) + '\n');
    } else {
      const cols = n ? `${[n.alerts24h, n.alerts7d, n.alerts, n.falsePositives].map((x) => String(x).padStart(6)).join('')}  ` : '';
      process.stdout.write(`${r.id}  ${r.level.padEnd(13)} ${e.state.padEnd(12)} ${cols}${logsourceLabel(r).padEnd(32)} ${r.title}${e.reason ? `  (${e.reason})` : ''}\n`);
    }
  }
  const errors = c.problems.filter((p) => p.severity === 'error').length;
  if (counts && !o.json) process.stderr.write('columns with --counts: alerts opened in 24 h, in 7 d, in all, closed as false positive\n');
  process.stderr.write(`${c.entries.length} rule(s): ${states.runs} run, ${states.excluded} left out by the policy, ${states['not-compiled']} not compiled; ${errors} load error(s)\n`);
}

/** One rule: its metadata, state, techniques with names, and its YAML source location. */
export async function rulesShow(id: string, o: CatalogOptions & { json?: boolean }): Promise<void> {
  const c = await catalog(o);
  const want = id.toLowerCase();
  const e = c.entries.find((x) => x.rule.id === want || x.rule.name === id);
  if (!e) throw new ConfigError(`no rule ${JSON.stringify(id)} in ${o.rules?.join(', ') ?? 'RULES_DIR'} (soc rules list)`);
  const r = e.rule;
  const techniques = techniquesFromTags(r.tags);
  const stats = c.detector.stats().rules[r.id];
  const info = {
    id: r.id, title: r.title, name: r.name ?? null, kind: r.kind, level: r.level, status: r.status ?? '', state: e.state, reason: e.reason ?? null,
    author: r.author ?? '', date: r.date ?? null, modified: r.modified ?? null, logsource: logsourceLabel(r), description: r.description ?? '',
    references: r.references, falsepositives: r.falsepositives, tags: r.tags,
    techniques: techniques.map((t) => ({ id: t.id, name: t.name, tactics: t.tactics })), file: `${r.source.file}:${r.source.line}`,
    tests: r.tests.length, compiled: stats !== undefined,
  };
  if (o.json) { process.stdout.write(JSON.stringify(info, null, 2) + '\n'); return; }
  const lines = [
    `${r.title}  [${r.level}${r.status ? `, ${r.status}` : ''}]`, `id:          ${r.id}`, `state:       ${e.state}${e.reason ? ` (${e.reason})` : ''}`,
    `author:      ${info.author || '-'}`, `date:        ${info.date ?? '-'}${info.modified ? `, modified ${info.modified}` : ''}`,
    `logsource:   ${info.logsource}`, `file:        ${info.file}`,
    `techniques:  ${techniques.map((t) => `${t.id} ${t.name || '(unknown)'}${t.tactics.length ? ` [${t.tactics.join(', ')}]` : ''}`).join('; ') || '-'}`,
    `description: ${info.description || '-'}`,
    ...(r.falsepositives.length ? [`false positives: ${r.falsepositives.join('; ')}`] : []),
    ...r.references.map((u, i) => `${i === 0 ? 'references:  ' : '             '}${u}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** The ATT&CK coverage of the running rules: tactic, technique (with its name), rules per log source. */
export async function rulesCoverage(o: CatalogOptions & { json?: boolean }): Promise<void> {
  const c = await catalog(o);
  const rows = coverage(c.entries.filter((e) => e.state === 'runs').map((e) => e.rule));
  if (o.json) { for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n'); return; }
  let tactic = '';
  for (const r of rows) {
    if (r.tactic !== tactic) { tactic = r.tactic; process.stdout.write(`\n${r.tacticName || '(no tactic)'}\n`); }
    const sources = Object.entries(r.bySource).sort((a, b) => b[1] - a[1]).map(([s, n]) => `${s} ${n}`).join(', ');
    process.stdout.write(`  ${r.technique.padEnd(10)} ${(r.name || '(unknown)').slice(0, 48).padEnd(48)} ${String(r.rules).padStart(4)}  ${sources}\n`);
  }
  const techniques = new Set(rows.map((r) => r.technique));
  process.stderr.write(`${techniques.size} technique(s) covered by ${c.entries.filter((e) => e.state === 'runs').length} running rule(s)\n`);
}
