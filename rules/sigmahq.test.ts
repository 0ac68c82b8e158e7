// The shipped SigmaHQ pack (rules-sigmahq/) with MiniSOC's rules under the default policy: every rule accounted for,
// the real regression events of shared/data firing their rules, proxy rules kept off access logs, and benign traffic quiet.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Event } from '../services/core/proto.js';
import { loadCatalog, type Catalog } from '../services/detect/catalog.js';
import { Detector } from '../services/detect/detector.js';
import { applyPolicy, DEFAULT_POLICY, parsePolicy } from '../services/detect/policy.js';
import { parseConcatenatedJson } from '../services/detect/testdata/json-stream.js';
import { normalizeRaw, normalizeTelemetry } from '../services/normalize/core.js';
import { PARSERS } from '../services/normalize/parsers/index.js';
import { Engine } from '../tools/simulator/engine.js';
import { SOURCES } from '../tools/simulator/formats.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const PACK = join(ROOT, 'rules-sigmahq');
const REGRESSION = join(ROOT, '..', 'shared', 'data', 'sigma-regression');
const SITE_FILTERS = join(ROOT, 'tools', 'simulator', 'filters');

const catalog: Catalog = loadCatalog([HERE, PACK], DEFAULT_POLICY);
const byState = (s: string) => catalog.entries.filter((e) => e.state === s);

function yamlFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, name.name);
    if (name.isDirectory()) yamlFiles(p, out);
    else if (/\.ya?ml$/.test(name.name)) out.push(p);
  }
  return out;
}

describe('the SigmaHQ pack under the default policy', () => {
  it('ships both licence files and credits the project', () => {
    for (const f of ['LICENSE-DRL-1.1.md', 'LICENSE.sigma-repo.md', 'SOURCE.txt', 'README.md']) expect(existsSync(join(PACK, f)), f).toBe(true);
  });

  it('accounts for every rule file: each rule runs, or is listed with the reason it does not', () => {
    const errors = catalog.problems.filter((p) => p.severity === 'error');
    expect(errors.map((p) => `${p.file}:${p.line}: ${p.message}`)).toEqual([]);
    const files = new Set([...yamlFiles(PACK), ...readdirSync(HERE).filter((f) => f.endsWith('.yml')).map((f) => join(HERE, f))]);
    const seen = new Set(catalog.entries.map((e) => e.rule.source.file));
    expect([...files].filter((f) => !seen.has(f))).toEqual([]);
    for (const e of catalog.entries) if (e.state !== 'runs') expect(e.reason, e.rule.id).toBeTruthy();
    expect(byState('runs').length).toBeGreaterThan(3000);
    // Left out by default: the opt-in folders and statuses only.
    for (const e of byState('excluded')) expect(e.reason).toMatch(/^(folder (rules-threat-hunting|rules-placeholder|rules-compliance)|status (experimental|deprecated|unsupported)) is opt-in/);
  });

  it('opts in the hunting and placeholder folders and experimental rules when the policy says so, and compiles placeholders with values', () => {
    const policy = parsePolicy({
      folders: ['rules', 'rules-emerging-threats', 'rules-threat-hunting', 'rules-placeholder', 'rules-compliance'],
      statuses: ['stable', 'test', 'experimental'],
    });
    const all = loadCatalog([PACK], policy);
    expect(all.entries.filter((e) => e.state === 'excluded')).toEqual([]);
    const noValues = all.entries.filter((e) => e.state === 'not-compiled');
    expect(noValues.length).toBeGreaterThan(0);
    for (const e of noValues) expect(e.reason).toMatch(/placeholder %[^%]+% has no values/);
  });

  it('applies per-rule enable, disable and level overrides', () => {
    const experimental = byState('excluded').find((e) => e.reason?.startsWith('status experimental'))!.rule;
    const running = byState('runs')[0]!.rule;
    const policy = parsePolicy({ enable: [experimental.id], disable: [running.id], levels: { [experimental.id]: 'low' } });
    const { rules, excluded } = applyPolicy(catalog.entries.map((e) => e.rule), policy);
    expect(rules.find((r) => r.id === experimental.id)?.level).toBe('low');
    expect(excluded.find((e) => e.rule.id === running.id)?.reason).toBe('disabled in the rules policy');
    expect(() => parsePolicy({ disabled: [] })).toThrow(/unknown key 'disabled'/);
    expect(() => parsePolicy({ levels: { x: 'severe' } })).toThrow(/not one of/);
  });
});

/** The concatenated evtx_dump JSON of a regression case, through the normalize stage's JSON parser. */
function caseEvents(dir: string, name: string): Event[] {
  const file = readdirSync(dir).find((f) => f.endsWith('.json'))!;
  const docs = parseConcatenatedJson(readFileSync(join(dir, file), 'utf8'));
  const events = docs.flatMap((doc) => PARSERS.json!(JSON.stringify(doc), { sourceId: 'regression', receivedMs: Date.UTC(2026, 0, 1) }));
  events.forEach((e, i) => { e.id = `${name}#${i}`; });
  return events;
}

