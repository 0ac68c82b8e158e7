// An agent cut off from NATS for minutes (nats-server stopped, backend and all), making 200 events/s the
// whole time: after NATS returns every event reaches Postgres through the pipeline exactly once.
// CHAOS_AGENT_OUTAGE_S sets the outage (default 120).
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { freePort } from '../tools/local/postgres.js';
import { createTestDatabase, runNode, startTestNats, tempDir, waitFor, type Proc, type TestDatabase, type TestNats } from './harness.js';

const OUTAGE_S = Number(process.env.CHAOS_AGENT_OUTAGE_S ?? 120);
const AGENT = 'long-1';
let nats: TestNats;
let database: TestDatabase;
let dataDir: string;
let agentDir: string;
let soc: Proc;
let db: pg.Client;
const procs: Proc[] = [];

beforeAll(async () => {
  [nats, database] = await Promise.all([startTestNats(), createTestDatabase()]);
  dataDir = tempDir('minisoc-chaos-agent-');
  agentDir = tempDir('minisoc-chaos-agent-spool-');
  soc = runNode('tools/cli/soc.js', ['up'], {
    NATS_URL: nats.url, DATABASE_URL: database.url, DATA_DIR: dataDir, HTTP_PORT: String(await freePort()),
    SOC_SERVICES: 'normalize,enrich,store', STAGE_MAX_BACKOFF_MS: '2000',
  });
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
});

afterAll(async () => {
  for (const p of procs) await p.kill('SIGKILL');
  await soc?.kill('SIGTERM');
  await db?.end();
  await nats?.close();
  await database?.drop();
  for (const d of [dataDir, agentDir]) if (d) rmSync(d, { recursive: true, force: true });
});

function agent(perTick: number): Proc {
  const p = runNode('agent/testing/synthetic-agent.js', [], {
    SOC_AGENT_ID: AGENT, SOC_AGENT_NATS_URLS: nats.url, SOC_AGENT_DATA_DIR: agentDir, SOC_AGENT_LOG_LEVEL: 'warn',
    SOC_AGENT_BATCH_MAX_EVENTS: '500', SOC_AGENT_BATCH_MAX_AGE_MS: '500', SYNTH_RUN: 'long', SYNTH_EVENTS_PER_TICK: String(perTick), SYNTH_TICK_MS: '100',
  });
  procs.push(p);
  return p;
}

async function stored(): Promise<{ n: number; distinct: number; lo: number; hi: number }> {
  const { rows } = await db.query(`SELECT count(*)::int AS n, count(DISTINCT doc->'labels'->>'synthetic_seq')::int AS distinct,
    min((doc->'labels'->>'synthetic_seq')::int) AS lo, max((doc->'labels'->>'synthetic_seq')::int) AS hi
    FROM events WHERE agent_id = $1 AND doc->'labels'->>'synthetic_run' = 'long'`, [AGENT]).catch(() => ({ rows: [{ n: 0, distinct: 0, lo: null, hi: null }] }));
  return rows[0];
}

describe('chaos: agent offline for minutes', () => {
  it(`delivers every event made during a ${OUTAGE_S} s NATS outage exactly once`, async () => {
    const maker = agent(20);
    await waitFor('events flowing into Postgres', async () => (await stored()).n >= 1000, 120_000, 250)
      .catch((err: Error) => { throw new Error(`${err.message}\n${soc.output()}\n${maker.output()}`); });
    await nats.stop();
    await new Promise((r) => setTimeout(r, OUTAGE_S * 1000));
    const spooled = readdirSync(join(agentDir, 'spool')).filter((f) => f.endsWith('.batch')).length;
    // 200 events/s for the whole outage sit on the agent's disk, batch by batch.
    expect(spooled).toBeGreaterThanOrEqual(Math.floor((OUTAGE_S * 200) / 500) - 2);
    await nats.restart();
    const atRestart = (await stored()).n;
    await waitFor('events flowing again after the restart', async () => (await stored()).n > atRestart + 1000, 300_000, 250);
    expect(await maker.kill('SIGTERM')).toBe(0);
    const emitted = Number(/synthetic-agent emitted (\d+)/.exec(maker.stderr())?.[1]);
    expect(emitted).toBeGreaterThan(OUTAGE_S * 200);
    // What the first process had not sent yet is sent by the next one from the same spool.
    const drainer = agent(0);
    await waitFor('the spool to drain', () => readdirSync(join(agentDir, 'spool')).filter((f) => f.endsWith('.batch')).length === 0, 120_000, 250);
    await waitFor(`all ${emitted} events stored`, async () => (await stored()).n >= emitted, 300_000, 500)
      .catch(async (err: Error) => { throw new Error(`${err.message}: ${JSON.stringify(await stored())}\n${soc.output()}`); });
    // Rows have deterministic ids (a redelivery adds none) and nothing is made after the count: the count is final.
    expect(await stored()).toEqual({ n: emitted, distinct: emitted, lo: 0, hi: emitted - 1 });
    expect(await drainer.kill('SIGTERM')).toBe(0);
  }, 900_000);
});
