import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import maxmind, { Reader, type Response } from 'maxmind';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/harness.js';
import { countryName, GeoReader, openGeo, shippedGeoDb } from './geo.js';
import { writeMmdb } from './testdata/mmdb.js';

const dir = mkdtempSync(join(tmpdir(), 'minisoc-geo-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CITY = writeMmdb([
  { cidr: '81.2.69.0/24', data: { city: { names: { en: 'London' } }, country: { iso_code: 'GB', names: { en: 'United Kingdom' } }, location: { latitude: 51.5142, longitude: -0.0931 }, subdivisions: [{ names: { en: 'England' } }] } },
  { cidr: '2a02:1234::/32', data: { country_code: 'DE', city: 'Berlin', state1: 'Land Berlin', latitude: 52.52, longitude: 13.405 } },
], 'GeoLite2-City');
const ASN = writeMmdb([
  { cidr: '81.2.64.0/19', data: { autonomous_system_number: 20712, autonomous_system_organization: 'Andrews & Arnold Ltd' } },
], 'GeoLite2-ASN');
/** Answers for every address: whatever the reader does not look up cannot come from it. */
const EVERYWHERE = new Reader<Response>(writeMmdb([{ cidr: '::/1', data: { country_code: 'XX' } }, { cidr: '8000::/1', data: { country_code: 'XX' } }]));

describe('the shipped country database', async () => {
  const geo = await openGeo({ watchIntervalMs: 0 });
  afterAll(() => geo.close());

  it('locates well-known public addresses in the country this database gives them', () => {
    // Checked against this very file (2026-06-17 build): a newer build may move an address.
    const expected: [string, string, string][] = [
      ['8.8.8.8', 'US', 'United States'], ['1.1.1.1', 'AU', 'Australia'], ['193.0.6.139', 'NL', 'Netherlands'],
      ['210.130.0.1', 'JP', 'Japan'], ['200.160.2.3', 'BR', 'Brazil'], ['2001:4860:4860::8888', 'US', 'United States'], ['2a01:4f8::1', 'DE', 'Germany'],
    ];
    for (const [ip, iso, name] of expected) {
      const f = geo.reader.facts(ip)!;
      expect(f.scope, ip).toBe('public');
      expect(f.geo, ip).toMatchObject({ country_iso_code: iso, country_name: name, city_name: '' });
      expect(f.as).toBeNull();
    }
    expect(geo.databases.city.path).toBe(shippedGeoDb());
  });

  it('does not look up documentation addresses, which this database wrongly places in a country', async () => {
    const raw = await maxmind.open<Response & { country_code?: string }>(shippedGeoDb());
    expect(raw.get('203.0.113.1')?.country_code).toBe('AU');
    expect(raw.get('2001:db8::1')?.country_code).toBe('JP');
    for (const ip of ['203.0.113.1', '2001:db8::1']) expect(geo.reader.facts(ip)).toMatchObject({ scope: 'documentation', geo: null });
  });
});

describe('GeoReader', () => {
  it('tags private, loopback, link-local, CGNAT, multicast and ULA addresses without looking them up', () => {
    const reader = new GeoReader({ city: EVERYWHERE, asn: EVERYWHERE });
    const cases: [string, string][] = [
      ['10.0.0.1', 'private'], ['192.168.10.20', 'private'], ['172.20.1.1', 'private'], ['127.0.0.1', 'loopback'], ['::1', 'loopback'],
      ['169.254.1.1', 'link-local'], ['fe80::abcd', 'link-local'], ['100.100.1.1', 'cgnat'], ['239.1.1.1', 'multicast'], ['fd00:1:2::3', 'private'],
      ['::ffff:192.168.1.1', 'private'],
    ];
    for (const [ip, scope] of cases) expect(reader.facts(ip), ip).toMatchObject({ scope, geo: null, as: null });
    expect(reader.stats).toMatchObject({ dbLookups: 0, notLookedUp: cases.length });
    expect(reader.facts('9.9.9.9')).toMatchObject({ scope: 'public', geo: { country_iso_code: 'XX' } });
    expect(reader.stats.dbLookups).toBe(1);
  });

  it('answers a repeated address from its cache and keeps the cache bounded', () => {
    const reader = new GeoReader({ city: EVERYWHERE }, { cacheEntries: 4 });
    const first = reader.facts('9.9.9.9');
    expect(reader.facts('9.9.9.9')).toBe(first);
    expect(reader.stats).toMatchObject({ lookups: 2, cacheHits: 1, dbLookups: 1 });
    for (let i = 10; i < 20; i++) reader.facts(`9.9.9.${i}`);
    expect(reader.cachedEntries).toBeLessThanOrEqual(4);
    expect(reader.facts('9.9.9.9')).not.toBe(first);
    expect(reader.stats.dbLookups).toBe(12);
  });

  it('returns nothing for text that is not an address', () => {
    expect(new GeoReader({ city: EVERYWHERE }).facts('not-an-ip')).toBeUndefined();
  });
});

