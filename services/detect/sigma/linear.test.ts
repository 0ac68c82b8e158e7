// The linear matchers: globs agree with the backtracking patterns they replaced, and hostile texts end quickly.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzParameters } from '../../../test/fuzz/arbitraries.js';
import { ROOT, SHARED_DATA } from '../../../test/harness.js';
import { prng } from '../../../test/prng.js';
import { compileRe2, compileRegex, globMatcher, requiredLiterals } from './linear.js';
import { loadRules } from './loader.js';
import type { Part } from './types.js';

/** The regular expression the detector used before (backtracking): the reference for small inputs. */
function reference(parts: Part[]): RegExp {
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const escClass = (s: string) => s.replace(/[\]\\^-]/g, '\\$&');
  let src = '^';
  for (const p of parts) {
    if (p.k === 'lit') src += esc(p.s);
    else if (p.k === 'star') src += '[\\s\\S]*';
    else if (p.k === 'one') src += '[\\s\\S]';
    else if (p.k === 'cls') src += `[${escClass(p.chars)}]`;
  }
  return new RegExp(`${src}$`, 'u');
}

const alphabet = fc.constantFrom('a', 'b', '-', '/', 'é');
const part: fc.Arbitrary<Part> = fc.oneof(
  { weight: 4, arbitrary: fc.array(alphabet, { minLength: 1, maxLength: 3 }).map((cs): Part => ({ k: 'lit', s: cs.join('') })) },
  { weight: 3, arbitrary: fc.constant<Part>({ k: 'star' }) },
  { weight: 1, arbitrary: fc.constant<Part>({ k: 'one' }) },
  { weight: 1, arbitrary: fc.constant<Part>({ k: 'cls', chars: '-/' }) },
);

describe('globMatcher', () => {
  it('agrees with the backtracking pattern on every small pattern and text', () => {
    fc.assert(fc.property(fc.array(part, { maxLength: 6 }), fc.array(alphabet, { maxLength: 12 }).map((cs) => cs.join('')), (parts, text) => {
      if (globMatcher(parts)(text) !== reference(parts).test(text)) throw new Error(`${JSON.stringify(parts)} on ${JSON.stringify(text)}`);
    }), fuzzParameters(10_000));
  });

  it('answers a many-star pattern on a long near-miss text (a backtracking engine would take hours)', () => {
    const parts: Part[] = [{ k: 'star' }, ...Array.from({ length: 8 }, (): Part[] => [{ k: 'lit', s: 'a' }, { k: 'star' }]).flat(), { k: 'lit', s: 'b' }];
    expect(globMatcher(parts)('a'.repeat(64 * 1024))).toBe(false);
    expect(globMatcher(parts)(`${'a'.repeat(64 * 1024)}b`)).toBe(true);
  });
});

describe('compileRe2', () => {
  it('runs a catastrophic pattern on a long text without backtracking, with Sigma flags', () => {
    expect(compileRe2('(a+)+$', '').test(`${'a'.repeat(100_000)}!`)).toBe(false);
    expect(compileRe2('POWERSHELL.*-enc', 'i').test('c:\\powershell.exe -nop -enc AAAA')).toBe(true);
    expect(compileRe2('^b$', 'm').test('a\nb\nc')).toBe(true);
  });

  it('refuses lookaround and backreferences, which only a backtracking engine runs', () => {
    expect(() => compileRe2('(?=a)b', '')).toThrow();
    expect(() => compileRe2('(a)\\1', '')).toThrow();
  });
});

