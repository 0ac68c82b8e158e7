import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/errors.js';
import { bodyKind, chunk, declaredFormat, splitRecords } from './core.js';

describe('splitRecords', () => {
  it('takes a JSON object as one record', () => {
    expect(splitRecords('{"a":1}', 'json')).toEqual(['{"a":1}']);
  });

  it('takes each element of a JSON array as a record', () => {
    expect(splitRecords('[{"a":1},{"b":2},3]', 'json')).toEqual(['{"a":1}', '{"b":2}', '3']);
  });

  it('takes NDJSON line by line and skips blank lines', () => {
    expect(splitRecords('{"a":1}\n\n{"b":2}\r\n', 'ndjson')).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('accepts NDJSON sent as application/json', () => {
    expect(splitRecords('{"a":1}\n{"b":2}', 'json')).toEqual(['{"a":1}', '{"b":2}']);
  });

  it('refuses a malformed NDJSON line with its line number', () => {
    expect(() => splitRecords('{"a":1}\n{"b":\n{"c":3}', 'ndjson')).toThrow(/^line 2: invalid JSON/);
  });

  it('refuses an empty body and an empty array', () => {
    expect(() => splitRecords('  ', 'json')).toThrow(ValidationError);
    expect(() => splitRecords('[]', 'json')).toThrow(/empty array/);
  });

  it('refuses malformed JSON with what the parser found wrong', () => {
    expect(() => splitRecords('{"a": tru}', 'json')).toThrow(/^invalid JSON: Unexpected token/);
  });
});

describe('splitRecords for log formats', () => {
  it('cuts syslog and access logs into lines, dropping CR and blank lines', () => {
    expect(splitRecords('<13>a\r\n\n<13>b\n', 'syslog')).toEqual(['<13>a', '<13>b']);
    expect(splitRecords('1.2.3.4 - - [x] "GET / HTTP/1.1" 200 1\n', 'access')).toHaveLength(1);
  });

  it('cuts Windows event XML into its <Event> elements', () => {
    const xml = '<?xml version="1.0"?><Events><Event xmlns="x"><System><EventID>1</EventID></System></Event>\n<Event><System/></Event></Events>';
    expect(splitRecords(xml, 'winxml')).toEqual(['<Event xmlns="x"><System><EventID>1</EventID></System></Event>', '<Event><System/></Event>']);
    expect(() => splitRecords('<Events></Events>', 'winxml')).toThrow(/no <Event> element/);
    expect(() => splitRecords('<Events><Event><System/></Event><Event><System><EventID>4', 'winxml')).toThrow(/unexpected content outside <Event> elements: "<Event><System><EventID>4"/);
  });

  it('recognises the kind of an auto body from its first character', () => {
    expect(bodyKind('auto', ' [{"a":1}]')).toBe('json');
    expect(bodyKind('auto', '<?xml version="1.0"?><Events>')).toBe('xml');
    expect(bodyKind('auto', '<34>Oct 11 22:14:15 mymachine su: x')).toBe('lines');
    expect(declaredFormat('auto', 'lines')).toBe('');
    expect(declaredFormat('nginx', 'lines')).toBe('nginx');
  });
});

describe('chunk', () => {
  it('splits by record count', () => {
    const batches = chunk(Array.from({ length: 1201 }, (_, i) => String(i)), 500, 1e9);
    expect(batches.map((b) => b.length)).toEqual([500, 500, 201]);
  });

  it('splits by bytes, keeping an oversized record alone', () => {
    const big = 'x'.repeat(998);
    const batches = chunk(['a', big, 'b', 'c'], 100, 1000);
    expect(batches).toEqual([['a'], [big], ['b', 'c']]);
  });
});
