// `soc rules test` and `soc rules eval`: the production engine over rule tests and over log files.
import { formatProblem, huntEvents, loadRules, runRuleTests, type SigmaRule } from '../../services/detect/index.js';
import { ConfigError } from '../../services/core/errors.js';
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
export async function rulesEval(files: string[], o: { rules: string[]; format?: string }): Promise<void> {
  if (files.length === 0) throw new ConfigError('no event files given');
  const { rules, errors } = load(o.rules);
  const events: Event[] = [];
  const where: { file: string; record: number; line: number }[] = [];
  for (const file of files) {
    const parsed = parseFile(file, (o.format ?? 'auto') as BodyFormat, 'hunt');
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