describe('configured City and ASN databases', () => {
  it('add city, region, location and AS to what the country database gives', async () => {
    writeFileSync(join(dir, 'city.mmdb'), CITY);
    writeFileSync(join(dir, 'asn.mmdb'), ASN);
    const geo = await openGeo({ cityDb: join(dir, 'city.mmdb'), asnDb: join(dir, 'asn.mmdb'), watchIntervalMs: 0 });
    try {
      expect(geo.reader.facts('81.2.69.160')).toMatchObject({
        geo: { country_iso_code: 'GB', country_name: 'United Kingdom', city_name: 'London', region_name: 'England', lat: 51.5142, lon: -0.0931 },
        as: { number: 20712, organization_name: 'Andrews & Arnold Ltd' },
      });
      expect(geo.reader.facts('2a02:1234:5::1')?.geo).toMatchObject({ country_iso_code: 'DE', country_name: 'Germany', city_name: 'Berlin', region_name: 'Land Berlin', lat: 52.52 });
      expect(geo.reader.facts('81.2.80.1')).toMatchObject({ geo: null, as: { number: 20712 } });
      expect(geo.databases).toMatchObject({ city: { type: 'GeoLite2-City' }, asn: { type: 'GeoLite2-ASN' } });
    } finally {
      geo.close();
    }
  });

  it('refuses to start on a configured database that is not one', async () => {
    writeFileSync(join(dir, 'bad.mmdb'), 'not a database');
    await expect(openGeo({ cityDb: join(dir, 'bad.mmdb') })).rejects.toThrow(/GEOIP_CITY_DB .*bad\.mmdb.*cannot open/);
    await expect(openGeo({ asnDb: join(dir, 'missing.mmdb') })).rejects.toThrow(/GEOIP_ASN_DB/);
  });

  it('reloads a database replaced on disk, and keeps the old one when the replacement is broken', async () => {
    const path = join(dir, 'reload.mmdb');
    writeFileSync(path, CITY);
    const logged: string[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => { logged.push(line); } });
    const geo = await openGeo({ cityDb: path, watchIntervalMs: 20, log });
    try {
      expect(geo.reader.facts('81.2.69.160')?.geo?.city_name).toBe('London');
      writeFileSync(join(dir, 'next.tmp'), 'garbage, not a database');
      renameSync(join(dir, 'next.tmp'), path);
      await waitFor('the broken replacement to be tried', () => logged.some((l) => l.includes('does not open; the previous one stays')), 10_000, 20);
      expect(geo.reader.facts('81.2.69.160')?.geo?.city_name).toBe('London');
      writeFileSync(join(dir, 'next.tmp'), writeMmdb([{ cidr: '81.2.69.0/24', data: { country_code: 'GB', city: 'Leeds' } }]));
      renameSync(join(dir, 'next.tmp'), path);
      await waitFor('the new database', () => geo.reader.facts('81.2.69.160')?.geo?.city_name === 'Leeds', 10_000, 20);
    } finally {
      geo.close();
    }
  });
});

describe('countryName', () => {
  it('names ISO 3166 codes and gives nothing for unknown ones', () => {
    expect(countryName('FR')).toBe('France');
    expect(countryName('QQ')).toBe('');
    expect(countryName('')).toBe('');
  });
});
