// Property-based fuzzing (fast-check) of every parser and of normalize's format guess: accepted records give valid events without prototype keys, rejected ones a ValidationError with a reason.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toEcs } from '../../core/ecs.js';
import { ValidationError } from '../../core/errors.js';
import { Event } from '../../core/proto.js';
import { jsonProblem } from '../../core/untrusted.js';
import { fuzzParameters, hostileRecord } from '../../../test/fuzz/arbitraries.js';
import { normalizeRaw } from '../core.js';
import { PARSERS } from './index.js';
import type { Parser } from './types.js';
import { SHARED_DATA } from '../../../test/harness.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const SAMPLES = join(SHARED_DATA, 'sysmon-samples');
const ctx = { sourceId: 'fuzz', receivedMs: Date.UTC(2024, 2, 15, 12, 0, 0) };

const cases = (file: string) => (JSON.parse(readFileSync(join(FIXTURES, file), 'utf8')).cases as { line: string }[]).map((c) => c.line);
const SEEDS: Record<string, string[]> = {
  syslog: [...cases('syslog-cases.json'),
    'Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh ruser= rhost=218.188.2.4 ',
    "Jul 10 03:55:15 combo login[2592]: FAILED LOGIN (1) on '/dev/tty1' FOR 'UNKNOWN', Authentication failure",
    'Jun 17 07:07:00 combo ftpd[29504]: ANONYMOUS FTP LOGIN FROM 84.102.20.2, (anonymous)'],
  access: cases('access-cases.json'),
  winxml: [
    readFileSync(join(FIXTURES, 'security-4625.xml'), 'utf8'),
    readFileSync(join(SAMPLES, 'sysmon/Sysmon_1_Info_ProcExec.sample.xml'), 'utf8'),
    readFileSync(join(SAMPLES, 'builtin/Security/Default/Sec_1102_High_SecLogCleared.sample.xml'), 'utf8'),
    readFileSync(join(SAMPLES, 'builtin/System/Sys_6013_Info_ComputerUpTime.sample.xml'), 'utf8'),
    '<Event><System><Provider Name="P"/><EventID>1</EventID></System><UserData><W><A>1</A><A>2</A><B><C>3</C></B></W></UserData></Event>',
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
const ALL_SEEDS = Object.values(SEEDS).flat();

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).length;

// Plain checks, not expect(): they run ten thousand times per target, and expect() cost more than the parsing.
function check(ok: boolean, problem: () => string): void {
  if (!ok) throw new Error(problem());
}

function unpolluted(): void {
  check(Object.getOwnPropertyNames(Object.prototype).length === PROTOTYPE_NAMES && Object.getPrototypeOf(Object.prototype) === null,
    () => `Object.prototype was changed: ${Object.getOwnPropertyNames(Object.prototype).join(', ')}`);
}

/** What every parser promises for any input. */
function checkParse(parser: Parser, input: string): void {
  let out: Event[];
  try {
    out = parser(input, ctx);
  } catch (err) {
    check(err instanceof ValidationError, () => `threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
    check((err as Error).message.trim() !== '', () => 'refused with an empty reason');
    // The guard turns a crash into a ValidationError with the crash as cause: that is a bug the input found.
    const cause = (err as Error).cause;
    if (cause instanceof Error && !(cause instanceof ValidationError)) throw new Error(`the parser crashed inside: ${cause.name}: ${cause.message}`, { cause: err });
    unpolluted();
    return;
  }
  check(out.length > 0, () => 'returned no event');
  for (const e of out) {
    const invalid = Event.verify(e);
    check(invalid === null, () => `returned an event the wire format refuses: ${invalid}`);
    const extra: unknown = e.extra_json ? JSON.parse(e.extra_json) : null;
    const inExtra = jsonProblem(extra);
    check(inExtra === undefined, () => `extra_json: ${inExtra}`);
    // What the store writes: no prototype key anywhere in the document.
    const inDoc = jsonProblem(JSON.parse(JSON.stringify(toEcs(e))), 64);
    check(inDoc === undefined, () => `the stored document: ${inDoc}`);
  }
  unpolluted();
}

describe('fuzzing the parsers with fast-check', () => {
  for (const format of ['syslog', 'access', 'cef', 'winxml', 'json'] as const) {
    it(`${format}: any record is parsed into valid events or refused with a reason`, () => {
      const parser = PARSERS[format]!;
      // Mostly records of the format, the rest any hostile record.
      const arb = fc.oneof({ weight: 3, arbitrary: hostileRecord(SEEDS[format]!) }, { weight: 1, arbitrary: hostileRecord(ALL_SEEDS) });
      fc.assert(fc.property(arb, (input) => checkParse(parser, input)), fuzzParameters());
    });
  }

  it('normalize with no declared format: every record becomes an event or a dead letter with a reason', () => {
    fc.assert(fc.property(fc.array(hostileRecord(ALL_SEEDS), { minLength: 1, maxLength: 5 }), (records) => {
      const { events, rejects } = normalizeRaw({ source_id: 'fuzz', format: '', received_ms: ctx.receivedMs, records }, { idPrefix: 'f', nowMs: ctx.receivedMs });
      // Nothing accepted is lost: each record is accounted for, rejects carry the whole record.
      const indexes = new Set([...events.map((e) => Number(e.id!.split('.')[1])), ...rejects.map((r) => r.index)]);
      check(indexes.size === records.length, () => `${records.length} records, ${indexes.size} accounted for`);
      for (const r of rejects) {
        check(r.error.trim() !== '', () => `record ${r.index} refused with an empty reason`);
        check(r.record === records[r.index], () => `the dead letter of record ${r.index} is not the whole record`);
      }
      unpolluted();
    }), fuzzParameters());
  });

  it('parses every unmutated seed with its own parser', () => {
    for (const [format, list] of Object.entries(SEEDS)) {
      for (const s of list) expect(PARSERS[format]!(s, ctx).length, `${format}: ${s.slice(0, 60)}`).toBeGreaterThan(0);
    }
  });
});
