// insertEvents against a real Postgres: awkward values are stored unchanged, and a batch stored
// twice (a redelivery) inserts nothing the second time.
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/harness.js';
import { createDb, migrateToLatest, type Db } from '../core/db/index.js';
import type { EventRow } from './core.js';
import { insertEvents, rebuildNetworkAggregates } from './sink.js';
import { dropOldPartitions } from '../core/db/index.js';
import { storeMetrics } from '../core/metrics.js';

/** Batches COPY refused and the row-by-row statement stored, by reason. */
async function fallbacks(reason: 'duplicate' | 'value'): Promise<number> {
  return (await storeMetrics.copyFallbacks.get()).values.find((v) => v.labels.reason === reason)?.value ?? 0;
}

let tdb: TestDatabase;
let db: Db;

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = createDb(tdb.url);
  await migrateToLatest(db);
});

afterAll(async () => {
  await db?.destroy();
  await tdb?.drop();
});

function row(id: string, over: Partial<EventRow> = {}): EventRow {
  return {
    id, ts: '2026-11-22T10:00:00.123Z', source_id: 'web', kind: 'event', category: ['web'], action: 'get', outcome: 'success',
    host_name: 'web-1', agent_id: null, user_name: null, source_ip: '203.0.113.9', source_port: 51234, destination_ip: '2001:db8::1',
    destination_port: 443, process_name: null, message: 'plain', tags: [], doc: { event: { id } }, ...over,
  };
}

