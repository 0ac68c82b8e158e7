// Tests of the parser registry and of format detection, alone and through the normalize core.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { normalizeRaw } from '../core.js';
import { parseAccess } from './access.js';
import { parseCef } from './cef.js';
import { PARSERS, detectFormat } from './index.js';
import { parseJson } from './json.js';
import { parseSyslog } from './syslog.js';
import { parseWinXml } from './winxml.js';
import { SHARED_DATA } from '../../../test/harness.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const SAMPLES = join(SHARED_DATA, 'sysmon-samples');
const lines = (file: string) => (JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')).cases as { line: string }[]).map((c) => c.line);

describe('the parser registry', () => {
  it('registers every format and its aliases', () => {
    expect(PARSERS.syslog).toBe(parseSyslog);
    expect([PARSERS.access, PARSERS.nginx, PARSERS.apache]).toEqual([parseAccess, parseAccess, parseAccess]);
    expect([PARSERS.winxml, PARSERS.xml, PARSERS.sysmon, PARSERS.windows]).toEqual([parseWinXml, parseWinXml, parseWinXml, parseWinXml]);
    expect(PARSERS.cef).toBe(parseCef);
    expect([PARSERS.json, PARSERS.ndjson]).toEqual([parseJson, parseJson]);
  });
});

describe('format detection', () => {
  it('detects every syslog fixture as syslog', () => {
    for (const l of lines('syslog-cases.json')) expect(detectFormat(l), l).toBe('syslog');
  });

  it('detects every access-log fixture as access', () => {
    for (const l of lines('access-cases.json')) expect(detectFormat(l), l).toBe('access');
  });

  it('detects every Windows event sample as winxml', () => {
    const files = readdirSync(SAMPLES, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.sample.xml'));
    expect(files.length).toBeGreaterThanOrEqual(100);
    for (const f of files) {
      const xml = readFileSync(join(SAMPLES, f), 'utf8');
      expect(detectFormat(xml), f).toBe(xml.trimStart().startsWith('<EventData') ? 'unknown' : 'winxml');
    }
  });

  it('detects an <Events> document with a declaration and a byte order mark', () => {
    expect(detectFormat('\uFEFF<?xml version="1.0"?>\n<Events><Event/></Events>')).toBe('winxml');
  });

  it('detects CEF, bare and behind a syslog header', () => {
    expect(detectFormat('CEF:0|V|P|1|1|n|1|src=1.2.3.4')).toBe('cef');
    expect(detectFormat('<134>Mar 15 11:58:01 fw-01 CEF:0|V|P|1|1|n|1|src=1.2.3.4')).toBe('cef');
    expect(detectFormat('Mar 15 11:58:01 fw-01 CEF:0|V|P|1|1|n|1|')).toBe('cef');
  });

  it('detects JSON objects, evtx_dump and Winlogbeat documents alike', () => {
    expect(detectFormat('  {"a":1}')).toBe('json');
    expect(detectFormat(readFileSync(join(FIXTURES, 'winlogbeat-4625.json'), 'utf8'))).toBe('json');
  });

  it('says unknown for what no parser reads', () => {
    expect(detectFormat('hello world')).toBe('unknown');
    expect(detectFormat('<html><body/></html>')).toBe('unknown');
    expect(detectFormat('')).toBe('unknown');
  });
});

describe('the normalize core with detection', () => {
  it('sends each record of an undeclared batch to its parser and rejects the rest with a reason', () => {
    const records = [
      lines('syslog-cases.json')[0]!,
      lines('access-cases.json')[0]!,
      readFileSync(join(FIXTURES, 'security-4625.xml'), 'utf8'),
      'CEF:0|V|P|1|1|n|1|src=192.0.2.1',
      '{"message":"hi"}',
      'not a log line',
      '<38>Mar 15 25:00:00 h app: bad time',
    ];
    const { events, rejects } = normalizeRaw({ source_id: 'mixed', format: '', received_ms: Date.UTC(2024, 2, 15, 12), records }, { idPrefix: 'p', nowMs: Date.UTC(2024, 2, 15, 12) });
    expect(events.map((e) => [e.id, e.event?.module ?? e.event?.category?.[0]])).toEqual([
      ['p.0', 'syslog'], ['p.1', 'web'], ['p.2', 'windows'], ['p.3', 'cef'], ['p.4', undefined],
    ]);
    expect(rejects.map((r) => [r.index, r.error])).toEqual([
      [5, 'format not recognised'],
      [6, 'syslog timestamp 25:00:00 is not a time of day'],
    ]);
  });
});
