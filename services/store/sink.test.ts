// insertEvents against a real Postgres: awkward values are stored unchanged, and a batch stored
// twice (a redelivery) inserts nothing the second time.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../test/harness.js';
import { createDb, migrateToLatest, type Db } from '../core/db/index.js';
import type { EventRow } from './core.js';
import { insertEvents } from './sink.js';

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
    const awkward = 'say "hi", then\nnew line\r\tand \\backslash\\ {brace} \u0000end \u00e9\u{1F600}';
    const rows = [
      row('a', { message: awkward, user_name: '', category: ['web', 'has "quote"', 'a,b', 'back\\slash', '{x}', 'NULL'], tags: ['t"1', ''],
        doc: { message: awkward, nested: { list: [1, 'two', null], nul: 'x\u0000y' } } }),
      row('b', { kind: null, action: null, outcome: null, host_name: null, source_ip: null, source_port: null, destination_ip: null, destination_port: null, message: null, category: [] }),
    ];
    expect(await insertEvents(db, rows)).toBe(2);
    const got = await db.selectFrom('events').selectAll().orderBy('id').execute();
    expect(got[0]).toMatchObject({
      id: 'a', source_id: 'web', message: awkward.replace('\u0000', ''), user_name: '', source_ip: '203.0.113.9', source_port: 51234,
      destination_ip: '2001:db8::1', destination_port: 443, category: ['web', 'has "quote"', 'a,b', 'back\\slash', '{x}', 'NULL'], tags: ['t"1', ''],
      doc: { message: awkward.replace('\u0000', ''), nested: { list: [1, 'two', null], nul: 'xy' } },
    });
    expect(got[0]!.ts.toISOString()).toBe('2026-11-22T10:00:00.123Z');
    expect(got[1]).toMatchObject({ id: 'b', kind: null, action: null, host_name: null, source_ip: null, source_port: null, message: null, category: [] });
  });

  it('inserts nothing when the same batch comes again, and only the new rows of a batch that overlaps', async () => {
    const batch = Array.from({ length: 1000 }, (_, i) => row(`r${i}`));
    expect(await insertEvents(db, batch)).toBe(1000);
    expect(await insertEvents(db, batch)).toBe(0);
    expect(await insertEvents(db, [...batch.slice(500), row('r1000'), row('r1001')])).toBe(2);
    const { n } = await db.selectFrom('events').select((eb) => eb.fn.countAll<string>().as('n')).where('id', 'like', 'r%').executeTakeFirstOrThrow();
    expect(Number(n)).toBe(1002);
  });

  it('refuses a batch Postgres cannot take as a whole, with the database reason, and keeps nothing of it', async () => {
    await expect(insertEvents(db, [row('ok-1'), row('bad', { source_ip: 'not-an-ip' })])).rejects.toThrow(/inet/);
    expect(await db.selectFrom('events').select('id').where('id', '=', 'ok-1').execute()).toEqual([]);
    // The connection went back to the pool in a usable state.
    expect(await insertEvents(db, [row('ok-2')])).toBe(1);
  });
});
