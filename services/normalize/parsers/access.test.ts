// Tests of the access-log parser: Apache and Nginx fixtures with every field checked, and the lines it must refuse.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.js';
import type { Event } from '../../core/proto.js';
import { parseAccess } from './access.js';

interface Case { it: string; line: string; event: Event; extra: unknown }
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/access-cases.json', import.meta.url), 'utf8')) as { cases: Case[] };
const ctx = { sourceId: 'web', receivedMs: Date.UTC(2024, 2, 15) };
const GOOD = '192.0.2.10 - - [15/Mar/2024:12:58:01 +0100] "GET /index.html HTTP/1.1" 200 5120 "https://www.example.org/" "Mozilla/5.0"';

function reason(line: string): string {
  try {
    parseAccess(line, ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
  throw new Error(`accepted: ${line}`);
}

describe('access log fixtures', () => {
  for (const c of fixtures.cases) {
    it(c.it, () => {
      const out = parseAccess(c.line, ctx);
      expect(out).toHaveLength(1);
      const { raw, extra_json, ...event } = out[0]!;
      expect(raw).toBe(c.line);
      expect(event).toEqual(c.event);
      expect(extra_json ? JSON.parse(extra_json) : null).toEqual(c.extra);
    });
  }
});

describe('access log details', () => {
  it('marks 3xx as success and 4xx and 5xx as failure', () => {
    const outcome = (status: number) => parseAccess(GOOD.replace(' 200 ', ` ${status} `), ctx)[0]!.event?.outcome;
    expect([outcome(302), outcome(399), outcome(400), outcome(404), outcome(503)]).toEqual(['success', 'success', 'failure', 'failure', 'failure']);
  });

  it('accepts a line ending with a newline', () => {
    expect(parseAccess(`${GOOD}\n`, ctx)[0]!.user_agent?.original).toBe('Mozilla/5.0');
  });

  it('keeps \\x escapes of non-printable bytes as written', () => {
    const e = parseAccess(GOOD.replace('Mozilla/5.0', 'caf\\xc3\\xa9'), ctx)[0]!;
    expect(e.user_agent?.original).toBe('caf\\xc3\\xa9');
  });
});

describe('access log rejects', () => {
  it('rejects a line cut inside the user agent', () => {
    expect(reason(GOOD.slice(0, -5))).toMatch(/truncated access log line: the quoted user agent is not closed/);
  });

  it('rejects a line cut inside the request', () => {
    expect(reason(GOOD.slice(0, 60))).toMatch(/truncated access log line: the quoted request is not closed/);
  });

  it('rejects a line cut before the status', () => {
    expect(reason(GOOD.slice(0, GOOD.indexOf('HTTP/1.1"') + 9))).toMatch(/truncated access log line: status code is missing/);
  });

  it('rejects a time that is not in access-log form', () => {
    expect(reason(GOOD.replace('15/Mar/2024:12:58:01', '2024-03-15 12:58:01'))).toMatch(/is not "dd\/Mon\/yyyy:hh:mm:ss \+zzzz"/);
  });

  it('rejects a date that does not exist', () => {
    expect(reason(GOOD.replace('15/Mar', '31/Apr'))).toMatch(/is not a date/);
  });

  it('rejects a status that is not three digits', () => {
    expect(reason(GOOD.replace(' 200 ', ' OK '))).toMatch(/status "OK" is not a three-digit HTTP status/);
  });

  it('rejects a raw control character, which servers always escape', () => {
    expect(reason(GOOD.replace('Mozilla', 'Moz\x07illa'))).toMatch(/control character U\+0007 at column/);
  });

  it('rejects a user agent over 64 KiB', () => {
    expect(reason(GOOD.replace('Mozilla/5.0', 'A'.repeat(70000)))).toMatch(/user agent is 70000 characters, over the limit/);
  });

  it('rejects a line without a time', () => {
    expect(reason('192.0.2.1 - - "GET / HTTP/1.1" 200 1')).toMatch(/no \[time\]/);
  });
});
