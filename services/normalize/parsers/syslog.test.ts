// Tests of the syslog parser: realistic auth.log / RFC 5424 fixtures with every field checked, time rules and rejects.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.js';
import type { Event } from '../../core/proto.js';
import { parseSyslog } from './syslog.js';

interface Case { it: string; line: string; event: Event; extra: unknown }
const fixtures = JSON.parse(readFileSync(new URL('./fixtures/syslog-cases.json', import.meta.url), 'utf8')) as { receivedMs: number; cases: Case[] };
const ctx = { sourceId: 'auth', receivedMs: fixtures.receivedMs };

function one(line: string, receivedMs = fixtures.receivedMs): Event {
  const out = parseSyslog(line, { sourceId: 'auth', receivedMs });
  expect(out).toHaveLength(1);
  return out[0]!;
}

function reason(line: string): string {
  try {
    parseSyslog(line, ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
  throw new Error(`accepted: ${line}`);
}

describe('syslog fixtures', () => {
  for (const c of fixtures.cases) {
    it(c.it, () => {
      const { raw, extra_json, ...event } = one(c.line);
      expect(raw).toBe(c.line);
      expect(event).toEqual(c.event);
      expect(extra_json ? JSON.parse(extra_json) : null).toEqual(c.extra);
    });
  }
});

describe('syslog timestamps', () => {
  it('puts a December line received on 1 January in the previous year', () => {
    expect(one('<38>Dec 31 23:59:58 h app: x', Date.UTC(2025, 0, 1, 0, 0, 5)).timestamp).toBe('2024-12-31T23:59:58Z');
  });

  it('puts a 1 January line from a clock running ahead, received on 31 December, in the next year', () => {
    expect(one('<38>Jan  1 00:00:01 h app: x', Date.UTC(2024, 11, 31, 23, 59, 50)).timestamp).toBe('2025-01-01T00:00:01Z');
  });

  it('keeps the receive year in the middle of the year', () => {
    expect(one('<38>Jul  4 10:00:00 h app: x', Date.UTC(2024, 6, 4, 10, 0, 3)).timestamp).toBe('2024-07-04T10:00:00Z');
  });

  it('accepts 29 February only in a leap year near the receive time', () => {
    expect(one('<38>Feb 29 12:00:00 h app: x', Date.UTC(2024, 1, 29, 12, 0, 1)).timestamp).toBe('2024-02-29T12:00:00Z');
    expect(one('<38>Feb 29 12:00:00 h app: x', Date.UTC(2025, 2, 1, 0, 0, 0)).timestamp).toBe('2024-02-29T12:00:00Z');
  });

  it('keeps a BSD timestamp that carries its own year and sub-second digits', () => {
    expect(one('<38>Mar 15 2019 11:58:01.123456 h app: x').timestamp).toBe('2019-03-15T11:58:01.123456Z');
  });

  it('converts an RFC 5424 offset time to UTC keeping every fraction digit', () => {
    expect(one('<13>1 2024-03-15T00:30:00.000001-05:30 h a - - - m').timestamp).toBe('2024-03-15T06:00:00.000001Z');
  });

  it('leaves the time to the normalize core when RFC 5424 gives none', () => {
    expect(one('<13>1 - h a - - - m').timestamp).toBeUndefined();
  });
});

describe('syslog header details', () => {
  it('reads the priority as facility and severity, and severity 0 (emergency) too', () => {
    const e = one('<0>Mar 15 11:58:01 h kernel: panic');
    expect(JSON.parse(e.extra_json!).log.syslog).toEqual({ priority: 0, facility: { code: 0, name: 'kern' }, severity: { code: 0, name: 'emergency' } });
  });

  it('keeps a non-numeric RFC 5424 PROCID in extra instead of process.pid', () => {
    const e = one('<13>1 2024-03-15T11:58:00Z h app worker-7 - - started');
    expect(e.process).toEqual({ name: 'app' });
    expect(JSON.parse(e.extra_json!).log.syslog.procid).toBe('worker-7');
  });

  it('reads a local line without a host name, the tag right after the time', () => {
    const e = one('<13>Mar 15 11:58:01 myprog[77]: hello');
    expect(e.host).toBeUndefined();
    expect(e.process).toEqual({ name: 'myprog', pid: 77 });
    expect(e.message).toBe('hello');
  });

  it('keeps a message that has no tag whole', () => {
    const e = one('<13>Mar 15 11:58:01 host some text without a tag');
    expect(e.process).toBeUndefined();
    expect(e.message).toBe('some text without a tag');
  });

  it('strips one trailing line break left by framing', () => {
    expect(one('<13>Mar 15 11:58:01 host app: hi\r\n').message).toBe('hi');
  });

  it('keeps ANSI colour escapes in a message, where control characters can be', () => {
    expect(one('<13>Mar 15 11:58:01 host app: \x1b[31mred\x1b[0m').message).toBe('\x1b[31mred\x1b[0m');
  });

  it('does not read an sshd-looking message from another program as a login', () => {
    expect(one('<38>Mar 15 11:58:01 h cron[1]: Accepted password for alice from 192.0.2.1 port 22 ssh2').event?.category).toBeUndefined();
  });

  it('reads an sshd login from a client whose address was resolved to a name as source.domain', () => {
    expect(one('<38>Mar 15 11:58:01 h sshd[1]: Accepted password for alice from gw.example.net port 22 ssh2').source).toEqual({ domain: 'gw.example.net', port: 22 });
  });

  it('keeps an sshd user name that contains " from " when the address and port follow', () => {
    const e = one('<38>Mar 15 11:58:01 h sshd[1]: Failed password for invalid user x from 6.6.6.6 port 1 from 192.0.2.9 port 4242 ssh2');
    expect(e.user?.name).toBe('x from 6.6.6.6 port 1');
    expect(e.source).toEqual({ ip: '192.0.2.9', port: 4242 });
  });

  it('keeps a sudo command that itself contains " ; "', () => {
    const e = one('<86>Mar 15 11:55:00 h sudo: alice : TTY=pts/1 ; PWD=/ ; USER=root ; COMMAND=/bin/sh -c echo a ; echo b');
    expect(JSON.parse(e.extra_json!).system.auth.sudo.command).toBe('/bin/sh -c echo a ; echo b');
    expect(e.event?.outcome).toBe('success');
  });
});

describe('syslog rejects', () => {
  it('rejects an empty line', () => {
    expect(reason('')).toMatch(/empty/);
  });

  it('rejects a priority over 191', () => {
    expect(reason('<192>Mar 15 11:58:01 h app: x')).toMatch(/priority 192 is over 191/);
  });

  it('rejects a malformed priority', () => {
    expect(reason('<1a>Mar 15 11:58:01 h app: x')).toMatch(/priority must be/);
  });

  it('rejects a line that is neither prioritised nor timestamped', () => {
    expect(reason('hello world')).toMatch(/not a syslog line/);
  });

  it('rejects a line truncated after the timestamp', () => {
    expect(reason('<13>Mar 15 11:58:01')).toMatch(/truncated/);
  });

  it('rejects a BSD time of day that does not exist', () => {
    expect(reason('<13>Mar 15 25:58:01 h app: x')).toMatch(/not a time of day/);
  });

  it('rejects a day that no candidate year has', () => {
    expect(reason('<13>Feb 30 11:58:01 h app: x')).toMatch(/does not exist/);
  });

  it('rejects a truncated RFC 5424 header and names the missing field', () => {
    expect(reason('<13>1 2024-03-15T11:58:00Z host app')).toMatch(/truncated RFC 5424 header: nothing follows the APP-NAME/);
  });

  it('rejects RFC 5424 structured data that is not closed', () => {
    expect(reason('<13>1 2024-03-15T11:58:00Z h a - - [id@1 k="v" msg')).toMatch(/truncated RFC 5424 structured data/);
  });

  it('rejects an RFC 5424 timestamp that is not RFC 3339', () => {
    expect(reason('<13>1 15/03/2024 h a - - - m')).toMatch(/not an RFC 3339 time/);
  });

  it('rejects a control character inside the RFC 5424 host name', () => {
    expect(reason('<13>1 2024-03-15T11:58:00Z ho\x01st a - - - m')).toMatch(/control character U\+0001 in the syslog HOSTNAME/);
  });

  it('rejects a NUL anywhere in the line', () => {
    expect(reason('<13>Mar 15 11:58:01 h app: a\0b')).toMatch(/NUL character at offset 28/);
  });

  it('rejects a message over 64 KiB', () => {
    expect(reason(`<13>Mar 15 11:58:01 h app: ${'x'.repeat(65537)}`)).toMatch(/syslog message is 65537 characters, over the limit of 65536/);
  });
});
