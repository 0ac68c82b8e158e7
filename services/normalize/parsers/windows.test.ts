// Tests that Windows events rendered as JSON (evtx_dump, Winlogbeat) map exactly as their event XML does, and that other JSON is untouched.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.js';
import type { Event } from '../../core/proto.js';
import { jsonObjectToEvent, parseJson } from './json.js';
import { parseWinXml } from './winxml.js';
import { SHARED_DATA } from '../../../test/harness.js';

const CASES = join(SHARED_DATA, 'sigma-regression/cases');
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const ctx = { sourceId: 'win', receivedMs: Date.UTC(2024, 0, 1) };

function winlog(e: Event): Record<string, unknown> & { event_data: Record<string, string> } {
  return JSON.parse(e.extra_json!).winlog;
}

/** Some upstream .json files hold several JSON documents back to back: split them at depth 0. */
function jsonDocuments(text: string): string[] {
  const docs: string[] = [];
  let depth = 0; let start = -1; let inString = false; let escaped = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') { if (depth++ === 0) start = i; }
    else if (c === '}' && --depth === 0) docs.push(text.slice(start, i + 1));
  }
  return docs;
}

/**
 * The rendering differences SOURCE.txt documents between the upstream JSON and the XML rendered from the
 * same .evtx: GUIDs without braces, trailing whitespace stripped, CRLF as LF. Nothing else may differ.
 */
function comparable(data: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) out[k] = v.replace(/\r\n/g, '\n').trimEnd().replace(/^\{([0-9A-Fa-f-]{36})\}$/, '$1');
  return out;
}

