// Every simulator scenario through the real pipeline (`soc up` on this file's own nats-server and database):
// background traffic alone raises no high or critical alert, then each scenario raises the alerts it names.
import { rmSync } from 'node:fs';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../services/core/nats.js';
import { freePort } from '../tools/local/postgres.js';
import { SCENARIOS, startSimulation, type Simulation } from '../tools/simulator/index.js';
import { writeDemoIntelFeeds } from '../tools/simulator/demo.js';
import { RULES } from '../tools/simulator/scenarios.js';
import { createTestDatabase, startTestNats, tempDir, waitFor, type Proc, type TestDatabase, type TestNats, startSocUp, type SocRuntime } from './harness.js';

let nats: TestNats;
let database: TestDatabase;
let dataDir: string;
let soc: Proc;
let http: string;
let nc: NatsConnection;
let jsm: JetStreamManager;
let db: pg.Client;
let sim: Simulation | undefined;

beforeAll(async () => {
  [nats, database] = await Promise.all([startTestNats(), createTestDatabase()]);
  dataDir = tempDir('minisoc-sim-');
  let runtime: SocRuntime;
  ({ soc, runtime } = await startSocUp({
    DATA_DIR: dataDir, HTTP_PORT: String(await freePort()), NATS_URL: nats.url, DATABASE_URL: database.url,
    STAGE_MAX_BACKOFF_MS: '2000', INTEL_FEEDS_FILE: writeDemoIntelFeeds(dataDir), INGEST_ALLOW_ANONYMOUS: 'true',
  }));
  http = runtime.httpUrl;
  nc = await connectNats({ url: nats.url, name: 'simulator-test' });
  jsm = await jetstreamManager(nc);
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
});

afterAll(async () => {
  await sim?.stop();
  await db?.end();
  await nc?.drain();
  if (soc) {
    const code = await soc.kill('SIGTERM');
    expect(code, soc.output()).toBe(0);
  }
  await database?.drop();
  await nats?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Waits until a durable has acknowledged everything its stream held when this was called. */
async function caughtUp(stream: string, durable: string): Promise<void> {
  const last = (await jsm.streams.info(stream)).state.last_seq;
  await waitFor(`${durable} on ${stream} to reach ${last}`, async () => (await jsm.consumers.info(stream, durable)).ack_floor.stream_seq >= last, 120_000, 250);
}

/** Everything sent so far has been normalized, enriched, evaluated, and its alerts stored. */
async function settled(): Promise<void> {
  await caughtUp('INGEST', 'normalize');
  await caughtUp('TELEMETRY', 'normalize');
  await caughtUp('NORMALIZED', 'enrich');
  await caughtUp('ENRICHED', 'detect');
  await caughtUp('ALERTS', 'store');
}

async function alerts(): Promise<{ rule_id: string; level: string; agent_id: string | null; rule_title: string; source_ip: string | null; host_name: string | null }[]> {
  return (await db.query('SELECT rule_id, level, agent_id, rule_title, source_ip, host_name FROM alerts ORDER BY created_at')).rows;
}

describe('soc simulate through soc up', () => {
  it('raises no high alert from background traffic, then every alert each scenario names', async () => {
    sim = startSimulation({
      rate: 150, seed: 42, scenarios: SCENARIOS, firstAttackMs: 1000, attackEveryMs: 1500, holdAttacks: true,
      logs: { http }, nc, heartbeatIntervalS: 2,
    });
    const failed = sim.done.then(() => undefined, (err: unknown) => err);
    await waitFor('3,000 background records sent', async () => {
      const err = await Promise.race([failed, Promise.resolve('running')]);
      if (err !== 'running' && err !== undefined) throw err as Error;
      return sim!.sent() >= 3000;
    }, 90_000, 250);
    await settled();
    const stored = Number((await db.query('SELECT count(*) AS n FROM events')).rows[0].n);
    expect(stored).toBeGreaterThan(2500);
    const agents = await waitFor('5 simulated agents online', async () => {
      const { rows } = await db.query(`SELECT id FROM agents WHERE status = 'online' AND id LIKE 'sim-%'`);
      return rows.length === 5 && rows;
    }, 60_000, 250);
    expect(agents).toHaveLength(5);

    const before = await alerts();
    expect(before.filter((a) => a.level === 'high' || a.level === 'critical').map((a) => `${a.level} ${a.rule_title}`)).toEqual([]);
    const expected = new Set(SCENARIOS.flatMap((s) => s.rules));
    expect(before.filter((a) => expected.has(a.rule_id)).map((a) => a.rule_title)).toEqual([]);

    sim.release();
    let missing: string[] = [];
    await waitFor('every scenario\'s alerts', async () => {
      const fired = new Set((await alerts()).map((a) => a.rule_id));
      missing = SCENARIOS.flatMap((s) => s.rules.filter((id) => !fired.has(id)).map((id) => `${s.name}: ${id}`));
      return missing.length === 0;
    }, 180_000, 500).catch((err: Error) => { throw new Error(`${err.message}; missing: ${missing.join(', ')}`); });

    // The offline alert is for the agent the scenario silenced, not for any of the others.
    const silenced = sim.engine.started.find((s) => s.name === 'agent-silent')!.silence!.agent.agentId;
    const offline = (await alerts()).filter((a) => a.rule_id === RULES.agentOffline);
    expect(new Set(offline.map((a) => a.agent_id))).toEqual(new Set([silenced]));
    // Attack alerts name the attack's host or address, which background traffic never uses.
    const intel = (await alerts()).filter((a) => a.rule_id === RULES.threatIntel);
    expect(intel.length).toBeGreaterThan(0);
  });
});
