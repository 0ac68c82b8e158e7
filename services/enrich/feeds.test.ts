import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, renameSync, rmSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../test/harness.js';
import { csvFields, parseFeedDefinitions, parseFeedText, type FeedDefinition } from './feed-lists.js';
import { FeedManager } from './feeds.js';
import type { IntelIndex } from './intel.js';
import { parseIp, scopeOf } from './ip.js';

const dir = mkdtempSync(join(tmpdir(), 'minisoc-feeds-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const managers: FeedManager[] = [];
afterEach(() => { for (const m of managers.splice(0)) m.stop(); });

const opts = { timeoutMs: 2000, maxBytes: 1024 * 1024, watchDebounceMs: 50, retryAfterMs: 100 };

function def(over: Partial<FeedDefinition> & Pick<FeedDefinition, 'name'>): FeedDefinition {
  return { format: 'cidr', confidence: 70, refresh_interval_s: 3600, description: '', tags: [], match_private_ips: false, ...over };
}

async function manager(definitions: FeedDefinition[], extra: Partial<ConstructorParameters<typeof FeedManager>[0]> = {}): Promise<FeedManager> {
  const m = new FeedManager({ ...opts, definitions, ...extra });
  managers.push(m);
  await m.start();
  return m;
}

const matches = (index: IntelIndex, s: string) => {
  const ip = parseIp(s)!;
  return index.matchIp(ip, scopeOf(ip), Date.now())?.map((h) => h.feed.name) ?? [];
};

/** Writes a file the way editors and downloaders do: a temporary file renamed over the old one. */
function replace(path: string, text: string | Buffer): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

describe('parseFeedText', () => {
  it('reads address and block lists, skipping comments and trailing notes', () => {
    const r = parseFeedText('# header\n; more\n\n1.2.3.4\n5.6.7.0/24 ; SBL123\n2001:db8::/32\t# doc\n2001:db8::1\n', { name: 'x', format: 'cidr' });
    expect(r.count).toBe(4);
    expect(r.data).toMatchObject({ ips4: [0x01020304], nets4: [{ len: 24 }], ips6: ['2001:db8::1'], nets6: [{ len: 32 }] });
  });

  it('refuses blocks in a list declared as addresses only', () => {
    expect(() => parseFeedText('1.2.3.4\n5.6.7.0/24\n', { name: 'x', format: 'ip' })).toThrow(/not a ip list: 1 of 2 lines/);
  });

  it('reads domain lists and hosts files, ignoring their local names', () => {
    const r = parseFeedText('evil.example\n*.wild.example\n0.0.0.0 ads.example.net\n127.0.0.1 localhost\nBAD.Example.\n', { name: 'x', format: 'domain' });
    expect(r.data.domains).toEqual(['evil.example', 'wild.example', 'ads.example.net', 'bad.example']);
  });

  it('reads hash lists of MD5, SHA-1 and SHA-256', () => {
    const r = parseFeedText(`${'a'.repeat(32)}\n${'B'.repeat(40)} dropper.exe\n${'c'.repeat(64)}\n`, { name: 'x', format: 'hash' });
    expect(r.data.hashes).toEqual(['a'.repeat(32), 'b'.repeat(40), 'c'.repeat(64)]);
  });

  it('reads the named or numbered column of a CSV file, whatever each value is', () => {
    const csv = '# comment\n"first_seen","ioc_value","note"\n"2026-01-01","198.51.100.7","c2, ""active"""\n2026-01-02,evil.example,x\n2026-01-03,' + 'd'.repeat(64) + ',y\n';
    expect(parseFeedText(csv, { name: 'x', format: 'csv', column: 'IOC_VALUE' })).toMatchObject({ count: 3, data: { ips4: [0xc6336407], domains: ['evil.example'], hashes: ['d'.repeat(64)] } });
    expect(parseFeedText('1,10.0.0.0/8\n2,8.8.8.8\n', { name: 'x', format: 'csv', column: 1 })).toMatchObject({ count: 2 });
    expect(() => parseFeedText('a,b\n1,2\n', { name: 'x', format: 'csv', column: 'ip' })).toThrow(/column "ip" is not in the CSV header \(a, b\)/);
    expect(csvFields('a,"b,c","d ""e""",')).toEqual(['a', 'b,c', 'd "e"', '']);
  });

  it('refuses a text that is mostly not indicators, and one with none', () => {
    expect(() => parseFeedText('<html>\n<body>Service unavailable</body>\n</html>\n1.2.3.4\n', { name: 'x', format: 'ip' })).toThrow(/3 of 4 lines hold no indicator \(line 1: "<html>"/);
    expect(() => parseFeedText('# nothing today\n', { name: 'x', format: 'ip' })).toThrow('the feed holds no indicators');
  });

  it('tolerates a few bad lines and counts them', () => {
    const lines = [...Array.from({ length: 20 }, (_, i) => `10.0.0.${i}`), 'oops'].join('\n');
    expect(parseFeedText(lines, { name: 'x', format: 'ip' })).toMatchObject({ count: 20, invalid: 1, examples: ['line 21: "oops"'] });
  });
});

describe('parseFeedDefinitions', () => {
  it('reads YAML with defaults and resolves paths from the file\'s folder', () => {
    const defs = parseFeedDefinitions('feeds:\n  - name: feodo\n    path: lists/feodo.ipset\n    format: ip\n    confidence: 90\n    max_age_s: 86400\n', '/etc/minisoc');
    expect(defs).toEqual([{ name: 'feodo', path: '/etc/minisoc/lists/feodo.ipset', format: 'ip', confidence: 90, max_age_s: 86400, refresh_interval_s: 3600, description: '', tags: [], match_private_ips: false }]);
  });

  it('reads JSON too', () => {
    expect(parseFeedDefinitions('{"feeds":[{"name":"a","url":"https://example.org/a.txt","format":"domain","confidence":50}]}', '/')[0]).toMatchObject({ url: 'https://example.org/a.txt' });
  });

  it('names every problem of a bad definition', () => {
    const text = 'feeds:\n  - name: a b\n    url: ftp://x\n    path: /x\n    format: csv\n    confidence: 101\n    color: red\n';
    let msg = '';
    try { parseFeedDefinitions(text, '/', 'feeds.yaml'); } catch (err) { msg = (err as Error).message; }
    expect(msg).toContain('feeds.yaml: invalid feed definitions');
    expect(msg).toMatch(/feeds\.0\.name: letters, digits/);
    expect(msg).toMatch(/feeds\.0\.url: an http/);
    expect(msg).toMatch(/feeds\.0\.confidence/);
    expect(msg).toMatch(/color/);
  });

  it('refuses two feeds with one name, a feed with both url and path, and csv without a column', () => {
    expect(() => parseFeedDefinitions('feeds: [{name: a, path: x, format: ip, confidence: 1}, {name: a, path: y, format: ip, confidence: 1}]', '/')).toThrow(/"a" is used twice/);
    expect(() => parseFeedDefinitions('feeds: [{name: a, path: x, url: "http://h/x", format: ip, confidence: 1}]', '/')).toThrow(/either url or path/);
    expect(() => parseFeedDefinitions('feeds: [{name: a, path: x, format: csv, confidence: 1}]', '/')).toThrow(/format csv needs column/);
  });
});

describe('FeedManager with files', () => {
  it('picks up a feed file changed on disk without a restart', async () => {
    const path = join(dir, 'watched.netset');
    writeFileSync(path, '45.9.148.0/24\n');
    const m = await manager([def({ name: 'watched', path })]);
    expect(matches(m.index, '45.9.148.9')).toEqual(['watched']);
    replace(path, '192.0.2.0/24\n198.18.0.0/15\n9.9.9.0/24\n');
    await waitFor('the new version', () => matches(m.index, '9.9.9.9').length === 1, 10_000, 20);
    expect(matches(m.index, '45.9.148.9')).toEqual([]);
    writeFileSync(path, '9.9.9.0/24\n1.1.1.1\n'); // written in place this time
    await waitFor('the in-place change', () => matches(m.index, '1.1.1.1').length === 1, 10_000, 20);
    expect(m.status()[0]).toMatchObject({ state: 'ok', indicators: 2, failures: 0 });
  });

  it('keeps the previous version of a file that turns to garbage, then disappears, and says why', async () => {
    const path = join(dir, 'flaky.ipset');
    writeFileSync(path, '203.0.113.50\n9.9.9.9\n');
    const m = await manager([def({ name: 'flaky', path, format: 'ip' })]);
    replace(path, 'garbage\nmore garbage\n');
    await waitFor('the failure', () => m.status()[0]!.lastError, 10_000, 20);
    expect(m.status()[0]).toMatchObject({ state: 'stale', indicators: 2, failures: 1 });
    expect(m.status()[0]!.lastError).toMatch(/not a ip list: 2 of 2 lines/);
    expect(matches(m.index, '9.9.9.9')).toEqual(['flaky']);
    unlinkSync(path);
    await waitFor('the second failure', () => /cannot read .*flaky\.ipset.*ENOENT/.test(m.status()[0]!.lastError ?? ''), 10_000, 20);
    expect(matches(m.index, '9.9.9.9')).toEqual(['flaky']);
    writeFileSync(path, '9.9.9.10\n');
    await waitFor('the recovery', () => m.status()[0]!.state === 'ok', 10_000, 20);
    expect(matches(m.index, '9.9.9.10')).toEqual(['flaky']);
  });

  it('reports a feed that never loaded as failed, with no indicators', async () => {
    const m = await manager([def({ name: 'missing', path: join(dir, 'nope.txt') })]);
    expect(m.status()[0]).toMatchObject({ name: 'missing', state: 'failed', indicators: 0, failures: 1 });
    expect(m.status()[0]!.lastError).toMatch(/ENOENT/);
    expect(m.index.empty).toBe(true);
  });

  it('stops using file data older than max_age_s, judged by the file\'s modification time', async () => {
    const path = join(dir, 'aging.ipset');
    writeFileSync(path, '9.9.9.9\n');
    const old = new Date(Date.now() - 7200_000);
    utimesSync(path, old, old);
    const m = await manager([def({ name: 'aging', path, format: 'ip', max_age_s: 3600 })]);
    expect(m.status()[0]).toMatchObject({ state: 'expired', indicators: 0 });
    expect(m.status()[0]!.ageS).toBeGreaterThanOrEqual(7199);
    expect(matches(m.index, '9.9.9.9')).toEqual([]);
    writeFileSync(path, '9.9.9.9\n');
    await waitFor('fresh data', () => matches(m.index, '9.9.9.9').length === 1, 10_000, 20);
    expect(m.status()[0]!.state).toBe('ok');
  });

  it('reads gzip-compressed lists', async () => {
    const path = join(dir, 'list.gz');
    writeFileSync(path, gzipSync('9.9.9.9\n'));
    const m = await manager([def({ name: 'gz', path, format: 'ip' })]);
    expect(matches(m.index, '9.9.9.9')).toEqual(['gz']);
  });

  it('follows the feeds file: a feed added there is loaded, a removed one dropped, a broken file changes nothing', async () => {
    const feeds = join(dir, 'feeds.yaml');
    writeFileSync(join(dir, 'one.txt'), '9.9.9.1\n');
    writeFileSync(join(dir, 'two.txt'), '9.9.9.2\n');
    const entry = (n: string) => `  - {name: ${n}, path: ${n}.txt, format: ip, confidence: 60}\n`;
    writeFileSync(feeds, `feeds:\n${entry('one')}`);
    const m = new FeedManager({ ...opts, file: feeds });
    managers.push(m);
    await m.start();
    expect(matches(m.index, '9.9.9.1')).toEqual(['one']);
    replace(feeds, `feeds:\n${entry('one')}${entry('two')}`);
    await waitFor('feed two', () => matches(m.index, '9.9.9.2').length === 1, 10_000, 20);
    replace(feeds, `feeds:\n${entry('two')}`);
    await waitFor('feed one gone', () => matches(m.index, '9.9.9.1').length === 0, 10_000, 20);
    replace(feeds, 'feeds: [oops');
    await waitFor('the problem', () => m.definitionsProblem, 10_000, 20);
    expect(m.definitionsProblem).toMatch(/not YAML or JSON/);
    expect(m.status().map((s) => s.name)).toEqual(['two']);
    expect(matches(m.index, '9.9.9.2')).toEqual(['two']);
  });

  it('refuses to start on a feeds file that is not valid', async () => {
    const feeds = join(dir, 'bad-feeds.yaml');
    writeFileSync(feeds, 'feeds:\n  - name: x\n');
    await expect(new FeedManager({ ...opts, file: feeds }).start()).rejects.toThrow(/invalid feed definitions/);
  });
});

describe('FeedManager over HTTP', () => {
  let server: Server;
  let base = '';
  const routes = new Map<string, { status: number; body: string; etag?: string }>();
  const requests: { url: string; ifNoneMatch?: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests.push({ url: req.url!, ifNoneMatch: req.headers['if-none-match'] });
      const r = routes.get(req.url!) ?? { status: 404, body: 'not found' };
      if (r.etag && req.headers['if-none-match'] === r.etag) { res.writeHead(304).end(); return; }
      res.writeHead(r.status, r.etag ? { etag: r.etag } : {}).end(r.body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('loads a feed from a URL and revalidates it with its ETag', async () => {
    routes.set('/c2.txt', { status: 200, body: '198.51.100.77\n2001:db8:bad::/48\n', etag: '"v1"' });
    const m = await manager([def({ name: 'remote', url: `${base}/c2.txt`, confidence: 95, tags: ['c2'] })]);
    expect(matches(m.index, '198.51.100.77')).toEqual([]); // documentation range: not matched by default...
    const hits = m.index.matchIp(parseIp('198.51.100.77')!, 'public', Date.now());
    expect(hits?.[0]).toMatchObject({ value: '198.51.100.77', feed: { name: 'remote', confidence: 95, tags: ['c2'] } }); // ...but listed
    expect(m.status()[0]).toMatchObject({ state: 'ok', indicators: 2, source: `${base}/c2.txt` });
    const before = m.index;
    await m.refresh('remote');
    expect(requests.at(-1)).toEqual({ url: '/c2.txt', ifNoneMatch: '"v1"' });
    expect(m.index).toBe(before);
    expect(m.status()[0]).toMatchObject({ state: 'ok', indicators: 2 });
  });

  it('keeps the previous version when the server answers 500, and says so', async () => {
    routes.set('/flaky.txt', { status: 200, body: '9.9.9.9\n' });
    const m = await manager([def({ name: 'flaky-http', url: `${base}/flaky.txt` })]);
    routes.set('/flaky.txt', { status: 500, body: 'oops' });
    await m.refresh();
    expect(m.status()[0]).toMatchObject({ state: 'stale', indicators: 1, failures: 1, lastError: `${base}/flaky.txt answered HTTP 500 Internal Server Error` });
    expect(matches(m.index, '9.9.9.9')).toEqual(['flaky-http']);
    routes.set('/flaky.txt', { status: 200, body: '<html>maintenance</html>\n' });
    await m.refresh();
    expect(m.status()[0]).toMatchObject({ state: 'stale', failures: 2 });
    expect(m.status()[0]!.lastError).toMatch(/not a cidr list/);
    expect(matches(m.index, '9.9.9.9')).toEqual(['flaky-http']);
    routes.set('/flaky.txt', { status: 200, body: '9.9.9.8\n' });
    await waitFor('the retry after failures', () => matches(m.index, '9.9.9.8').length === 1, 10_000, 20);
    expect(m.status()[0]).toMatchObject({ state: 'ok', failures: 0 });
  });

  it('keeps the query of a feed URL, where API keys live, out of its status and errors', async () => {
    const m = await manager([def({ name: 'keyed', url: `${base}/missing.txt?auth-key=s3cret` })]);
    expect(m.status()[0]).toMatchObject({ source: `${base}/missing.txt?…`, lastError: `${base}/missing.txt?… answered HTTP 404 Not Found` });
    expect(JSON.stringify(m.status())).not.toContain('s3cret');
    expect(requests.at(-1)!.url).toBe('/missing.txt?auth-key=s3cret');
  });

  it('gives up on a server that does not answer in time, and on one that sends too much', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    routes.set('/big.txt', { status: 200, body: '9.9.9.9\n'.repeat(200) });
    try {
      // Apart: the size limit is checked with time to spare, so a busy machine cannot turn it into a timeout.
      const [slow] = (await manager([def({ name: 'slow', url: `http://127.0.0.1:${(silent.address() as AddressInfo).port}/x` })], { timeoutMs: 300, maxBytes: 1000 })).status();
      const [big] = (await manager([def({ name: 'big', url: `${base}/big.txt` })], { timeoutMs: 30_000, maxBytes: 1000 })).status();
      expect(slow).toMatchObject({ state: 'failed' });
      expect(slow!.lastError).toMatch(/no answer within 300 ms/);
      expect(big!.lastError).toMatch(/more than INTEL_FEED_MAX_BYTES \(1000\)/);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });
});
