// The web rules measured end to end: attack and benign values in every arrival shape, as Apache access-log
// lines through the production parser and engine; detection rates, false positives, and the safety of every
// regular expression the web rules run on hostile input.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadRules, type SigmaRule } from '../services/detect/index.js';
import type { DetectionRule } from '../services/detect/sigma/types.js';
import { attackClasses, benignValues } from './testdata/web-attacks/corpus.js';
import { classRow, falsePositives, runValues, SHAPE_NAMES, type ClassRow, type Shape } from './testdata/web-attacks/measure.js';
import { cpuMs, fragmentSoup, NEAR_MISS_FRAGMENTS, regexProblems, repeatTo, unrolledGroups } from './testdata/web-attacks/regex-safety.js';
import { GENERATED } from './web-patterns/index.js';
import { syncRuleText } from './web-patterns/sync.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const { rules } = loadRules([HERE]);
const WEB_FILES = [...new Set(GENERATED.map((g) => g.file))];

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;
const perShape = (row: ClassRow): string => SHAPE_NAMES.map((s) => `${s} ${pct(row.byShape[s] / row.values)}`).join(', ');
const classes = new Map(attackClasses().map((c) => [c.name, c.values]));

/** Each class is run once, when a test first asks for it. */
const rows = new Map<string, ClassRow>();
function row(name: string): ClassRow {
  let r = rows.get(name);
  if (!r) { r = classRow(name, runValues(rules, classes.get(name)!)); rows.set(name, r); }
  return r;
}

function expectEveryShape(name: string, min: number): void {
  const r = row(name);
  const missed = r.missed.filter((m) => m.shape === 'uri').slice(0, 20).map((m) => JSON.stringify(m.value));
  for (const s of SHAPE_NAMES) expect(r.byShape[s] / r.values, `${name} [${s}] ${perShape(r)}; missed (uri) e.g. ${missed.join(' ')}`).toBeGreaterThanOrEqual(min);
}

describe('attack values in every arrival shape (raw path, encodeURIComponent, form, double-encoded)', () => {
  it('detects at least 90 % of path traversal values at level medium or higher in each shape', () => {
    expect(classes.get('path traversal')!.length).toBeGreaterThan(500);
    expectEveryShape('path traversal', 0.9);
  });

  it('detects at least 80 % of command injection values at level medium or higher in each shape', () => {
    expect(classes.get('command injection')!.length).toBeGreaterThan(500);
    expectEveryShape('command injection', 0.8);
  });

  it('detects at least 90 % of SSRF and template injection values in each shape', () => {
    expectEveryShape('ssrf', 0.9);
    expectEveryShape('template injection', 0.9);
  });

  // The rates of the rules before this rewrite (commit 773096e, with lookbehind and backreferences), measured
  // with the same harness (`npm run bench:webattacks -- --rules <that commit's rules/>`): the rewrite must not lose any.
  const before: Record<string, Record<Shape, number>> = {
    'sql injection': { raw: 0.887, uri: 0.893, form: 0.893, double: 0.801 },
    xss: { raw: 0.988, uri: 0.988, form: 0.988, double: 0.980 },
  };
  for (const [name, floor] of Object.entries(before)) {
    it.skipIf(classes.get(name)!.length === 0)(`detects ${name} (shared payloadbox list) at least as well as before in each shape`, () => {
      const r = row(name);
      for (const s of SHAPE_NAMES) expect(r.byShape[s] / r.values, `${name} [${s}] ${perShape(r)}`).toBeGreaterThanOrEqual(floor[s]);
    });
  }
});

describe('benign form values with the same characters', () => {
  it('raise an alert (any level from low) for at most 0.5 % of values and shapes', () => {
    const values = benignValues();
    expect(values.length).toBeGreaterThan(2000);
    const results = runValues(rules, values);
    const fps = falsePositives(results);
    const shown = fps.map((r) => `[${r.shape}] ${JSON.stringify(r.value)}: ${r.hits.map((h) => h.title).join(', ')}`);
    expect(fps.length / results.length, shown.join('\n')).toBeLessThanOrEqual(0.005);
  });
});

/** Every regular expression of the web rules, with where it comes from. */
function webRegexes(): { where: string; source: string; flags: string }[] {
  const out: { where: string; source: string; flags: string }[] = [];
  for (const r of rules as SigmaRule[]) {
    if (!('searches' in r) || !WEB_FILES.some((f) => r.source.file.endsWith(f))) continue;
    for (const [name, search] of (r as DetectionRule).searches) {
      for (const tests of search.maps) for (const t of tests) for (const group of t.groups) for (const v of group) {
        if (v.t === 're') out.push({ where: `${r.title} / ${name}`, source: v.source, flags: v.flags });
      }
    }
  }
  const seen = new Set<string>();
  return out.filter((x) => !seen.has(x.source) && seen.add(x.source));
}

describe('the regular expressions of the web rules', () => {
  const regexes = webRegexes();

  it('are all generated by rules/web-patterns and written into the rule files as generated', () => {
    expect(regexes.length).toBeGreaterThanOrEqual(30);
    for (const file of WEB_FILES) {
      const text = readFileSync(join(HERE, file), 'utf8');
      const r = syncRuleText(file, text);
      expect(r.problems, file).toEqual([]);
      expect(r.changed, `${file} is out of date: npm run rules:web-patterns`).toEqual([]);
    }
  });

  it('have no lookaround, backreference or unbounded repetition (RE2 semantics, linear time)', () => {
    const bad = regexes.flatMap((r) => regexProblems(r.source).map((p) => `${r.where}: ${p.what} at ${p.at}`));
    expect(bad).toEqual([]);
    expect(regexes.every((r) => r.flags === 'i')).toBe(true);
  });

  it('repeat no large group a few times, which V8 would compile as copies (cheap to compile on every rules reload)', () => {
    const bad = regexes.flatMap((r) => unrolledGroups(r.source).map((p) => `${r.where}: ${p.what} at ${p.at}`));
    expect(bad).toEqual([]);
  });

  it('finish on 64 KiB near-miss strings in linear time', () => {
    const N = 64 * 1024;
    const inputs = [
      ...NEAR_MISS_FRAGMENTS.map((f) => repeatTo(f, N)),
      ...[1, 2, 3, 4, 5, 6, 7, 8].map((seed) => fragmentSoup(seed, N)),
    ];
    let worst = { ms: 0, where: '', input: '' };
    for (const r of regexes) {
      const re = new RegExp(r.source, r.flags);
      re.test('warm up');
      for (const input of inputs) {
        const ms = cpuMs(() => re.test(input));
        if (ms > worst.ms) worst = { ms, where: r.where, input: input.slice(0, 24) };
      }
    }
    console.info(`worst of ${regexes.length} expressions x ${inputs.length} inputs of 64 KiB: ${worst.ms.toFixed(1)} ms CPU (${worst.where}, input ${JSON.stringify(worst.input)}...)`);
    // A linear scan of 64 KiB takes a few milliseconds; a quadratic one takes seconds.
    expect(worst.ms, `${worst.where} on ${JSON.stringify(worst.input)}...`).toBeLessThan(1000);
  });
});
