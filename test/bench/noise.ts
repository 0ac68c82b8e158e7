// Benign noise of the default rule pack: the simulator's background traffic through the production parsers and the
// rules that run under the default policy; prints the medium-or-higher alerts per rule and their share of the events.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCatalog, ruleDirs, DEFAULT_POLICY } from '../../services/detect/index.js';
import type { Event } from '../../services/core/proto.js';
import { normalizeRaw } from '../../services/normalize/core.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
/** The kind each simulated source would be declared with (soc sources add --kind). */
const KINDS: Record<string, string> = { web: 'webserver', dns: 'dns', sysmon: 'windows', 'windows-security': 'windows', 'linux-auth': 'linux', proxy: 'proxy', firewall: 'firewall' };

interface Line { source: string; format: string; record: string }

function background(): Line[] {
  const file = process.env.NOISE_FILE;
  const text = file ? readFileSync(file, 'utf8') : execFileSync(process.execPath, [join(ROOT, 'dist/tools/cli/soc.js'), 'simulate', '--dry-run', '--scenario', 'none',
    '--duration', process.env.NOISE_DURATION ?? '120s', '--seed', process.env.NOISE_SEED ?? '1', '--start', '2026-01-01T00:00:00Z'], { maxBuffer: 1 << 30, encoding: 'utf8' });
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Line);
}

function events(lines: Line[], declared: boolean, kinds: Record<string, string> = KINDS): Event[] {
  const out: Event[] = [];
  lines.forEach((l, i) => {
    const r = normalizeRaw({ source_id: l.source, format: l.format, received_ms: Date.UTC(2026, 0, 1), records: [l.record], source_kind: declared ? kinds[l.source] ?? '' : '' },
      { idPrefix: `n${i}`, nowMs: Date.UTC(2026, 0, 1) });
    out.push(...r.events);
  });
  return out;
}

const lines = background();
const dirs = process.env.NOISE_RULES ? ruleDirs(process.env.NOISE_RULES) : [join(ROOT, 'rules'), join(ROOT, 'rules-sigmahq')];
/** The simulated site's own tuning (Sigma filters), as an operator would add it to RULES_DIR. */
const SITE_FILTERS = join(ROOT, 'tools', 'simulator', 'filters');
const catalog = loadCatalog(dirs, DEFAULT_POLICY);
const running = catalog.entries.filter((e) => e.state === 'runs').length;
const variants = [
  { declared: true, filters: true, what: 'sources with their kind, site filters' },
  { declared: true, filters: false, what: 'sources with their kind, no filters' },
  { declared: false, filters: true, what: 'sources without a kind, site filters' },
  // What the proxy rules do on a web server's access log (the mapping this kind system prevents).
  { declared: true, filters: true, what: 'the web server wrongly declared a proxy, site filters', kinds: { ...KINDS, web: 'proxy' } },
];
for (const { declared, filters, what, kinds } of variants as { declared: boolean; filters: boolean; what: string; kinds?: Record<string, string> }[]) {
  const evs = events(lines, declared, kinds);
  const { detector } = loadCatalog(filters ? [...dirs, SITE_FILTERS] : dirs, DEFAULT_POLICY);
  const alerts = [...detector.evaluate(evs), ...detector.flush()];
  const loud = alerts.filter((a) => a.level === 'medium' || a.level === 'high' || a.level === 'critical');
  const perRule = new Map<string, number>();
  for (const a of loud) perRule.set(`${a.level} ${a.rule_title}`, (perRule.get(`${a.level} ${a.rule_title}`) ?? 0) + 1);
  const bySource = new Map<string, number>();
  for (const e of evs) bySource.set(e.source_id ?? '', (bySource.get(e.source_id ?? '') ?? 0) + 1);
  process.stdout.write(`\n${what}: ${evs.length} events (${[...bySource].map(([s, n]) => `${s} ${n}`).join(', ')}), ${running} rules running\n`);
  process.stdout.write(`  medium+ alerts: ${loud.length} (${((loud.length / evs.length) * 100).toFixed(3)} % of events); all alerts: ${alerts.length}\n`);
  for (const [k, n] of [...perRule].sort((a, b) => b[1] - a[1]).slice(0, 25)) process.stdout.write(`  ${String(n).padStart(6)}  ${k}\n`);
}
