import { describe, expect, it } from 'vitest';
import { normalizeIp, toUtc } from './util.js';

describe('toUtc', () => {
  it('converts offsets to UTC and keeps every fractional digit', () => {
    expect(toUtc('2026-11-22T10:00:00.123456789+02:00')).toBe('2026-11-22T08:00:00.123456789Z');
    expect(toUtc('2026-11-22 10:00:00')).toBe('2026-11-22T10:00:00Z');
  });

  it('reads epochs in s, ms, µs and ns without losing the last digits', () => {
    expect(toUtc(1795392000)).toBe('2026-11-23T00:00:00.000Z');
    expect(toUtc(1795392000123)).toBe('2026-11-23T00:00:00.123Z');
    expect(toUtc('1700000000123456789')).toBe('2023-11-14T22:13:20.123456789Z');
    expect(toUtc('1700000000123456')).toBe('2023-11-14T22:13:20.123456Z');
  });

  it('refuses out-of-range parts instead of rolling them over', () => {
    expect(toUtc('2026-11-22T25:00:00Z')).toBeUndefined();
    expect(toUtc('2026-11-22T10:61:00Z')).toBeUndefined();
    expect(toUtc('2026-02-30T10:00:00+01:00')).toBeUndefined();
    expect(toUtc('2024-02-29T10:00:00Z')).toBe('2024-02-29T10:00:00Z');
  });

  it('does not guess at strings without a year and a zone', () => {
    expect(toUtc('1')).toBeUndefined();
    expect(toUtc('yesterday')).toBeUndefined();
    expect(toUtc('Sun, 22 Nov 2026 10:00:00 GMT')).toBe('2026-11-22T10:00:00.000Z');
  });
});

describe('normalizeIp', () => {
  it('lowercases IPv6, unwraps IPv4-mapped addresses and refuses the rest', () => {
    expect(normalizeIp('2001:DB8::1')).toBe('2001:db8::1');
    expect(normalizeIp('::ffff:10.0.0.1')).toBe('10.0.0.1');
    expect(normalizeIp('[fe80::1%eth0]')).toBe('fe80::1');
    expect(normalizeIp('300.1.1.1')).toBeUndefined();
  });
});
