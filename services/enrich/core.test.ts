import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SHARED_DATA } from '../../test/harness.js';
import { EventBatch, type Event } from '../core/proto.js';
import { assetBoost, threatBoost } from '../detect/alert.js';
import { AssetRegistry } from './assets.js';
import { enrichBatch, newEnrichStats } from './core.js';
import { parseFeedText } from './feed-lists.js';
import { openGeo } from './geo.js';
import { IntelIndex, type FeedInfo } from './intel.js';

const NOW = Date.parse('2026-11-22T12:00:00Z');
const geo = await openGeo({ watchIntervalMs: 0 });
afterAll(() => geo.close());

const info = (name: string, confidence: number, over: Partial<FeedInfo> = {}): FeedInfo =>
  ({ name, confidence, description: `${name} feed`, tags: [], matchPrivate: false, expiresAtMs: Infinity, ...over });
const intel = new IntelIndex([
  { info: info('feodo', 90, { tags: ['c2'] }), data: parseFeedText(readFileSync(join(SHARED_DATA, 'threat-intel', 'feodo.ipset'), 'utf8'), { name: 'feodo', format: 'ip' }).data },
  { info: info('blocks', 60), data: parseFeedText('45.9.148.0/24\n2a0b:4000::/29\n', { name: 'blocks', format: 'cidr' }).data },
  { info: info('domains', 70), data: parseFeedText('evil.example\n', { name: 'domains', format: 'domain' }).data },
  { info: info('hashes', 100), data: parseFeedText('44d88612fea8a8f36de82e1278abb02f\n', { name: 'hashes', format: 'hash' }).data },
  { info: info('old', 100, { expiresAtMs: NOW - 1 }), data: parseFeedText('8.8.4.4\n', { name: 'old', format: 'ip' }).data },
]);
const assets = new AssetRegistry([
  { id: 'agent-db', hostname: 'DB-01', os: 'Debian 12', ips: ['10.0.0.9'], tags: ['crown-jewel', 'criticality:high'] },
  { id: 'agent-ws', hostname: 'ws-7', os: 'Windows 11', ips: ['10.0.1.7', '81.2.69.160'], tags: ['workstation'] },
]);

/** Events as the stage gets them: encoded and decoded, so defaults are protobufjs's shared frozen ones. */
function decoded(events: Event[]): Event[] {
  return EventBatch.decode(EventBatch.encode({ source_id: 's', events }).finish()).events;
}

