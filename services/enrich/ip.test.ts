import { describe, expect, it } from 'vitest';
import { formatIPv6, parseCidr, parseIp, scopeOf } from './ip.js';

const scope = (s: string) => scopeOf(parseIp(s)!);

describe('parseIp', () => {
  it('reads IPv4 and IPv6 into canonical text', () => {
    expect(parseIp('8.8.8.8')).toMatchObject({ version: 4, v4: 0x08080808, text: '8.8.8.8' });
    expect(parseIp('2001:0DB8:0000:0000:0000:0000:0000:0001')?.text).toBe('2001:db8::1');
    expect(parseIp('2001:db8:0:0:1:0:0:1')?.text).toBe('2001:db8::1:0:0:1');
    expect(parseIp('[fe80::1%eth0]')?.text).toBe('fe80::1');
    expect(parseIp('::')?.text).toBe('::');
    expect(parseIp('::ffff:192.0.2.7')).toMatchObject({ version: 4, text: '192.0.2.7' });
    expect(parseIp('::ffff:c000:207')).toMatchObject({ version: 4, text: '192.0.2.7' });
    expect(parseIp('64:ff9b::1.2.3.4')?.text).toBe('64:ff9b::102:304');
  });

  it('refuses what is not an address', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.4 ', 'a.b.c.d', '1:2:3:4:5:6:7:8:9', '1::2::3', ':1:2', '12345::', 'example.com', '1.2.3.4/24']) {
      expect(parseIp(bad), bad).toBeUndefined();
    }
  });

  it('compresses the longest run of zero groups, the first one on a tie', () => {
    expect(formatIPv6(parseIp('1:0:0:2:0:0:0:3')!.v6!)).toBe('1:0:0:2::3');
    expect(formatIPv6(parseIp('1:0:0:2:0:0:3:4')!.v6!)).toBe('1::2:0:0:3:4');
    expect(formatIPv6(parseIp('1:0:2:3:4:5:6:7')!.v6!)).toBe('1:0:2:3:4:5:6:7');
  });
});

describe('scopeOf', () => {
  it('classifies the IPv4 special-purpose ranges and leaves the rest public', () => {
    expect(scope('10.1.2.3')).toBe('private');
    expect(scope('172.16.0.1')).toBe('private');
    expect(scope('172.31.255.255')).toBe('private');
    expect(scope('172.32.0.1')).toBe('public');
    expect(scope('192.168.1.1')).toBe('private');
    expect(scope('127.0.0.1')).toBe('loopback');
    expect(scope('169.254.169.254')).toBe('link-local');
    expect(scope('100.64.0.1')).toBe('cgnat');
    expect(scope('100.128.0.1')).toBe('public');
    expect(scope('224.0.0.251')).toBe('multicast');
    expect(scope('203.0.113.9')).toBe('documentation');
    expect(scope('198.51.100.1')).toBe('documentation');
    expect(scope('192.0.2.1')).toBe('documentation');
    expect(scope('198.18.0.1')).toBe('reserved');
    expect(scope('255.255.255.255')).toBe('reserved');
    expect(scope('0.0.0.0')).toBe('unspecified');
    expect(scope('8.8.8.8')).toBe('public');
    expect(scope('11.0.0.1')).toBe('public');
  });

  it('classifies the IPv6 special-purpose ranges, unique local addresses as private', () => {
    expect(scope('::1')).toBe('loopback');
    expect(scope('::')).toBe('unspecified');
    expect(scope('fd12:3456:789a::1')).toBe('private');
    expect(scope('fc00::1')).toBe('private');
    expect(scope('fe80::1')).toBe('link-local');
    expect(scope('ff02::fb')).toBe('multicast');
    expect(scope('2001:db8::1')).toBe('documentation');
    expect(scope('3fff:fff::1')).toBe('documentation');
    expect(scope('2001::1')).toBe('reserved');
    expect(scope('4000::1')).toBe('reserved');
    expect(scope('::ffff:10.0.0.1')).toBe('private');
    expect(scope('2001:4860:4860::8888')).toBe('public');
    expect(scope('2a00:1450:4001::1')).toBe('public');
    expect(scope('3ffe::1')).toBe('public');
  });
});

describe('parseCidr', () => {
  it('gives the first and last address of a block', () => {
    expect(parseCidr('192.0.2.0/24')).toMatchObject({ version: 4, start: 0xc0000200n, end: 0xc00002ffn, len: 24, text: '192.0.2.0/24' });
    expect(parseCidr('2001:db8::/32')).toMatchObject({ version: 6, len: 32, text: '2001:db8::/32' });
    expect(parseCidr('10.0.0.1')).toMatchObject({ len: 32 });
    expect(parseCidr('0.0.0.0/0')).toMatchObject({ start: 0n, end: 0xffffffffn });
  });

  it('refuses host bits below the prefix and impossible lengths', () => {
    expect(parseCidr('192.0.2.1/24')).toBeUndefined();
    expect(parseCidr('10.0.0.0/33')).toBeUndefined();
    expect(parseCidr('10.0.0.0/')).toBeUndefined();
    expect(parseCidr('2001:db8::/129')).toBeUndefined();
  });
});