describe('insertEvents', () => {
  it('stores quotes, commas, newlines, backslashes, braces and NULs exactly (NULs dropped), and NULLs as NULL', async () => {
    const awkward = 'say "hi", then\nnew line\r\tand \\backslash\\ {brace} \u0000end \u00e9\u{1F600} \u0001q\u0001\u0001 \\N \\. \\';
    const rows = [
      row('a', { message: awkward, user_name: '', category: ['web', 'has "quote"', 'a,b', 'back\\slash', '{x}', 'NULL'], tags: ['t"1', '', 'tab\there\u0001', '\\.'],
        doc: { message: awkward, nested: { list: [1, 'two', null], nul: 'x\u0000y' } } }),
      row('b', { kind: null, action: null, outcome: null, host_name: null, source_ip: null, source_port: null, destination_ip: null, destination_port: null, message: null, category: [] }),
    ];
    const before = { duplicate: await fallbacks('duplicate'), value: await fallbacks('value') };
    expect(await insertEvents(db, rows)).toBe(2);
    // Stored by COPY itself: its text encoding is what this test checks, not the statement path behind it.
    expect({ duplicate: await fallbacks('duplicate'), value: await fallbacks('value') }).toEqual(before);
    const got = await db.selectFrom('events').selectAll().orderBy('id').execute();
    expect(got[0]).toMatchObject({
      id: 'a', source_id: 'web', message: awkward.replace('\u0000', ''), user_name: '', source_ip: '203.0.113.9', source_port: 51234,
      destination_ip: '2001:db8::1', destination_port: 443, category: ['web', 'has "quote"', 'a,b', 'back\\slash', '{x}', 'NULL'], tags: ['t"1', '', 'tab\there\u0001', '\\.'],
      doc: { message: awkward.replace('\u0000', ''), nested: { list: [1, 'two', null], nul: 'xy' } },
    });
    expect(got[0]!.ts.toISOString()).toBe('2026-11-22T10:00:00.123Z');
    expect(got[1]).toMatchObject({ id: 'b', kind: null, action: null, host_name: null, source_ip: null, source_port: null, message: null, category: [] });
  });

  it('stores any text COPY is given exactly as the row held it (NULs dropped), without falling back', async () => {
    // Strings built of what COPY's CSV format and array literals treat specially, and of ordinary letters.
    const piece = fc.constantFrom('a', 'Z', ' ', '\t', '\n', '\r', '\u0001', '\\', '"', ',', '{', '}', '\u0000', 'é', '\u{1F600}', 'N', '.', 'NULL', '\\.');
    const str = fc.array(piece, { maxLength: 12 }).map((p) => p.join(''));
    const nul = (v: string) => v.replaceAll('\u0000', '');
    let n = 0;
    await fc.assert(fc.asyncProperty(fc.array(fc.record({ message: str, user: str, list: fc.array(str, { maxLength: 3 }), value: str }), { minLength: 1, maxLength: 20 }), async (cases) => {
      const before = await fallbacks('value');
      const rows = cases.map((c) => row(`fuzz-${n++}`, { source_id: 'fuzz', message: c.message, user_name: c.user, category: c.list, tags: c.list, doc: { v: c.value, l: c.list } }));
      expect(await insertEvents(db, rows)).toBe(rows.length);
      expect(await fallbacks('value')).toBe(before);
      const got = await db.selectFrom('events').select(['id', 'message', 'user_name', 'category', 'tags', 'doc']).where('id', 'in', rows.map((r) => r.id)).orderBy('id').execute();
      const want = [...rows].sort((a, b) => (a.id < b.id ? -1 : 1)).map((r) => ({
        id: r.id, message: nul(r.message!), user_name: nul(r.user_name!), category: r.category.map(nul), tags: r.tags.map(nul),
        doc: { v: nul(r.doc.v as string), l: (r.doc.l as string[]).map(nul) },
      }));
      expect(got).toEqual(want);
    }), { numRuns: 60 });
  });

  it('inserts nothing when the same batch comes again, and only the new rows of a batch that overlaps', async () => {
    const batch = Array.from({ length: 1000 }, (_, i) => row(`r${i}`));
    const duplicates = await fallbacks('duplicate');
    expect(await insertEvents(db, batch)).toBe(1000);
    expect(await fallbacks('duplicate')).toBe(duplicates);
    expect(await insertEvents(db, batch)).toBe(0);
    expect(await fallbacks('duplicate')).toBe(duplicates + 1);
    expect(await insertEvents(db, [...batch.slice(500), row('r1000'), row('r1001')])).toBe(2);
    // The same event twice in one batch (an upstream retry merged into it) is stored once.
    expect(await insertEvents(db, [row('r1002'), row('r1002', { message: 'again' })])).toBe(1);
    const { n } = await db.selectFrom('events').select((eb) => eb.fn.countAll<string>().as('n')).where('id', 'like', 'r%').executeTakeFirstOrThrow();
    expect(Number(n)).toBe(1003);
  });

  it('refuses a batch Postgres cannot take as a whole, with the database reason, and keeps nothing of it', async () => {
    await expect(insertEvents(db, [row('ok-1'), row('bad', { source_ip: 'not-an-ip' })])).rejects.toThrow(/inet/);
    expect(await db.selectFrom('events').select('id').where('id', '=', 'ok-1').execute()).toEqual([]);
    // The connection went back to the pool in a usable state.
    expect(await insertEvents(db, [row('ok-2')])).toBe(1);
  });
});