describe('sigma regression cases: evtx_dump JSON against event XML', () => {
  if (!existsSync(CASES)) throw new Error(`test data not found at ${CASES} (expected the shared data beside the repository)`);
  const xmlFiles = readdirSync(CASES, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.xml')).sort();

  it('finds the cases', () => {
    expect(xmlFiles.length).toBeGreaterThanOrEqual(100);
  });

  for (const file of xmlFiles) {
    it(`gives the same event_data, event code and mapping for ${relative(CASES, join(CASES, file))}`, () => {
      const fromXml = parseWinXml(readFileSync(join(CASES, file), 'utf8'), ctx);
      const fromJson = jsonDocuments(readFileSync(join(CASES, file.replace(/\.xml$/, '.json')), 'utf8')).flatMap((d) => parseJson(d, ctx));
      expect(fromJson.length).toBe(fromXml.length);
      expect(fromXml.length).toBeGreaterThan(0);
      for (let i = 0; i < fromXml.length; i++) {
        const x = fromXml[i]!; const j = fromJson[i]!;
        expect(comparable(winlog(j).event_data)).toEqual(comparable(winlog(x).event_data));
        expect(j.event).toEqual(x.event);
        const { event_data: _xd, ...xRest } = winlog(x);
        const { event_data: _jd, ...jRest } = winlog(j);
        expect(jRest).toEqual(xRest);
        expect(j.process?.entity_id).toBe(x.process?.entity_id);
        // The JSON renders 6 fraction digits, the XML 9: the JSON time is the XML one cut short.
        expect(x.timestamp!.startsWith(j.timestamp!.slice(0, -1))).toBe(true);
      }
    });
  }
});

describe('evtx_dump JSON details', () => {
  const base = { Event: { System: { Provider: { '#attributes': { Name: 'Test' } }, EventID: 5, Channel: 'Application', Computer: 'PC' }, EventData: {} as Record<string, unknown> } };

  it('turns numbers, booleans and nulls into the strings Windows renders', () => {
    const doc = structuredClone(base);
    doc.Event.EventData = { a: 15596, b: true, c: null, d: 'x' };
    expect(winlog(parseJson(JSON.stringify(doc), ctx)[0]!).event_data).toEqual({ a: '15596', b: 'true', c: '', d: 'x' });
  });

  it('numbers Data without a name as XML does', () => {
    const doc = structuredClone(base);
    doc.Event.EventData = { Data: { '#text': ['one', 'two'] }, Binary: ' 00FF ' };
    expect(winlog(parseJson(JSON.stringify(doc), ctx)[0]!).event_data).toEqual({ Data1: 'one', Data2: 'two', Binary: '00FF' });
  });

  it('reads an EventID with qualifiers', () => {
    const doc = structuredClone(base) as Record<string, any>;
    doc.Event.System.EventID = { '#attributes': { Qualifiers: 16384 }, '#text': 7036 };
    expect(parseJson(JSON.stringify(doc), ctx)[0]!.event?.code).toBe('7036');
  });

  it('rejects an EventID that is not one', () => {
    const doc = structuredClone(base) as Record<string, any>;
    doc.Event.System.EventID = 'seven';
    expect(() => parseJson(JSON.stringify(doc), ctx)).toThrow(/Event.System.EventID "seven" is not an event ID/);
  });
});

describe('Winlogbeat JSON', () => {
  const beat = readFileSync(join(FIXTURES, 'winlogbeat-4625.json'), 'utf8');
  const xml = readFileSync(join(FIXTURES, 'security-4625.xml'), 'utf8');

  it('maps a Winlogbeat 4625 exactly as the same event in XML', () => {
    const [b] = parseJson(beat, ctx);
    const [x] = parseWinXml(xml, ctx);
    // Winlogbeat writes the level as a word (log.level), so only XML and evtx_dump give event.severity.
    const { severity, ...xEvent } = x!.event!;
    expect(severity).toBe(0);
    expect(b!.event).toEqual(xEvent);
    expect(b!.user).toEqual(x!.user);
    expect(b!.source).toEqual(x!.source);
    expect(b!.timestamp).toBe('2024-03-15T11:59:12.345Z');
    expect(winlog(b!).event_data).toEqual(winlog(x!).event_data);
    const { keywords: bk, ...bRest } = winlog(b!);
    const { keywords: xk, ...xRest } = winlog(x!);
    expect(bRest).toEqual(xRest);
    expect([bk, xk]).toEqual([['Audit Failure'], '0x8010000000000000']);
  });

  it('keeps what Winlogbeat added besides winlog: agent, host facts, tags and the message', () => {
    const [b] = parseJson(beat, ctx);
    expect(b!.agent).toEqual({ type: 'winlogbeat', version: '8.12.2', name: 'DC01', id: '5b2d1c7e-3f4a-4c55-9d0e-8a1b2c3d4e5f' });
    expect(b!.host).toEqual({ name: 'dc01.corp.example.com', hostname: 'dc01', os_family: 'windows', os_name: 'Windows Server 2022 Standard', os_version: '10.0' });
    expect(b!.tags).toEqual(['dc', 'tier0']);
    expect(b!.message).toBe('An account failed to log on.');
    expect(b!.raw).toBe(beat);
    const extra = JSON.parse(b!.extra_json!);
    expect(extra.ecs).toEqual({ version: '8.0.0' });
    expect(extra.log).toEqual({ level: 'information' });
  });
});

describe('the JSON parser for other shapes', () => {
  const records = [
    '{"@timestamp":"2024-03-15T11:58:00Z","src_ip":"192.0.2.1","user":"alice","msg":"hello","custom":{"a":1}}',
    '{"Event":"a string, not an evtx document","host":"web-1"}',
    '{"winlog":"not an object","event":{"action":"x"}}',
    '{"winlog":{"note":"no event id and no channel"}}',
  ];
  for (const r of records) {
    it(`keeps its own mapping for ${r.slice(0, 48)}`, () => {
      expect(parseJson(r, ctx)).toEqual([jsonObjectToEvent(JSON.parse(r), r)]);
    });
  }

  it('refuses a "__proto__" key at any depth with a reason, without polluting Object.prototype', () => {
    expect(() => parseJson('{"__proto__":{"polluted":"yes"}}', ctx)).toThrow(/the record uses the key "__proto__", which is refused/);
    expect(() => parseJson('{"a":{"b":[{"__proto__":{"deep":"yes"}}]}}', ctx)).toThrow(/the object at a\.b\.0 uses the key "__proto__"/);
    expect(() => parseJson('{"a.constructor.prototype.polluted":"yes"}', ctx)).toThrow(/uses the key "constructor"/);
    expect(() => parseJson('{"Event":{"System":{"EventID":1},"EventData":{"prototype":"x"}}}', ctx)).toThrow(/uses the key "prototype"/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(({} as Record<string, unknown>).deep).toBeUndefined();
  });

  it('rejects a document nested thousands of levels deep with a reason instead of crashing', () => {
    const deep = `${'{"a":'.repeat(20000)}1${'}'.repeat(20000)}`;
    expect(() => parseJson(deep, ctx)).toThrow(ValidationError);
  });
});
