// The string-set matcher against the plain semantics of each value: equals, starts with, ends with, contains.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StringSet } from './match.js';
import type { Part } from './types.js';

type Shape = 'eq' | 'prefix' | 'suffix' | 'contains';

const partsOf = (shape: Shape, s: string): Part[] => {
  const lit: Part = { k: 'lit', s };
  if (shape === 'eq') return [lit];
  if (shape === 'prefix') return [lit, { k: 'star' }];
  if (shape === 'suffix') return [{ k: 'star' }, lit];
  return [{ k: 'star' }, lit, { k: 'star' }];
};

const holds = (shape: Shape, v: string, s: string): boolean =>
  shape === 'eq' ? s === v : shape === 'prefix' ? s.startsWith(v) : shape === 'suffix' ? s.endsWith(v) : s.includes(v);

describe('StringSet', () => {
  it('answers as the values one by one, for texts and values full of what regular expressions treat specially', () => {
    const piece = fc.constantFrom('a', 'b', '.', '*', '+', '?', '\\', '$', '^', '(', ')', '[', ']', '{', '}', '|', '/', '-', 'é', '\n', '\u{1F600}', '');
    const str = fc.array(piece, { maxLength: 6 }).map((p) => p.join(''));
    const value = fc.record({ shape: fc.constantFrom<Shape>('eq', 'prefix', 'suffix', 'contains'), s: str });
    fc.assert(fc.property(fc.array(value, { minLength: 1, maxLength: 40 }), fc.array(str, { minLength: 1, maxLength: 20 }), (values, texts) => {
      const set = new StringSet();
      // cased: values are taken as they are; the lowercase path only lowers them first.
      for (const v of values) set.add(partsOf(v.shape, v.s), true);
      const m = set.matcher();
      for (const t of [...texts, ...values.map((v) => v.s), ...values.map((v) => `x${v.s}x`)]) {
        expect(m(t), JSON.stringify({ t, values })).toBe(values.some((v) => holds(v.shape, v.s, t)));
      }
    }), { numRuns: 500 });
  });
});
