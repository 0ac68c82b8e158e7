// The analysts' `soc` commands (built, in dist/) against a real Postgres and nats-server.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkPassword, createToken, userFromToken } from '../services/auth/users.js';
import { createDb, ensurePartitions, migrateToLatest, type Db } from '../services/core/db/index.js';
import { Alert, EventBatch } from '../services/core/proto.js';
import { ensureTopology } from '../services/core/topology.js';
import { alertRow } from '../services/store/core.js';
import { insertAlerts } from '../services/store/sink.js';
import { createTestDatabase, runCli, runNode, startTestNats, tempDir, waitFor, type TestDatabase, type TestNats } from './harness.js';

let nats: TestNats;
let tdb: TestDatabase;
let db: Db;
let nc: NatsConnection;
let env: Record<string, string | undefined>;
let dir: string;

beforeAll(async () => {
  [nats, tdb] = await Promise.all([startTestNats(), createTestDatabase()]);
  db = createDb(tdb.url);
  await migrateToLatest(db);
  nc = await connect({ servers: nats.url });
  await ensureTopology(await jetstreamManager(nc), { maxBytes: 64 * 1024 * 1024, maxAgeS: 3600, replicas: 1, ackWaitMs: 30_000 });
  dir = tempDir('minisoc-cli-');
  env = { DATABASE_URL: tdb.url, NATS_URL: nats.url, DATA_DIR: dir };
  await ensurePartitions(db, ['2026-11-20']);
  await db.insertInto('events').values([1, 2, 3].map((i) => ({
    id: `e${i}`, ts: `2026-11-20T10:0${i}:00.000Z`, source_id: 'cli', category: ['authentication'], host_name: 'web-1',
    message: i === 2 ? 'has, a "quote"' : `m${i}`, tags: [], doc: JSON.stringify({ n: i }),
  }))).execute();
  await insertAlerts(db, ['c1', 'c2'].map((id, i) => alertRow({
    id, dedup_key: id, rule_id: `rule-${id}`, rule_title: `Title ${id}`, level: i ? 'high' : 'low', score: i * 50, timestamp: `2026-11-20T10:0${i}:00.000Z`,
    event_ids: ['e1'], host_name: 'web-1',
  }, id)));
});