describe('requiredLiterals', () => {
  const need = (source: string, flags = '') => requiredLiterals(source, flags)?.strings.sort() ?? null;

  it('finds strings every match contains one of, and gives up where it cannot be sure', () => {
    expect(need('\\\\AppData\\\\Local\\\\Temp\\\\[^\\\\]+\\.exe')).toEqual(['\\AppData\\Local\\Temp\\']);
    expect(need('shutdown\\s+/r /f /t 00')).toEqual(['/r /f /t 00']);
    expect(need('ab?cdef')).toEqual(['abcdef', 'acdef']);
    expect(need('xyz+abc')).toEqual(['abc']);
    expect(need('(Get-Item|gci).{1,64}-Path')).toEqual(['-Path']);
    expect(need('(Get-Item|gci).{1,64}-P')).toEqual(['Get-Item', 'gci']);
    expect(need('[]abc]defg')).toEqual([']defg', 'adefg', 'bdefg', 'cdefg']);
    expect(need('\\p{Greek}xyz')).toEqual(['xyz']);
    expect(need('\\x41bcd')).toEqual(['Abcd']);
    expect(need('a{foo}')).toEqual(['a{foo}']);
    expect(need('abc|defg')).toEqual(['abc', 'defg']);
    expect(need('etc(?:[/\\\\]|%2f){1,8}passwd')).toEqual(['passwd']);
    expect(need('%(?:25){0,4}2f')).toEqual(['2f']);
    expect(need('(?:[;|&]|%(?:3b|7c|26))id')).toEqual(['%26id', '%3bid', '%7cid', '&id', ';id', '|id']);
    expect(need('(?i)powershell')).toEqual(['powershell']);
    expect(requiredLiterals('(?i)powershell', '')?.fold).toBe(true);
    expect(requiredLiterals('powershell', 'i')?.fold).toBe(true);
    expect(requiredLiterals('powershell', '')?.fold).toBe(false);
    // Nothing certain: an optional or unlisted part, an empty branch, inline flags after the start, quoting, non-ASCII.
    expect(need('a*')).toBeNull();
    expect(need('[^a]bc?')).toEqual(['b', 'bc']);
    expect(need('abc|')).toBeNull();
    expect(need('abc|.+')).toBeNull();
    expect(need('abcd(?i)efgh')).toBeNull();
    expect(need('ab(?i:cd)')).toBeNull();
    expect(need('\\Qa(b\\E')).toBeNull();
    expect(need('.{1000,}')).toBeNull();
    expect(need('caf\u00e9s')).toBeNull();
    expect(need('[a-z]+')).toBeNull();
  });

  // A small alphabet and every construct the reader follows: texts of the same alphabet match often, so any set that
  // misses a match shows.
  const atom = fc.oneof(
    fc.constantFrom('a', 'b', 'c', '.', '\\.', '\\s', '\\d', '\\w', '^', '$', '\\b', '[ab]', '[^a]', '[a-c]', '[.]', '1', ' ', '\\x61', '[\\d]', '{', '}'),
  );
  const pattern: fc.Arbitrary<string> = fc.letrec((tie) => ({
    piece: fc.tuple(fc.oneof({ weight: 4, arbitrary: atom }, { weight: 1, arbitrary: tie('group') as fc.Arbitrary<string> }),
      fc.constantFrom('', '', '', '*', '+', '?', '{2}', '{0,2}', '{1,}', '+?')).map(([a, q]) => a + q),
    branch: fc.array(tie('piece') as fc.Arbitrary<string>, { maxLength: 4 }).map((ps) => ps.join('')),
    alt: fc.array(tie('branch') as fc.Arbitrary<string>, { minLength: 1, maxLength: 3 }).map((bs) => bs.join('|')),
    group: fc.tuple(fc.constantFrom('(', '(?:', '(?P<n>'), tie('alt') as fc.Arbitrary<string>).map(([o, a]) => `${o}${a})`),
  })).alt as fc.Arbitrary<string>;
  const text = fc.array(fc.constantFrom('a', 'b', 'c', 'A', '.', ' ', '1', '{', '}', '%'), { maxLength: 14 }).map((cs) => cs.join(''));

  it('never leaves out a text RE2 matches, on generated patterns and texts', () => {
    let prefiltered = 0;
    fc.assert(fc.property(pattern, fc.constantFrom('', 'i'), fc.array(text, { minLength: 1, maxLength: 20 }), (source, flags, texts) => {
      let re: ReturnType<typeof compileRe2>;
      try { re = compileRe2(source, flags); } catch { return; }
      if (requiredLiterals(source, flags)) prefiltered++;
      const fast = compileRegex(source, flags);
      for (const t of texts) if (fast.test(t) !== re.test(t)) throw new Error(`/${source}/${flags} on ${JSON.stringify(t)}: RE2 ${re.test(t)}`);
    }), fuzzParameters(3000));
    expect(prefiltered).toBeGreaterThan(300);
  });
});

