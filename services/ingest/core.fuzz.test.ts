// Property-based fuzzing (fast-check) of the body splitter: any body of any format is cut into records or refused with a ValidationError and a reason.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { ValidationError } from '../core/errors.js';
import { fuzzParameters, hostileRecord, hostileText, hugeToken, jsonRecord } from '../../test/fuzz/arbitraries.js';
import { BODY_FORMATS, bodyKind, chunk, eventElements, splitRecords, type BodyFormat } from './core.js';

const EVENT = '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="P"/><EventID>1</EventID></System><EventData><Data Name="a">b</Data></EventData></Event>';
const SEEDS = [
  EVENT, `<?xml version="1.0"?><Events>${EVENT}\n${EVENT}</Events>`, '[{"a":1},{"b":[2,{"c":"]"}]}]', '{"a":1}\n{"b":2}\n', '{"message":"x"}',
  '<13>Nov 22 10:00:00 h sshd[1]: Failed password for root from 10.0.0.1 port 22 ssh2\n<13>Nov 22 10:00:01 h app: x\r\n',
  '1.2.3.4 - - [22/Nov/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 1 "-" "ua"\n', 'CEF:0|V|P|1|1|n|5|src=10.0.0.1\n',
];
const body = fc.oneof(
  { weight: 4, arbitrary: fc.array(hostileRecord(SEEDS), { minLength: 1, maxLength: 6 }).chain((parts) => fc.constantFrom('\n', '', ',', '\r\n').map((sep) => parts.join(sep))) },
  { weight: 1, arbitrary: fc.array(jsonRecord, { minLength: 1, maxLength: 5 }).map((rs) => `[${rs.join(',')}]`) },
  { weight: 1, arbitrary: fc.tuple(hostileText(30), hugeToken, hostileText(30)).map((p) => p.join('')) },
);
const format = fc.constantFrom(...BODY_FORMATS) as fc.Arbitrary<BodyFormat>;
// The pattern the XML scanner replaced, as the reference for what an <Event> element is (fine on small bodies).
const EVENT_ELEMENT = /<Event[\s>][\s\S]*?<\/Event\s*>/g;

// Plain checks, not expect(): they run ten thousand times per property.
function check(ok: boolean, problem: () => string): void {
  if (!ok) throw new Error(problem());
}

describe('fuzzing the body splitter with fast-check', () => {
  it('cuts any body into non-blank records that fit a batch, or refuses it with a reason', () => {
    fc.assert(fc.property(body, format, (b, f) => {
      const kind = bodyKind(f, b);
      let records: string[];
      try {
        records = splitRecords(b, f, kind);
      } catch (err) {
        check(err instanceof ValidationError, () => `threw ${(err as Error)?.name}: ${(err as Error)?.message}`);
        check((err as Error).message.trim() !== '', () => 'refused with an empty reason');
        return;
      }
      check(records.length > 0, () => 'no record and no refusal');
      for (const r of records) {
        check(r.trim() !== '', () => 'a blank record');
        // JSON records are valid JSON as cut; XML records are whole elements of the body.
        if (kind === 'json' || kind === 'ndjson') JSON.parse(r);
        if (kind === 'xml') check(b.includes(r), () => 'an XML record not cut from the body');
      }
      if (kind === 'xml' && b.length < 20_000) check(JSON.stringify(records) === JSON.stringify(b.match(EVENT_ELEMENT)), () => 'not the elements the old pattern found');
      const batches = chunk(records, 500, 8 * 1024 * 1024 * 0.9);
      check(JSON.stringify(batches.flat()) === JSON.stringify(records), () => 'batches lost or reordered records');
    }), fuzzParameters());
  });

  it('finds the same <Event> elements as the pattern it replaced, on markup soup', () => {
    const soup = fc.array(fc.constantFrom('<Event>', '<Event ', '<Event\n', '</Event>', '</Event\t>', '</Events>', '<Events>', '<EventData>', '</Event', 'x', ' ', '<!--', '-->'), { maxLength: 30 }).map((p) => p.join(''));
    fc.assert(fc.property(soup, (b) => {
      check(JSON.stringify(eventElements(b).events) === JSON.stringify(b.match(EVENT_ELEMENT) ?? []), () => 'not the elements the old pattern found');
    }), fuzzParameters());
  });
});
