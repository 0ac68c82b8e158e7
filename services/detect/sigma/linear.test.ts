// The linear matchers: globs agree with the backtracking patterns they replaced, and hostile texts end quickly.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzParameters } from '../../../test/fuzz/arbitraries.js';
import { compileRe2, globMatcher } from './linear.js';
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