afterAll(async () => {
  await nc?.close();
  await db?.destroy();
  await tdb?.drop();
  await nats?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('soc incidents and soc alerts', () => {
  it('lists incidents as JSON lines with filters', async () => {
    const r = await runCli(['incidents', '--json', '--severity', 'high'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l).id)).toEqual(['c2']);
    const bad = await runCli(['incidents', '--severity', 'huge'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/severity "huge": expected one of/);
  });

  it('shows, acknowledges and closes an alert, audited as cli:<user>', async () => {
    const show = await runCli(['alerts', 'show', 'c1', '--json'], env);
    expect(show.code, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({ alert: { id: 'c1' }, events: [{ n: 1 }] });
    expect((await runCli(['alerts', 'ack', 'c1', '--assignee', 'bob'], env)).stdout).toMatch(/c1 acknowledged, assigned to bob/);
    const noReason = await runCli(['alerts', 'close', 'c1', '--reason', 'meh'], env);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toMatch(/--reason "meh"/);
    expect((await runCli(['alerts', 'close', 'c1', '--reason', 'benign'], env)).stdout).toMatch(/c1 closed \(benign\)/);
    const audit = await db.selectFrom('audit_log').select(['actor', 'action']).where('target', '=', 'c1').orderBy('id').execute();
    expect(audit).toEqual([{ actor: `cli:${userInfo().username}`, action: 'alert.triage' }, { actor: `cli:${userInfo().username}`, action: 'alert.triage' }]);
    const missing = await runCli(['alerts', 'show', 'nope'], env);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no alert "nope"/);
  });
});

describe('soc incidents --q, and soc alerts on several ids', () => {
  beforeAll(async () => {
    await insertAlerts(db, ['c3', 'c4', 'c5'].map((id) => alertRow({
      id, dedup_key: id, rule_id: `rule-${id}`, rule_title: id === 'c5' ? 'Kerberoasting on dc-2' : `Title ${id}`, level: 'medium', score: 30,
      timestamp: '2026-11-20T10:05:00.000Z', host_name: id === 'c5' ? 'dc-2' : 'web-2', techniques: [{ id: 'T1558.003', name: '', tactics: ['credential-access'] }],
    }, id)));
  });

  it('searches incidents by words of their title, host or rule id', async () => {
    const r = await runCli(['incidents', '--json', '--q', 'KERBEROAST dc-2'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l).id)).toEqual(['c5']);
    expect((await runCli(['incidents', '--json', '--q', 'web-2'], env)).stdout.trim().split('\n').map((l) => JSON.parse(l).id).sort()).toEqual(['c3', 'c4']);
    const long = await runCli(['incidents', '--q', 'x'.repeat(201)], env);
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/q: at most 200 characters/);
  });

  it('acknowledges and closes several alerts at once, all or none, and names the ones refused', async () => {
    const ack = await runCli(['alerts', 'ack', 'c3', 'c4', '--comment', 'same scanner'], env);
    expect(ack.code, ack.stderr).toBe(0);
    expect(ack.stdout).toBe('c3 acknowledged\nc4 acknowledged\n');
    // c1 was closed above: nothing is closed, and the refusal says why.
    const refused = await runCli(['alerts', 'close', 'c3', 'c1', 'c4', 'gone', '--reason', 'true_positive'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/nothing changed: 2 of 4 alert\(s\) refused/);
    expect(refused.stderr).toMatch(/c1: alert c1 is closed already \(benign\)/);
    expect(refused.stderr).toMatch(/gone: no alert "gone"/);
    expect((await db.selectFrom('alerts').select('status').where('id', 'in', ['c3', 'c4']).execute()).map((r) => r.status)).toEqual(['acknowledged', 'acknowledged']);
    const closed = await runCli(['alerts', 'close', 'c3', 'c4', '--reason', 'true_positive', '--comment', 'blocked at the edge'], env);
    expect(closed.code, closed.stderr).toBe(0);
    expect(closed.stdout).toBe('c3 closed (true_positive)\nc4 closed (true_positive)\n');
    expect((await runCli(['alerts', 'close', 'c3', 'c4', '--reason', 'false_positive', '--filter'], env)).stderr).toMatch(/--filter saves the filter of one alert; 2 were given/);
  });

  it('reopens a closed alert unless its dedup key has a newer open one, and shows the history with ATT&CK names', async () => {
    const reopened = await runCli(['alerts', 'reopen', 'c3', '--comment', 'it came back'], env);
    expect(reopened.code, reopened.stderr).toBe(0);
    expect(reopened.stdout).toBe('c3 reopened\n');
    const show = await runCli(['alerts', 'show', 'c3'], env);
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('mitre:     T1558.003 Steal or Forge Kerberos Tickets: Kerberoasting  (Credential Access)');
    const me = `cli:${userInfo().username}`;
    const history = show.stdout.split('\n').filter((l) => l.includes(me));
    expect(history.map((l) => l.replace(/^\s+\S+\s+/, ''))).toEqual([
      `${me}  open -> acknowledged (bulk of 2): "same scanner"`,
      `${me}  acknowledged -> closed (true_positive) (bulk of 2): "blocked at the edge"`,
      `${me}  closed (true_positive) -> open: "it came back"`,
    ]);
    expect(JSON.parse((await runCli(['alerts', 'show', 'c3', '--json'], env)).stdout).history).toHaveLength(3);
    // c4's dedup key gets a newer alert, which the store opens since c4 is closed.
    await insertAlerts(db, [alertRow({ id: 'c4-new', dedup_key: 'c4', rule_id: 'rule-c4', rule_title: 'Title c4', level: 'medium', timestamp: '2026-11-20T10:09:00.000Z' }, 'c4-new')]);
    const refused = await runCli(['alerts', 'reopen', 'c4'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/alert c4 cannot be reopened: the same dedup key already has a newer open alert c4-new \(open\)/);
  });
});

describe('soc alerts assign', () => {
  it('assigns several alerts at once, all or none', async () => {
    const ok = await runCli(['alerts', 'assign', 'c2', 'c3', '--to', 'carol', '--comment', 'hers now'], env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('c2 assigned to carol\nc3 assigned to carol\n');
    expect((await db.selectFrom('alerts').select('assignee').where('id', 'in', ['c2', 'c3']).execute()).map((r) => r.assignee)).toEqual(['carol', 'carol']);
    const refused = await runCli(['alerts', 'assign', 'c2', 'gone', '--to', 'dave'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/gone: no alert "gone"/);
    expect((await db.selectFrom('alerts').select('assignee').where('id', '=', 'c2').executeTakeFirst())?.assignee).toBe('carol');
  });
});

describe('soc export, stats, users and tail', () => {
  it('exports events to a CSV file with escaping', async () => {
    const out = join(dir, 'events.csv');
    const r = await runCli(['export', '--kind', 'events', '--format', 'csv', '--out', out, '--host', 'web-1'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/3 event\(s\) written/);
    const text = readFileSync(out, 'utf8');
    expect(text.split('\n')[0]).toMatch(/^ts,id,source_id,host_name/);
    expect(text).toContain('"has, a ""quote"""');
    expect((await runCli(['export', '--format', 'xml', '--out', out], env)).stderr).toMatch(/--format "xml"/);
  });

  it('prints stats as JSON', async () => {
    const r = await runCli(['stats', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ dlq: { count: 0 }, stages: expect.arrayContaining([expect.objectContaining({ stream: 'ENRICHED', consumer: 'detect' })]) });
  });

  it('adds a user with a generated password that works, and lists users', async () => {
    const r = await runCli(['users', 'add', 'carol', '--role', 'analyst'], env);
    expect(r.code, r.stderr).toBe(0);
    const password = /password: (\S+)/.exec(r.stdout)![1]!;
    expect(await checkPassword(db, 'carol', password)).toEqual({ name: 'carol', role: 'analyst' });
    expect((await runCli(['users', 'add', 'carol', '--role', 'analyst'], env)).stderr).toMatch(/already exists/);
    expect((await runCli(['users', 'add', 'dave', '--role', 'root'], env)).stderr).toMatch(/--role "root"/);
    const list = await runCli(['users', 'list', '--json'], env);
    expect(list.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([expect.objectContaining({ name: 'carol', role: 'analyst' })]);
    const weak = await runCli(['users', 'add', 'dora', '--role', 'viewer', '--password-stdin'], env, 60_000, 'short\n');
    expect(weak.stderr).toMatch(/at least 12 characters/);
  });

  it('disables, enables, resets the password of, changes the role of and signs out a user, each audited', async () => {
    await runCli(['users', 'add', 'erin', '--role', 'analyst'], env);
    const session = async () => (await createToken(db, 'erin', 'session', 3_600_000)).token;
    let token = await session();
    const r = await runCli(['users', 'disable', 'erin'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(await userFromToken(db, token)).toBeNull();
    expect((await runCli(['users', 'enable', 'erin'], env)).code).toBe(0);
    token = await session();
    const weak = await runCli(['users', 'reset-password', 'erin', '--password-stdin'], env, 60_000, 'password123456\n');
    expect(weak.code).not.toBe(0);
    expect(weak.stderr).toMatch(/commonly used/);
    expect(await userFromToken(db, token)).not.toBeNull();
    const reset = await runCli(['users', 'reset-password', 'erin', '--password-stdin'], env, 60_000, 'ochre kettle 42 mast\n');
    expect(reset.code, reset.stderr).toBe(0);
    expect(await userFromToken(db, token)).toBeNull();
    expect(await checkPassword(db, 'erin', 'ochre kettle 42 mast')).toEqual({ name: 'erin', role: 'analyst' });
    expect((await runCli(['users', 'set-role', 'erin', 'viewer'], env)).code).toBe(0);
    expect(await checkPassword(db, 'erin', 'ochre kettle 42 mast')).toEqual({ name: 'erin', role: 'viewer' });
    token = await session();
    const ended = await runCli(['users', 'end-sessions', 'erin'], env);
    expect(ended.stdout).toMatch(/1 session\(s\) of erin ended/);
    expect(await userFromToken(db, token)).toBeNull();
    expect((await runCli(['users', 'disable', 'nobody'], env)).stderr).toMatch(/no user "nobody"/);
    const actions = await db.selectFrom('audit_log').select('action').where('target', '=', 'erin').where('actor', 'like', 'cli:%').execute();
    expect(actions.map((a) => a.action)).toEqual(['user.create', 'user.update', 'user.update', 'user.password-reset', 'user.update', 'user.sessions-end']);
  }, 300_000);

  it('tails live events and alerts from NATS, one line each', async () => {
    const tail = runNode('tools/cli/soc.js', ['tail', '--json'], env);
    try {
      // Publish until tail, once subscribed, has printed both.
      await waitFor('soc tail to print an event and an alert', async () => {
        nc.publish('events.enriched.cli', EventBatch.encode({ source_id: 'cli', events: [{ id: 'live-1', timestamp: '2026-11-20T10:00:00Z', source_id: 'cli', message: 'live event' }] }).finish());
        nc.publish('alerts.high', Alert.encode({ id: 'live-a', rule_title: 'Live rule', level: 'high', timestamp: '2026-11-20T10:00:00Z' }).finish());
        await nc.flush();
        const lines = tail.stdout().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
        return lines.some((l) => l.type === 'event' && l.event.message === 'live event') && lines.some((l) => l.type === 'alert' && l.alert.rule_title === 'Live rule');
      }, 60_000, 300);
    } finally {
      expect(await tail.kill('SIGINT')).toBe(0);
    }
  });
});
