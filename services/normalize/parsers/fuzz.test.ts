// Seeded fuzzing of every parser: mutated and random records may be rejected, but only with a ValidationError and a reason.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.js';
import { Event } from '../../core/proto.js';
import { MAX_FIELD_CHARS } from './guard.js';
import { PARSERS } from './index.js';
import type { Parser } from './types.js';
import { prng } from '../../../test/prng.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const SAMPLES = join(REPO, '../shared/data/sysmon-samples');
const ctx = { sourceId: 'fuzz', receivedMs: Date.UTC(2024, 2, 15, 12, 0, 0) };


const seeds: Record<string, string[]> = {
  syslog: (JSON.parse(readFileSync(join(FIXTURES, 'syslog-cases.json'), 'utf8')).cases as { line: string }[]).map((c) => c.line),
  access: (JSON.parse(readFileSync(join(FIXTURES, 'access-cases.json'), 'utf8')).cases as { line: string }[]).map((c) => c.line),
  winxml: [
    readFileSync(join(FIXTURES, 'security-4625.xml'), 'utf8'),
    readFileSync(join(SAMPLES, 'sysmon/Sysmon_1_Info_ProcExec.sample.xml'), 'utf8'),
    readFileSync(join(SAMPLES, 'builtin/Security/Default/Sec_1102_High_SecLogCleared.sample.xml'), 'utf8'),
    readFileSync(join(SAMPLES, 'builtin/System/Sys_6013_Info_ComputerUpTime.sample.xml'), 'utf8'),
  ],
  cef: [
    'CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232',
    '<134>Mar 15 11:58:01 fw-01 CEF:0|Palo Alto Networks|PAN-OS|10.1|TRAFFIC|end|3|rt=Mar 15 2024 10:58:01 GMT src=192.0.2.10 dst=198.51.100.20 spt=51515 dpt=443 proto=TCP act=allow suser=corp\\\\alice',
    'CEF:0|Vendor\\|X|Prod\\\\Y|1|sig|Name with \\| pipe|Medium|msg=a \\= b\\nnext line request=https://example.com/a?b=c requestMethod=get',
  ],
  json: [
    readFileSync(join(FIXTURES, 'winlogbeat-4625.json'), 'utf8'),
    JSON.stringify({ Event: { System: { Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon' } }, EventID: 1, Channel: 'Microsoft-Windows-Sysmon/Operational', Computer: 'PC', TimeCreated: { '#attributes': { SystemTime: '2024-03-15T11:58:01.123456Z' } } }, EventData: { ProcessId: 42, Image: 'C:\\x.exe', Hashes: 'MD5=00,SHA256=11', ParentProcessId: 1 } } }),
    '{"@timestamp":"2024-03-15T11:58:00Z","src_ip":"192.0.2.1","dst_port":443,"user":"alice","msg":"hello","tags":["a"],"labels.env":"prod","custom":{"a":[1,2]}}',
  ],
};

const CONTROL = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).concat('\x7f');
const UNICODE = ['\u00e9', '\u6771\u4eac', '\u{1F600}', '\u202e', '\u0301', '\ud800', '\udfff', '\ufeff', '\ufffe', '\uffff', '\u2028', '\u0000'];
const STRUCTURE = ['<', '>', '&', '"', "'", '\\', '|', '=', '[', ']', '{', '}', ':', ';', ' ', '-', '/', '&amp;', '&#0;', '<![CDATA[', ']]>', '<!--', '\\"', '\\x22'];

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

function mutate(r: () => number, s: string): string {
  const at = () => Math.floor(r() * (s.length + 1));
  switch (Math.floor(r() * 9)) {
    case 0: return s.slice(0, at());
    case 1: { const i = at(); return s.slice(0, i) + String.fromCharCode(Math.floor(r() * 256)) + s.slice(i + 1); }
    case 2: { const i = at(); return s.slice(0, i) + pick(r, CONTROL) + s.slice(i); }
    case 3: { const i = at(); return s.slice(0, i) + 'A'.repeat(MAX_FIELD_CHARS + 1 + Math.floor(r() * 2000)) + s.slice(i); }
    case 4: { const i = at(); return s.slice(0, i) + pick(r, UNICODE) + s.slice(i); }
    case 5: { const i = at(); const j = at(); return s.slice(0, Math.min(i, j)) + s.slice(Math.max(i, j)); }
    case 6: { const i = at(); const j = at(); return s.slice(0, Math.max(i, j)) + s.slice(Math.min(i, j)); }
    case 7: { const i = at(); return s.slice(0, i) + pick(r, STRUCTURE) + s.slice(i); }
    default: { const i = at(); return s.slice(0, i) + s.slice(i, i + 1).toUpperCase() + s.slice(i + 1); }
  }
}

function randomRecord(r: () => number): string {
  const n = Math.floor(r() * 200);
  let s = '';
  for (let k = 0; k < n; k++) {
    const x = r();
    s += x < 0.5 ? String.fromCharCode(32 + Math.floor(r() * 95)) : x < 0.8 ? pick(r, STRUCTURE) : x < 0.9 ? pick(r, UNICODE) : pick(r, CONTROL);
  }
  return s;
}

interface Failure { parser: string; seed: number; index: number; input: string; problem: string }

/** Runs one input through one parser: 'accepted', 'rejected', or what is wrong. */
function check(parser: Parser, input: string): 'accepted' | 'rejected' | string {
  let out: unknown;
  try {
    out = parser(input, ctx);
  } catch (err) {
    if (!(err instanceof ValidationError)) return `threw ${(err as Error)?.name}: ${(err as Error)?.message}`;
    if (!err.message.trim()) return 'rejected with an empty reason';
    // The guard turns crashes into ValidationErrors with the crash as cause: that is a bug the input found.
    if (err.cause instanceof Error && !(err.cause instanceof ValidationError)) return `crashed inside: ${err.cause.name}: ${err.cause.message}`;
    return 'rejected';
  }
  if (!Array.isArray(out) || out.length === 0) return 'returned no array of events';
  for (const e of out as Event[]) {
    const invalid = Event.verify(e);
    if (invalid) return `returned an event the wire format refuses: ${invalid}`;
    if (e.extra_json !== undefined && e.extra_json !== null) JSON.parse(e.extra_json);
  }
  return 'accepted';
}

const SEED = 20240315;
const MUTANTS_PER_FORMAT = 600;
const RANDOM_RECORDS = 400;

describe('fuzzing every parser', () => {
  const parsers: [string, Parser][] = [
    ['syslog', PARSERS.syslog!], ['access', PARSERS.access!], ['winxml', PARSERS.winxml!], ['cef', PARSERS.cef!], ['json', PARSERS.json!],
  ];

  it(`lets only ValidationErrors with a reason escape, for ${Object.keys(seeds).length * MUTANTS_PER_FORMAT + RANDOM_RECORDS} inputs through each of the ${parsers.length} parsers (seed ${SEED})`, () => {
    const r = prng(SEED);
    const inputs: string[] = [];
    for (const format of Object.keys(seeds)) {
      for (let k = 0; k < MUTANTS_PER_FORMAT; k++) {
        let s = pick(r, seeds[format]!);
        const rounds = 1 + Math.floor(r() * 3);
        for (let m = 0; m < rounds; m++) s = mutate(r, s);
        inputs.push(s);
      }
    }
    for (let k = 0; k < RANDOM_RECORDS; k++) inputs.push(randomRecord(r));

    const failures: Failure[] = [];
    let accepted = 0;
    let rejected = 0;
    for (const [name, parser] of parsers) {
      for (let i = 0; i < inputs.length; i++) {
        const result = check(parser, inputs[i]!);
        if (result === 'accepted') accepted++;
        else if (result === 'rejected') rejected++;
        else failures.push({ parser: name, seed: SEED, index: i, input: inputs[i]!.slice(0, 300), problem: result });
      }
    }
    expect(failures.slice(0, 5)).toEqual([]);
    // The mutants must exercise both sides: many still parse, many are refused.
    expect(accepted).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(1000);
  });

  it('parses every unmutated seed with its own parser', () => {
    for (const [format, list] of Object.entries(seeds)) {
      for (const s of list) expect(PARSERS[format]!(s, ctx).length, `${format}: ${s.slice(0, 60)}`).toBeGreaterThan(0);
    }
  });
});