describe.skipIf(!existsSync(REGRESSION))('the shipped pack on the real events of shared/data', () => {
  // Every shipped rule of a regression case, whatever its status (the policy decides what runs, not whether it works).
  const rows = readFileSync(join(REGRESSION, 'index.csv'), 'utf8').split('\n').slice(1).filter(Boolean).map((l) => l.split(','));
  const ids = new Set(rows.map((r) => r[7]!));
  const shipped = catalog.entries.map((e) => e.rule).filter((r) => ids.has(r.id));
  const detector = new Detector(shipped, { alertAll: true });

  it('has the rule of every regression case', () => {
    expect([...ids].filter((id) => !shipped.some((r) => r.id === id))).toEqual([]);
  });

  it('fires every shipped rule on its own real events', () => {
    const missed: string[] = [];
    for (const r of rows) {
      const [caseDir, , , , , , , id] = r;
      const alerts = detector.evaluate(caseEvents(join(REGRESSION, caseDir!), caseDir!.split('/').pop()!));
      if (!alerts.some((a) => a.rule_id === id)) missed.push(`${caseDir} (${id})`);
    }
    expect(missed).toEqual([]);
  });
});

describe('log-source mapping with the whole pack', () => {
  const running = catalog.entries.filter((e) => e.state === 'runs').map((e) => e.rule);
  const detector = new Detector(running);
  // Real-world access-log lines: a crawler and an old browser, which SigmaHQ's proxy rules flag as exploit tools.
  const lines = [
    '66.249.66.1 - - [05/Jan/2026:09:00:00 +0000] "GET /robots.txt HTTP/1.1" 200 68 "-" "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"',
    '203.0.113.9 - - [05/Jan/2026:09:00:01 +0000] "GET / HTTP/1.1" 200 5120 "-" "Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"',
  ];
  const parse = (kind: string) => normalizeRaw({ source_id: 'web', format: 'access', received_ms: Date.UTC(2026, 0, 5), records: lines, source_kind: kind }, { idPrefix: 'w', nowMs: Date.UTC(2026, 0, 5) }).events;

  it('runs no proxy rule on a web server access log, declared or not', () => {
    for (const kind of ['', 'webserver']) {
      const alerts = detector.evaluate(parse(kind));
      const proxyRules = alerts.filter((a) => running.find((r) => r.id === a.rule_id && r.kind === 'detection' && r.logsource.category === 'proxy'));
      expect(proxyRules.map((a) => a.rule_title), kind).toEqual([]);
    }
  });

  it('runs the proxy rules on a proxy source', () => {
    const alerts = detector.evaluate(parse('proxy'));
    expect(alerts.some((a) => running.find((r) => r.id === a.rule_id && r.kind === 'detection' && r.logsource.category === 'proxy'))).toBe(true);
  });
});

describe('benign traffic with the whole pack', () => {
  it("raises no medium or higher alert on the simulator's background (agents included), with the site's filters", () => {
    const { detector: d, entries } = loadCatalog([HERE, PACK, SITE_FILTERS], DEFAULT_POLICY);
    expect(entries.filter((e) => e.state === 'runs').length).toBeGreaterThan(3000);
    const start = Date.UTC(2026, 0, 5, 9);
    const engine = new Engine({ seed: 3, rate: 200, startMs: start, scenarios: [], firstAttackMs: 1000, attackEveryMs: 2000, loop: false, agents: true, heartbeatIntervalS: 5 });
    const kinds: Record<string, string> = { web: 'webserver', dns: 'dns', sysmon: 'windows', 'windows-security': 'windows', 'linux-auth': 'linux' };
    const events: Event[] = [];
    let i = 0;
    while (engine.nowMs < start + 60_000) {
      for (const r of engine.tick()) {
        i++;
        if (r.kind === 'heartbeat') continue;
        const res = r.kind === 'log'
          ? normalizeRaw({ source_id: r.source, format: SOURCES[r.source] === 'ndjson' ? 'json' : SOURCES[r.source], received_ms: r.ts, records: [r.text], source_kind: kinds[r.source] ?? '' }, { idPrefix: `r${i}`, nowMs: r.ts })
          : normalizeTelemetry({ agent_id: r.agent.agentId, batch_seq: i, created_ms: r.ts, events: [r.event], host: { name: r.agent.name, os_family: 'linux' } }, { idPrefix: `r${i}`, nowMs: r.ts });
        events.push(...res.events);
      }
    }
    const loud = [...d.evaluate(events), ...d.flush()].filter((a) => a.level === 'medium' || a.level === 'high' || a.level === 'critical');
    expect(events.length).toBeGreaterThan(10_000);
    expect(loud.map((a) => `${a.level} ${a.rule_title}`)).toEqual([]);
  });
});