describe('network aggregates', () => {
  const flowsOf = async (source: string) => (await sql<{ s: string; d: string; n: number; b: number; sc: string | null; dc: string | null; da: string | null; si: boolean; di: boolean }>`
    SELECT host(source_ip) AS s, host(destination_ip) AS d, sum(connections)::int AS n, sum(bytes)::float8 AS b, max(source_country) AS sc,
      max(destination_country) AS dc, max(destination_asn)::text AS da, bool_or(source_intel) AS si, bool_or(destination_intel) AS di
    FROM network_flows WHERE source_id = ${source} GROUP BY 1, 2 ORDER BY 1, 2`.execute(db)).rows;
  const eventsOf = async (source: string) => (await sql<{ s: string; d: string; n: number }>`
    SELECT host(source_ip) AS s, host(destination_ip) AS d, count(*)::int AS n FROM events
    WHERE source_id = ${source} AND source_ip IS NOT NULL AND destination_ip IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2`.execute(db)).rows;

  it('counts the connections of inserted events once, however often and however concurrently a batch comes again', async () => {
    const batch = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => {
      const i = from + k;
      return row(`agg${i}`, {
        source_id: 'agg', ts: new Date(Date.UTC(2026, 10, 22, 10 + (i % 3), i % 60)).toISOString(),
        source_ip: `10.9.0.${i % 5}`, destination_ip: i % 2 ? '203.0.113.9' : '198.51.100.7', flow_bytes: 10,
        destination_country: i % 2 ? 'NL' : null, destination_asn: i % 2 ? 64500 : null, destination_intel: i % 2 === 1 && i % 7 === 0,
      });
    });
    // Overlapping batches at once (redeliveries racing the first delivery), then the whole lot again.
    const batches = [batch(0, 400), batch(200, 600), batch(0, 600), batch(300, 900), batch(850, 1000)];
    const inserted = (await Promise.all([...batches, ...batches].map((b) => insertEvents(db, b)))).reduce((a, b) => a + b, 0);
    expect(inserted).toBe(1000);
    expect(await insertEvents(db, batch(0, 1000))).toBe(0);
    const flows = await flowsOf('agg');
    expect(flows.map(({ s, d, n }) => ({ s, d, n }))).toEqual(await eventsOf('agg'));
    expect(flows.reduce((a, f) => a + f.n, 0)).toBe(1000);
    expect(flows.reduce((a, f) => a + f.b, 0)).toBe(10_000);
    expect(flows.find((f) => f.d === '203.0.113.9')).toMatchObject({ dc: 'NL', da: '64500', di: true });
    expect(flows.find((f) => f.d === '198.51.100.7')).toMatchObject({ dc: null, da: null, di: false });
  });

  it('records which host owns an address, and rebuilds the same sums from the events', async () => {
    await insertEvents(db, [
      row('own1', { source_id: 'own', host_name: 'web-9', source_ip: '10.8.0.1', destination_ip: '198.51.100.1', host_addresses: ['10.8.0.1'], flow_bytes: 5,
        doc: { host: { name: 'web-9', ip: ['10.8.0.1'] }, source: { ip: '10.8.0.1', bytes: 2 }, destination: { ip: '198.51.100.1', bytes: 3 } } }),
      row('own2', { source_id: 'own', host_name: 'web-9', source_ip: '198.51.100.1', destination_ip: '10.8.0.1', host_addresses: ['10.8.0.1'],
        doc: { host: { name: 'web-9', ip: ['10.8.0.1'] }, source: { ip: '198.51.100.1' }, destination: { ip: '10.8.0.1' },
          threat: { indicator: [{ value: '198.51.100.1' }] } } }),
    ]);
    const owners = async () => (await sql<{ a: string; h: string }>`SELECT host(address) AS a, host AS h FROM network_hosts WHERE host = 'web-9'`.execute(db)).rows;
    expect(await owners()).toEqual([{ a: '10.8.0.1', h: 'web-9' }]);
    const before = await flowsOf('own');
    expect(before).toEqual([
      { s: '10.8.0.1', d: '198.51.100.1', n: 1, b: 5, sc: null, dc: null, da: null, si: false, di: false },
      { s: '198.51.100.1', d: '10.8.0.1', n: 1, b: 0, sc: null, dc: null, da: null, si: false, di: false },
    ]);
    await rebuildNetworkAggregates(db, new Date('2026-11-22T00:00:00Z'), new Date('2026-11-23T00:00:00Z'));
    // Rebuilt from the documents: the same counts, and the intel hit the row itself did not carry.
    const after = await flowsOf('own');
    expect(after.map(({ s, d, n, b }) => ({ s, d, n, b }))).toEqual(before.map(({ s, d, n, b }) => ({ s, d, n, b })));
    expect(after[1]).toMatchObject({ si: true });
    expect(await owners()).toEqual([{ a: '10.8.0.1', h: 'web-9' }]);
    expect((await flowsOf('agg')).reduce((a, f) => a + f.n, 0)).toBe(1000);
  });

  it('drops the aggregates of days retention drops', async () => {
    await dropOldPartitions(db, 1, Date.parse('2026-11-24T12:00:00Z'));
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM network_flows WHERE bucket < '2026-11-23'`.execute(db)).rows[0]!.n).toBe(0);
    expect((await sql<{ n: number }>`SELECT count(*)::int AS n FROM network_hosts`.execute(db)).rows[0]!.n).toBe(0);
  });
});
