// `npm run bench:webattacks`: detection rate of the web rules per attack class and their false positives on
// benign form values, each value sent in every arrival shape through the production parser and engine.
// --misses prints the values not detected and the benign values that alerted; --class NAME limits the run.
import { join } from 'node:path';
import { Detector, loadRules } from '../../services/detect/index.js';
import { attackClasses, benignValues } from '../../rules/testdata/web-attacks/corpus.js';
import { classRow, eventOf, falsePositives, runValues, SHAPE_NAMES } from '../../rules/testdata/web-attacks/measure.js';
import { ROOT } from '../harness.js';

const args = process.argv.slice(2);
const showMisses = args.includes('--misses');
const only = args.includes('--class') ? args[args.indexOf('--class') + 1] : undefined;
const rulesDir = args.includes('--rules') ? args[args.indexOf('--rules') + 1]! : join(ROOT, 'rules');

const { rules, problems } = loadRules([rulesDir]);
for (const p of problems) console.error(`${p.file}:${p.line}: ${p.message}`);
const web = rules;

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const pad = (s: string | number, n: number): string => String(s).padEnd(n);
const padL = (s: string | number, n: number): string => String(s).padStart(n);

// First, before anything else compiled them: what the first two web events cost the detect service after a
// start or a rules reload (V8 compiles each expression to bytecode on its first use, to native code on its second).
{
  const sources = new Set<string>();
  for (const r of rules) {
    if (!('searches' in r) || r.logsource.category !== 'webserver') continue;
    for (const search of r.searches.values()) for (const tests of search.maps) for (const t of tests) for (const g of t.groups) for (const v of g) if (v.t === 're') sources.add(`${v.flags}/${v.source}`);
  }
  const c0 = process.cpuUsage();
  for (const s of sources) {
    const slash = s.indexOf('/');
    const re = new RegExp(s.slice(slash + 1), s.slice(0, slash));
    re.test('/search?q=hello%20world&page=2');
    re.test('/search?q=hello%20world&page=3');
  }
  const c = process.cpuUsage(c0);
  console.log(`compiling the ${sources.size} expressions of the web rules: ${((c.user + c.system) / 1000).toFixed(0)} ms CPU (bytecode, then native code)\n`);
}
console.log(`rules: ${web.length} (${rulesDir}); shapes: ${SHAPE_NAMES.join(', ')}; detected = a rule at level medium or higher\n`);
console.log(`${pad('class', 20)}${padL('values', 7)}${padL('tests', 7)}${padL('detected', 10)}${padL('rate', 9)}  ${SHAPE_NAMES.map((s) => padL(s, 8)).join('')}`);
const started = performance.now();
for (const c of attackClasses()) {
  if (only && c.name !== only) continue;
  if (c.values.length === 0) { console.log(`${pad(c.name, 20)} (list not found under shared/data)`); continue; }
  const row = classRow(c.name, runValues(web, c.values));
  const perShape = SHAPE_NAMES.map((s) => padL(pct(row.byShape[s] / c.values.length), 8)).join('');
  console.log(`${pad(c.name, 20)}${padL(c.values.length, 7)}${padL(row.total, 7)}${padL(row.detected, 10)}${padL(pct(row.rate), 9)}  ${perShape}`);
  if (showMisses) for (const m of row.missed) console.log(`    missed [${m.shape}] ${JSON.stringify(m.value)}${m.hits.length ? ` (only ${m.hits.map((h) => `${h.level}: ${h.title}`).join(', ')})` : ''}`);
}
if (!only || only === 'benign') {
  const benign = benignValues();
  const results = runValues(web, benign);
  const fps = falsePositives(results);
  const values = new Set(fps.map((r) => r.value)).size;
  console.log(`\n${pad('benign', 20)}${padL(benign.length, 7)}${padL(results.length, 7)}${padL(fps.length, 10)}${padL(pct(fps.length / results.length), 9)}  false positives (any alert at low or above); ${values} distinct values`);
  if (showMisses) for (const r of fps) console.log(`    alerted [${r.shape}] ${JSON.stringify(r.value)}: ${r.hits.map((h) => `${h.level}: ${h.title}`).join(', ')}`);
}
console.log(`\n${((performance.now() - started) / 1000).toFixed(1)} s`);

// Engine cost on ordinary web traffic: the benign values as form-encoded queries, evaluated in batches of 500
// by one Detector with every rule of the directory, after a warm-up; CPU time, so a busy machine does not skew it.
if (!only || args.includes('--throughput')) {
  const benign = benignValues();
  const events = benign.map((v, i) => eventOf(v, 'form', i));
  const detector = new Detector(rules);
  for (let i = 0; i < events.length; i += 500) detector.evaluate(events.slice(i, i + 500));
  let n = 0;
  const c0 = process.cpuUsage();
  while (n < 200_000) for (let i = 0; i < events.length; i += 500, n += 500) detector.evaluate(events.slice(i, i + 500));
  const c = process.cpuUsage(c0);
  const sec = (c.user + c.system) / 1e6;
  console.log(`engine on benign web events: ${Math.round(n / sec).toLocaleString('en-US')} events/s (${(1e6 * sec / n).toFixed(1)} µs CPU per event, ${rules.length} rules)`);
}
