import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SHARED_DATA } from '../../test/harness.js';
import { parseFeedText } from './feed-lists.js';
import { IntelIndex, type FeedInfo } from './intel.js';
import { parseIp, scopeOf } from './ip.js';
import { RangeTable4 } from './ranges.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');

function feed(name: string, over: Partial<FeedInfo> = {}): FeedInfo {
  return { name, confidence: 80, description: `${name} list`, tags: [], matchPrivate: false, expiresAtMs: Infinity, ...over };
}

function index(...feeds: [FeedInfo, string, 'ip' | 'cidr' | 'domain' | 'hash'][]): IntelIndex {
  return new IntelIndex(feeds.map(([info, text, format]) => ({ info, data: parseFeedText(text, { name: info.name, format }).data })));
}

const match = (idx: IntelIndex, s: string, nowMs = NOW) => {
  const ip = parseIp(s)!;
  return idx.matchIp(ip, scopeOf(ip), nowMs)?.map((h) => `${h.feed.name}:${h.value}`);
};

describe('IntelIndex addresses', () => {
  const idx = index(
    [feed('c2'), '198.51.7.9\n203.0.114.0/24\n2a0b:4000::/29\n2a0c::7\n', 'cidr'],
    [feed('scanners'), '203.0.114.128/25\n203.0.114.200\n', 'cidr'],
  );

  it('matches an exact IPv4 address and one inside a listed block', () => {
    expect(match(idx, '198.51.7.9')).toEqual(['c2:198.51.7.9']);
    expect(match(idx, '203.0.114.17')).toEqual(['c2:203.0.114.0/24']);
  });

  it('does not match the addresses just outside a block or next to a listed address', () => {
    expect(match(idx, '203.0.113.255')).toBeUndefined();
    expect(match(idx, '203.0.115.0')).toBeUndefined();
    expect(match(idx, '198.51.7.8')).toBeUndefined();
    expect(match(idx, '198.51.7.10')).toBeUndefined();
    expect(match(idx, '203.0.114.0')).toEqual(['c2:203.0.114.0/24']);
    expect(match(idx, '203.0.114.255')).toEqual(['c2:203.0.114.0/24', 'scanners:203.0.114.128/25']);
  });

  it('matches IPv6 exactly and by block, and not just outside', () => {
    expect(match(idx, '2a0c::7')).toEqual(['c2:2a0c::7']);
    expect(match(idx, '2a0c:0:0:0:0:0:0:7')).toEqual(['c2:2a0c::7']);
    expect(match(idx, '2a0c::8')).toBeUndefined();
    expect(match(idx, '2a0b:4000::')).toEqual(['c2:2a0b:4000::/29']);
    expect(match(idx, '2a0b:4007:ffff:ffff:ffff:ffff:ffff:ffff')).toEqual(['c2:2a0b:4000::/29']);
    expect(match(idx, '2a0b:3fff:ffff:ffff:ffff:ffff:ffff:ffff')).toBeUndefined();
    expect(match(idx, '2a0b:4008::')).toBeUndefined();
  });

  it('reports every feed listing an address once, exact entries before blocks', () => {
    expect(match(idx, '203.0.114.200')).toEqual(['scanners:203.0.114.200', 'c2:203.0.114.0/24']);
  });

  it('reports the most specific of nested blocks of one feed', () => {
    const nested = index([feed('f'), '10.0.0.0/8\n10.1.0.0/16\n10.1.2.0/24\n', 'cidr']);
    const privateFeed = new IntelIndex([{ info: feed('f', { matchPrivate: true }), data: parseFeedText('10.0.0.0/8\n10.1.0.0/16\n10.1.2.0/24\n', { name: 'f', format: 'cidr' }).data }]);
    expect(match(nested, '10.1.2.3')).toBeUndefined();
    expect(match(privateFeed, '10.1.2.3')).toEqual(['f:10.1.2.0/24']);
    expect(match(privateFeed, '10.1.3.3')).toEqual(['f:10.1.0.0/16']);
    expect(match(privateFeed, '10.2.0.1')).toEqual(['f:10.0.0.0/8']);
  });

  it('leaves private addresses alone unless the feed asks for them', () => {
    const bogons = index([feed('bogons'), '10.0.0.0/8\n192.168.0.0/16\n8.8.8.0/24\n', 'cidr']);
    expect(match(bogons, '10.1.1.1')).toBeUndefined();
    expect(match(bogons, '8.8.8.8')).toEqual(['bogons:8.8.8.0/24']);
  });

  it('stops matching a feed at its expiry time', () => {
    const idx2 = index([feed('old', { expiresAtMs: NOW + 1000 }), '198.51.7.9\n', 'ip']);
    expect(match(idx2, '198.51.7.9', NOW)).toEqual(['old:198.51.7.9']);
    expect(match(idx2, '198.51.7.9', NOW + 1000)).toBeUndefined();
  });

  it('matches the C2 list of the Feodo tracker sample', () => {
    const text = readFileSync(join(SHARED_DATA, 'threat-intel', 'feodo.ipset'), 'utf8');
    const parsed = parseFeedText(text, { name: 'feodo', format: 'ip' });
    expect(parsed).toMatchObject({ count: 235, invalid: 0 });
    const idx2 = new IntelIndex([{ info: feed('feodo'), data: parsed.data }]);
    expect(match(idx2, '5.39.222.172')).toEqual(['feodo:5.39.222.172']);
    expect(match(idx2, '5.39.222.173')).toBeUndefined();
  });
});

describe('IntelIndex domains and hashes', () => {
  const idx = index(
    [feed('dom', { tags: ['c2'] }), 'evil.example\nbad.example.org\n', 'domain'],
    [feed('hashes'), '44d88612fea8a8f36de82e1278abb02f\n', 'hash'],
  );

  it('matches a listed domain, its subdomains and any case, but not its parent or a lookalike', () => {
    const m = (d: string) => idx.matchDomain(d, NOW)?.map((h) => h.value);
    expect(m('evil.example')).toEqual(['evil.example']);
    expect(m('WWW.Evil.Example.')).toEqual(['evil.example']);
    expect(m('a.b.bad.example.org')).toEqual(['bad.example.org']);
    expect(m('example.org')).toBeUndefined();
    expect(m('notevil.example')).toBeUndefined();
    expect(m('evil.example.com')).toBeUndefined();
  });

  it('matches file hashes in any case', () => {
    expect(idx.matchHash('44D88612FEA8A8F36DE82E1278ABB02F', NOW)?.[0]).toMatchObject({ type: 'file', value: '44d88612fea8a8f36de82e1278abb02f' });
    expect(idx.matchHash('44d88612fea8a8f36de82e1278abb02e', NOW)).toBeUndefined();
  });
});

describe('RangeTable4', () => {
  it('agrees with a brute-force scan on random overlapping blocks', () => {
    let seed = 7;
    const rand = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32; };
    const blocks = Array.from({ length: 300 }, (_, i) => {
      const len = 20 + Math.floor(rand() * 13);
      const size = 2 ** (32 - len);
      const start = Math.floor((rand() * 2 ** 24) / size) * size;
      return { start, end: start + size - 1, len, item: i };
    });
    const table = new RangeTable4(blocks, (covering) => covering.map((b) => b.item).sort((a, b) => a - b));
    for (let k = 0; k < 20_000; k++) {
      const addr = Math.floor(rand() * 2 ** 24);
      const expected = blocks.filter((b) => b.start <= addr && addr <= b.end).map((b) => b.item).sort((a, b) => a - b);
      expect(table.lookup(addr) ?? []).toEqual(expected);
    }
  });
});
