import { describe, expect, it } from 'vitest';
import { Lru } from './lru.js';

describe('Lru', () => {
  it('keeps entries used recently and forgets the least recently used once full', () => {
    const c = new Lru<string, number>(6);
    c.set('a', 1);
    c.set('b', 2);
    c.set('c', 3); // the young generation holds half the capacity: a, b and c become old
    expect(c.get('a')).toBe(1); // used again: a is young again
    c.set('d', 4);
    c.set('e', 5); // young is full again and turns old; b and c, used least recently, are dropped
    expect(c.get('b')).toBeUndefined();
    expect(c.get('c')).toBeUndefined();
    expect([c.get('a'), c.get('d'), c.get('e')]).toEqual([1, 4, 5]);
  });

  it('never holds more than its capacity', () => {
    const c = new Lru<number, number>(100);
    for (let i = 0; i < 10_000; i++) { c.set(i, i); c.get(i >> 1); }
    expect(c.size).toBeLessThanOrEqual(100);
    expect(c.get(9999)).toBe(9999);
  });
});