describe('enrichBatch', () => {
  it('enriches a mixed batch end to end: GeoIP, private ranges, direction, intel, assets', () => {
    const events = decoded([
      { id: 'inbound-c2', source: { ip: '5.39.222.172', port: 443 }, destination: { ip: '10.0.0.9', port: 5432 } },
      { id: 'dns', agent: { id: 'agent-ws' }, host: { name: 'ws-7' }, source: { ip: '10.0.1.7' }, destination: { ip: '8.8.8.8', port: 53 }, dns: { question_name: 'cdn.Evil.Example.', resolved_ip: ['45.9.148.3'] } },
      { id: 'exec', agent: { id: 'agent-db' }, process: { name: 'x.exe', hash_md5: '44D88612FEA8A8F36DE82E1278ABB02F' }, tags: ['sysmon'] },
      { id: 'v6', source: { ip: 'fd00::1' }, destination: { ip: '2a0b:4001::1' } },
      { id: 'quiet', source: { ip: '127.0.0.1' }, destination: { ip: '::1' }, network: { direction: 'unknown' } },
      { id: 'expired', source: { ip: '10.0.1.7' }, destination: { ip: '8.8.4.4' } },
    ]);
    const stats = newEnrichStats();
    const out = enrichBatch(events, { nowMs: NOW, geo: geo.reader, intel, assets, stats });
    const [c2, dns, exec, v6, quiet, expired] = out.map((e) => EventBatch.decode(EventBatch.encode({ events: [e] }).finish()).events[0]!);

    expect(c2!.source).toMatchObject({ geo: { country_iso_code: 'NL', country_name: 'Netherlands' } });
    expect(c2!.destination!.geo).toBeNull();
    expect(c2!.network!.direction).toBe('inbound');
    expect(c2!.threat!.indicators).toEqual([expect.objectContaining({ type: 'ipv4-addr', value: '5.39.222.172', feed: 'feodo', confidence: 90, field: 'source.ip', description: 'feodo feed' })]);
    expect(c2!.tags).toEqual(expect.arrayContaining(['private-ip', 'threat-intel', 'c2', 'crown-jewel', 'criticality:high']));
    expect(c2!.labels).toMatchObject({ destination_ip_scope: 'private', destination_asset_id: 'agent-db', destination_asset_hostname: 'DB-01', asset_criticality: 'high', asset_tags: 'criticality:high,crown-jewel' });
    expect(threatBoost(c2!)).toBe(15);
    expect(assetBoost(c2!)).toBe(15);

    expect(dns!.network!.direction).toBe('outbound');
    expect(dns!.destination!.geo!.country_iso_code).toBe('US');
    expect(dns!.threat!.indicators!.map((i) => [i.feed, i.value, i.field])).toEqual([['blocks', '45.9.148.0/24', 'dns.resolved_ip'], ['domains', 'evil.example', 'dns.question.name']]);
    expect(dns!.host).toMatchObject({ name: 'ws-7', hostname: 'ws-7', os_name: 'Windows 11', ip: ['10.0.1.7', '81.2.69.160'] });
    expect(dns!.labels).toMatchObject({ asset_id: 'agent-ws', source_asset_id: 'agent-ws', asset_tags: 'workstation' });
    expect(assetBoost(dns!)).toBe(0);

    expect(exec!.threat!.indicators).toEqual([expect.objectContaining({ type: 'file', value: '44d88612fea8a8f36de82e1278abb02f', feed: 'hashes', field: 'process.hash.md5' })]);
    expect(exec!.host).toMatchObject({ name: 'db-01', hostname: 'DB-01', os_name: 'Debian 12' });
    expect(exec!.tags).toEqual(['sysmon', 'threat-intel', 'crown-jewel', 'criticality:high']);

    expect(v6!.labels).toMatchObject({ source_ip_scope: 'private' });
    expect(v6!.tags).toEqual(['private-ip', 'threat-intel']);
    expect(v6!.threat!.indicators![0]).toMatchObject({ type: 'ipv6-addr', value: '2a0b:4000::/29', field: 'destination.ip' });
    expect(v6!.network!.direction).toBe('outbound');

    expect(quiet!.tags).toEqual(['loopback-ip']);
    expect(quiet!.labels).toEqual({ source_ip_scope: 'loopback', destination_ip_scope: 'loopback' });
    expect(quiet!.network!.direction).toBe('unknown');
    expect(quiet!.threat).toBeNull();

    expect(expired!.threat).toBeNull();
    expect(expired!.tags).toEqual(['private-ip', 'workstation']);

    expect(stats).toMatchObject({ events: 6, indicatorMatches: 5, assetJoins: 5 });
    expect(Object.fromEntries(stats.matchesByFeed)).toEqual({ feodo: 1, blocks: 2, domains: 1, hashes: 1 });
  });

  it('keeps what the source said: its geo, its labels and its own indicators', () => {
    const [e] = decoded([{
      source: { ip: '5.39.222.172', geo: { country_iso_code: 'DE', city_name: 'Frankfurt' } },
      labels: { asset_criticality: 'low', source_ip_scope: 'dmz' },
      threat: { indicators: [{ type: 'ipv4-addr', value: '5.39.222.172', feed: 'firewall', confidence: 50 }] },
    }]);
    enrichBatch([e!], { nowMs: NOW, geo: geo.reader, intel, assets });
    expect(e!.source!.geo).toMatchObject({ country_iso_code: 'DE', city_name: 'Frankfurt' });
    expect(e!.threat!.indicators!.map((i) => i.feed)).toEqual(['firewall', 'feodo']);
    expect(e!.labels).toEqual({ asset_criticality: 'low', source_ip_scope: 'dmz' });
  });

  it('leaves an event with nothing to add untouched and works without any reader', () => {
    const [plain] = decoded([{ id: 'p', message: 'hello', source: { ip: '9.9.9.9' } }]);
    const before = JSON.stringify(plain);
    enrichBatch([plain!], { nowMs: NOW });
    expect(JSON.stringify(plain)).toBe(before);
    const [priv] = decoded([{ source: { ip: '192.168.1.1' } }]);
    enrichBatch([priv!], { nowMs: NOW });
    expect(priv!.tags).toEqual(['private-ip']);
  });

  it('classifies both ends of a connection between public addresses as external, and a known asset as ours', () => {
    const [ext, own] = decoded([
      { source: { ip: '1.1.1.1' }, destination: { ip: '8.8.8.8' } },
      { source: { ip: '81.2.69.160' }, destination: { ip: '8.8.8.8' } },
    ]);
    enrichBatch([ext!, own!], { nowMs: NOW, geo: geo.reader, assets });
    expect(ext!.network!.direction).toBe('external');
    expect(own!.network!.direction).toBe('outbound');
  });
});
