import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { lookup } from '../../tools/cli/lookup.js';
import { AssetRegistry } from './assets.js';
import { explainAddress } from './explain.js';
import { parseFeedText } from './feed-lists.js';
import { ipFacts } from './geo.js';
import { IntelIndex } from './intel.js';

const dir = mkdtempSync(join(tmpdir(), 'minisoc-lookup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('explainAddress', () => {
  const intel = new IntelIndex([{ info: { name: 'internal', confidence: 40, description: '', tags: [], matchPrivate: true, expiresAtMs: Infinity }, data: parseFeedText('10.0.0.0/24\n', { name: 'internal', format: 'cidr' }).data }]);
  const assets = new AssetRegistry([{ id: 'a1', hostname: 'db-01', os: null, ips: ['10.0.0.9'], tags: ['crown-jewel'] }]);

  it('reports the range, the matches, the asset and the tags and labels an event would get', () => {
    const r = explainAddress('::ffff:10.0.0.9', { nowMs: 0, geo: { facts: ipFacts }, intel, assets });
    expect(r).toMatchObject({ address: '10.0.0.9', version: 4, scope: 'private', lookedUp: false, geo: null, asset: { id: 'a1' } });
    expect(r.indicators).toEqual([expect.objectContaining({ feed: 'internal', value: '10.0.0.0/24', field: 'source.ip' })]);
    expect(r.asSource.tags).toEqual(['private-ip', 'threat-intel', 'crown-jewel']);
    expect(r.asSource.labels).toMatchObject({ source_ip_scope: 'private', source_asset_id: 'a1', asset_tags: 'crown-jewel' });
  });

  it('refuses text that is not an address', () => {
    expect(() => explainAddress('example.com', { nowMs: 0 })).toThrow('"example.com" is not an IP address');
  });
});

describe('soc lookup', () => {
  it('prints GeoIP, feed matches and feed status as JSON', async () => {
    writeFileSync(join(dir, 'c2.txt'), '8.8.8.8\n');
    writeFileSync(join(dir, 'feeds.yaml'), 'feeds:\n  - {name: c2, path: c2.txt, format: ip, confidence: 75}\n  - {name: gone, path: gone.txt, format: ip, confidence: 75}\n');
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const r = await lookup('8.8.8.8', { feeds: join(dir, 'feeds.yaml'), assets: false, compact: true });
      expect(JSON.parse(String(out.mock.calls.at(-1)![0]))).toEqual(JSON.parse(JSON.stringify(r)));
      expect(r).toMatchObject({ scope: 'public', lookedUp: true, geo: { country_iso_code: 'US', country_name: 'United States' }, asset: null });
      expect(r.indicators).toEqual([expect.objectContaining({ feed: 'c2', confidence: 75 })]);
      expect(r.sources.feeds.map((f) => [f.name, f.state])).toEqual([['c2', 'ok'], ['gone', 'failed']]);
      expect(r.sources.feeds[1]!.lastError).toMatch(/ENOENT/);
      expect(r.sources.geoip.credit).toMatch(/CC BY 4\.0/);
      expect(r.sources.assets).toBeNull();
    } finally {
      out.mockRestore();
    }
  });
});