/** Every `|re` value of the rule files, as the loader hands them to the matcher. */
function packRegexes(): { source: string; flags: string }[] {
  const out = new Map<string, { source: string; flags: string }>();
  const walk = (v: unknown): void => {
    if (v instanceof Map) for (const x of v.values()) walk(x);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (o.t === 're' && typeof o.source === 'string' && typeof o.flags === 'string') out.set(`${o.flags}/${o.source}`, { source: o.source, flags: o.flags });
      else Object.values(o).forEach(walk);
    }
  };
  for (const r of loadRules([join(ROOT, 'rules'), join(ROOT, 'rules-sigmahq')]).rules) if (r.kind === 'detection') walk(r.searches);
  return [...out.values()];
}

/** Texts likely to match a pattern: its source with the regular-expression syntax made plain, in a few cases. */
function lookalikes(source: string): string[] {
  const plain = source.replace(/\\s[+*]?/g, ' ').replace(/\\d[+*]?(\{[^}]*\})?/g, '1').replace(/\\w[+*]?/g, 'a').replace(/\.[*+]|\.\{[^}]*\}/g, 'xx')
    .replace(/\[\^?([^\]\\])[^\]]*\][*+?]?(\{[^}]*\})?/g, '$1').replace(/\((\?:)?([^|()]*)(\|[^()]*)?\)[?*+]?/g, '$2').replace(/\\(.)/g, '$1').replace(/[\^$]/g, '');
  return [plain, `pre ${plain} post`, plain.toUpperCase(), plain.toLowerCase()];
}

describe('compileRegex', () => {
  it('answers as RE2 alone does for every regular expression of the shipped pack, on real event texts and lookalikes', () => {
    const texts: string[] = [];
    const collect = (v: unknown): void => {
      if (typeof v === 'string') texts.push(v);
      else if (Array.isArray(v)) v.forEach(collect);
      else if (v && typeof v === 'object') Object.values(v).forEach(collect);
    };
    const cases = join(SHARED_DATA, 'sigma-regression', 'cases');
    for (const f of readdirSync(cases, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.json'))) {
      const text = readFileSync(join(cases, f), 'utf8');
      for (const doc of text.split(/\n(?=\{)/)) { try { collect(JSON.parse(doc)); } catch { texts.push(doc); } }
    }
    const rand = prng(11);
    const sample = Array.from({ length: 300 }, () => texts[Math.floor(rand() * texts.length)]!);
    const regexes = packRegexes();
    expect(regexes.length).toBeGreaterThan(150);
    let prefiltered = 0;
    let matched = 0;
    const wrong: string[] = [];
    for (const { source, flags } of regexes) {
      if (requiredLiterals(source, flags)) prefiltered++;
      const re2 = compileRe2(source, flags);
      const fast = compileRegex(source, flags);
      for (const t of [...sample, ...lookalikes(source)]) {
        const want = re2.test(t);
        if (want) matched++;
        if (fast.test(t) !== want) wrong.push(`/${source}/${flags} on ${JSON.stringify(t.slice(0, 80))}: RE2 ${want}`);
      }
    }
    expect(wrong).toEqual([]);
    // The comparison means something only if many patterns are prefiltered and many texts match.
    expect(prefiltered).toBeGreaterThan(regexes.length / 2);
    expect(matched).toBeGreaterThan(100);
  });
});
