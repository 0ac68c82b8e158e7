import { describe, expect, it } from 'vitest';
import { ValidationError } from '../core/errors.js';
import { RecordTooLargeError, bodyKind, chunk, declaredFormat, eventElements, splitRecords } from './core.js';

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

describe('splitRecords on hostile bodies', () => {
  // The pattern the scanner replaced: the reference for what an <Event> element is.
  const EVENT_ELEMENT = /<Event[\s>][\s\S]*?<\/Event\s*>/g;

  it('cuts <Event> elements exactly where the old pattern did, on generated small bodies', () => {
    const parts = ['<Event>', '<Event ', '<Event\t', '</Event>', '</Event >', '</Events>', '<Events>', '<EventData>', 'x', ' ', '\n', '<Event', '</Event'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let k = 0; k < 3000; k++) {
      let body = '';
      const n = 1 + Math.floor(next() * 12);
      for (let i = 0; i < n; i++) body += parts[Math.floor(next() * parts.length)];
      expect(eventElements(body).events, JSON.stringify(body)).toEqual(body.match(EVENT_ELEMENT) ?? []);
    }
  });

  it('answers bodies of a million unclosed tags, comments and declarations with a reason', () => {
    expect(() => splitRecords('<Event>'.repeat(150_000), 'winxml')).toThrow(/no <Event> element found/);
    expect(() => splitRecords('<?xml version="1.0"?>' + '<Event '.repeat(150_000), 'auto')).toThrow(/no <Event> element found/);
    const one = '<Event><System/></Event>';
    expect(() => splitRecords(one + '<!--'.repeat(250_000), 'winxml')).toThrow(/unexpected content outside <Event> elements: "<!--<!--/);
    expect(() => splitRecords(one + '<?xml '.repeat(150_000), 'winxml')).toThrow(/unexpected content outside <Event> elements: "<\?xml/);
    expect(splitRecords(`<?xml version="1.0"?>\n<!-- c --><Events>${one}\n${one}</Events >\n`, 'auto')).toEqual([one, one]);
  });

  it('refuses JSON nested deeper than a record may be, before parsing it', () => {
    expect(() => splitRecords('['.repeat(1_000_000) + ']'.repeat(1_000_000), 'json')).toThrow(/^line 1: JSON nests deeper than 32 levels/);
    expect(() => splitRecords('{"a":1}\n' + '{"a":'.repeat(40) + '1' + '}'.repeat(40), 'ndjson')).toThrow(/^line 2: JSON nests deeper than 32 levels/);
    // 32 levels inside a body array are fine; brackets inside strings do not count.
    const deep = `${'['.repeat(32)}${']'.repeat(32)}`;
    expect(splitRecords(`[${deep}, "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["]`, 'json')).toEqual([deep, '"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["']);
  });

  it('keeps each element of a JSON array as the client wrote it', () => {
    expect(splitRecords('[ {"a" : 1 , "s":"x,]}\\""} ,\n\t[1, {"b":[2]}] , "x" ]', 'json')).toEqual(['{"a" : 1 , "s":"x,]}\\""}', '[1, {"b":[2]}]', '"x"']);
  });

  it('tells NDJSON sent as JSON from one malformed document without a backtracking search', () => {
    expect(() => splitRecords('{' + '\n'.repeat(1_000_000), 'json')).toThrow(/^invalid JSON/);
    expect(splitRecords('{"a":1}\n\n   \n{"b":2}', 'json')).toEqual(['{"a":1}', '{"b":2}']);
  });
});

describe('chunk limits', () => {
  it('refuses with 413 a record no stream message can carry', () => {
    let err: unknown;
    try { chunk(['a', 'x'.repeat(2000)], 100, 1000); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(RecordTooLargeError);
    expect((err as RecordTooLargeError).statusCode).toBe(413);
    expect((err as Error).message).toMatch(/^record 2 is 2000 bytes, over the 1000 bytes one event stream message carries/);
  });
});
