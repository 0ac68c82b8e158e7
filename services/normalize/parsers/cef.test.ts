// Tests of the CEF parser: bare and syslog-framed records, header and extension escapes, ECS mapping, rejects.
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.js';
import type { Event } from '../../core/proto.js';
import { parseCef } from './cef.js';

const ctx = { sourceId: 'siem', receivedMs: Date.UTC(2024, 2, 15, 12, 0, 0) };

function one(line: string): Event & { extra: Record<string, any> } {
  const out = parseCef(line, ctx);
  expect(out).toHaveLength(1);
  expect(out[0]!.raw).toBe(line);
  return { ...out[0]!, extra: JSON.parse(out[0]!.extra_json!) };
}

function reason(line: string): string {
  try {
    parseCef(line, ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
  throw new Error(`accepted: ${line}`);
}

describe('CEF records', () => {
  it('reads a bare record: header to observer, code, severity and message, extension to source and destination', () => {
    const e = one('CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232');
    expect(e.event).toEqual({ kind: 'event', module: 'cef', code: '100', severity: 10, category: ['network'], type: ['connection'] });
    expect(e.observer).toEqual({ vendor: 'Security', product: 'threatmanager' });
    expect(e.message).toBe('worm successfully stopped');
    expect(e.source).toEqual({ ip: '10.0.0.1', port: 1232 });
    expect(e.destination).toEqual({ ip: '2.1.2.2' });
    expect(e.timestamp).toBeUndefined();
    expect(e.extra.cef).toEqual({
      version: 0, device: { vendor: 'Security', product: 'threatmanager', version: '1.0', event_class_id: '100' },
      name: 'worm successfully stopped', severity: '10', extensions: { src: '10.0.0.1', dst: '2.1.2.2', spt: '1232' },
    });
  });

  it('reads a record behind a syslog header, its rt time, traffic fields and escaped backslash', () => {
    const e = one('<134>Mar 15 11:58:01 fw-01 CEF:0|Palo Alto Networks|PAN-OS|10.1|TRAFFIC|end|3|rt=Mar 15 2024 10:58:01 GMT deviceExternalId=0123 src=192.0.2.10 dst=198.51.100.20 spt=51515 dpt=443 proto=TCP act=allow suser=corp\\\\alice app=ssl in=1200 out=5400 cs1Label=Rule cs1=allow-web');
    expect(e.timestamp).toBe('2024-03-15T10:58:01Z');
    expect(e.host).toEqual({ name: 'fw-01' });
    expect(e.event).toEqual({ kind: 'event', module: 'cef', code: 'TRAFFIC', severity: 3, action: 'allow', category: ['network'], type: ['connection'] });
    expect(e.source).toEqual({ ip: '192.0.2.10', port: 51515, bytes: 1200 });
    expect(e.destination).toEqual({ ip: '198.51.100.20', port: 443, bytes: 5400 });
    expect(e.network).toEqual({ transport: 'tcp', protocol: 'ssl' });
    expect(e.user).toEqual({ name: 'corp\\alice' });
    expect(e.extra.cef.extensions.cs1).toBe('allow-web');
    expect(e.extra.log.syslog).toEqual({ priority: 134, facility: { code: 16, name: 'local0' }, severity: { code: 6, name: 'informational' } });
  });

  it('unescapes pipes and backslashes in the header and =, \\n in extension values', () => {
    const e = one('CEF:0|Vendor\\|X|Prod\\\\Y|1|sig|Name with \\| pipe|Medium|msg=a \\= b\\nnext line request=https://Example.com/a?b=c&d=e requestMethod=get');
    expect(e.observer).toEqual({ vendor: 'Vendor|X', product: 'Prod\\Y' });
    expect(e.extra.cef.name).toBe('Name with | pipe');
    expect(e.event?.severity).toBe(6);
    expect(e.message).toBe('a = b\nnext line');
    expect(e.url).toEqual({ original: 'https://Example.com/a?b=c&d=e', scheme: 'https', domain: 'example.com', path: '/a', query: 'b=c&d=e' });
    expect(e.http).toEqual({ request_method: 'GET' });
  });

  it('reads an epoch-millisecond rt, file fields, the outcome and the target user', () => {
    const e = one('CEF:1|Trend Micro|Deep Security Agent|20.0|4000000|Malware detected|8|rt=1710503881000 fname=evil.exe filePath=C:\\\\temp\\\\evil.exe fsize=1024 outcome=blocked duser=bob shost=ws-17 smac=00:11:22:33:44:55');
    expect(e.timestamp).toBe('2024-03-15T11:58:01.000Z');
    expect(e.event?.outcome).toBe('failure');
    expect(e.file).toEqual({ name: 'evil.exe', path: 'C:\\temp\\evil.exe', size: 1024 });
    expect(e.user).toEqual({ target: { name: 'bob' } });
    expect(e.source).toEqual({ domain: 'ws-17', mac: '00:11:22:33:44:55' });
  });

  it('keeps a source that is not an IP address as source.address', () => {
    expect(one('CEF:0|V|P|1|1|n|1|src=gateway.local').source).toEqual({ address: 'gateway.local' });
  });

  it('accepts a record without extension', () => {
    expect(one('CEF:0|V|P|1|1|n|1|').extra.cef.extensions).toEqual({});
  });
});

describe('CEF rejects', () => {
  it('rejects a header cut short and names the missing field', () => {
    expect(reason('CEF:0|Security|threatmanager|1.0|100')).toMatch(/truncated CEF header: 4 of its 7 fields end with "\|", the signature ID does not/);
  });

  it('rejects a record without "CEF:"', () => {
    expect(reason('LEEF:1.0|IBM|QRadar|1|x|')).toMatch(/not a CEF record/);
  });

  it('rejects a version that is not a number', () => {
    expect(reason('CEF:x|V|P|1|1|n|1|')).toMatch(/CEF version "x" is not a number/);
  });

  it('rejects text before CEF: that is not a syslog header', () => {
    expect(reason('hello there CEF:0|V|P|1|1|n|1|')).toMatch(/the text before "CEF:" is not a syslog header/);
  });

  it('rejects an extension that is not key=value pairs', () => {
    expect(reason('CEF:0|V|P|1|1|n|1|just words')).toMatch(/holds no key=value pair/);
  });

  it('rejects a raw line break, which CEF escapes', () => {
    expect(reason('CEF:0|V|P|1|1|n|1|msg=a\nb')).toMatch(/control character U\+000A/);
  });

  it('rejects an extension value over 64 KiB', () => {
    expect(reason(`CEF:0|V|P|1|1|n|1|msg=${'x'.repeat(70000)}`)).toMatch(/CEF extension msg is 70000 characters/);
  });
});
