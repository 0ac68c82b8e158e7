// A real soc-agent process against the heartbeat monitor and the command service of `soc up`: online,
// kill -9, offline with an alert, commands queued while it is away, its return, expiry, and the kill-process guard.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import { AgentStatus } from '../services/core/proto.js';
import { freePort } from '../tools/local/postgres.js';
import { createTestDatabase, runCli, runNode, startTestNats, tempDir, waitFor, type Proc, type TestDatabase, type TestNats, startSocUp } from './harness.js';

const AGENT = 'host-1';
let nats: TestNats;
let database: TestDatabase;
let db: pg.Client;
let nc: NatsConnection;
let dataDir: string;
let agentDir: string;
let env: Record<string, string | undefined>;
let soc: Proc | undefined;
let agent: Proc | undefined;
let sleeper: ChildProcess | undefined;
const transitions: { status: string; previous: string; reason: string }[] = [];

async function startSoc(): Promise<Proc> {
  return (await startSocUp(env)).soc;
}

function startAgent(): Proc {
  return runNode('agent/main.js', ['run'], {
    SOC_AGENT_ID: AGENT, SOC_AGENT_NATS_URLS: nats.url, SOC_AGENT_DATA_DIR: agentDir, SOC_AGENT_HEARTBEAT_INTERVAL_S: '1',
    SOC_AGENT_LOG_LEVEL: 'warn',
  });
}

async function agentRow(): Promise<{ status: string; status_reason: string | null; last_seen: Date } | undefined> {
  const { rows } = await db.query('SELECT status, status_reason, last_seen FROM agents WHERE id = $1', [AGENT]);
  return rows[0];
}

const status = async () => (await agentRow())?.status;

async function cli(args: string[]): Promise<{ code: number | string; stdout: string; stderr: string }> {
  return runCli(args, { DATA_DIR: dataDir, DATABASE_URL: database.url, NATS_URL: nats.url });
}

async function send(args: string[]): Promise<{ code: number | string; command: Record<string, any> }> {
  const r = await cli(['cmd', 'send', AGENT, ...args, '--json']);
  expect(r.stderr).toBe('');
  return { code: r.code, command: JSON.parse(r.stdout) };
}

async function command(id: string): Promise<Record<string, any>> {
  const r = await cli(['cmd', 'show', id, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

async function offlineAlerts(): Promise<{ status: string; close_reason: string | null }[]> {
  const { rows } = await db.query(`SELECT status, close_reason FROM alerts WHERE rule_id = 'minisoc-agent-offline' AND agent_id = $1 ORDER BY created_at`, [AGENT]);
  return rows;
}

beforeAll(async () => {
  nats = await startTestNats();
  database = await createTestDatabase();
  dataDir = tempDir('minisoc-health-');
  agentDir = tempDir('minisoc-health-agent-');
  env = {
    DATA_DIR: dataDir, NATS_URL: nats.url, DATABASE_URL: database.url, HTTP_PORT: String(await freePort()),
    SOC_SERVICES: 'store,heartbeat,command,ingest', COMMAND_RESULT_TIMEOUT_MS: '120000',
  };
  nc = await connect({ servers: nats.url });
  nc.subscribe(`agents.status.${AGENT}`, {
    callback: (_err, m) => {
      const s = AgentStatus.decode(m.data);
      transitions.push({ status: s.status ?? '', previous: s.previous ?? '', reason: s.reason ?? '' });
    },
  });
  soc = await startSoc();
  db = new pg.Client({ connectionString: database.url });
  await db.connect();
});

afterAll(async () => {
  sleeper?.kill('SIGKILL');
  await agent?.kill('SIGKILL');
  if (soc) expect(await soc.kill('SIGTERM'), soc.output()).toBe(0);
  await db?.end();
  await nc?.close();
  await nats?.close();
  await database?.drop();
  for (const d of [dataDir, agentDir]) if (d) rmSync(d, { recursive: true, force: true });
});

describe('agent health and commands', () => {
  it('shows a running agent online, and a restarted monitor does not flap it', async () => {
    agent = startAgent();
    await waitFor('the agent online', async () => (await status()) === 'online', 60_000, 200);
    expect(transitions.map((t) => t.status)).toEqual(['online']);
    const list = await cli(['agents', '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout.trim())).toMatchObject({ id: AGENT, status: 'online', version: expect.any(String) });

    // The monitor stops and starts again while the agent keeps sending heartbeats.
    expect(await soc!.kill('SIGTERM'), soc!.output()).toBe(0);
    const downAt = Date.now();
    soc = await startSoc();
    // Well past three heartbeat intervals of the agent after the monitor is back, with its heartbeats stored again.
    await waitFor('heartbeats seen by the restarted monitor', async () => {
      const row = await agentRow();
      return row && row.last_seen.getTime() > Date.now() - 2000 && Date.now() - downAt > 8000 && row;
    }, 60_000, 250);
    expect(await status()).toBe('online');
    expect(transitions.map((t) => t.status)).toEqual(['online']);
  });

  it('shows it offline after kill -9 with an open alert, queues commands meanwhile, and expires what is not delivered in time', async () => {
    await agent!.kill('SIGKILL');
    await waitFor('the agent offline', async () => (await status()) === 'offline', 30_000, 200);
    expect((await agentRow())!.status_reason).toMatch(/^no heartbeat for \d+ s \(3 intervals of 1 s\)$/);
    await waitFor('an open offline alert', async () => (await offlineAlerts()).some((a) => a.status === 'open'), 30_000, 200);

    const ping = await send(['ping']);
    expect(ping.code).toBe(0);
    expect(ping.command).toMatchObject({ agentId: AGENT, action: 'ping', status: 'queued', issuedBy: expect.stringMatching(/^cli:/) });
    const doomed = await send(['ping', '--expires', '2s']);
    await waitFor('the short-lived command to expire', async () => (await command(doomed.command.id)).status === 'expired', 30_000, 250);
    const expired = await command(doomed.command.id);
    expect(expired.error).toMatch(/not delivered before .*the agent was not online/);
    expect(expired.deliveredAt).toBeNull();
    expect((await command(ping.command.id)).status).toBe('queued');
  });

  it('delivers the queued command when the agent returns, stores its result and closes the offline alert', async () => {
    agent = startAgent();
    await waitFor('the agent online again', async () => (await status()) === 'online', 60_000, 200);
    await waitFor('the offline alert closed', async () => {
      const alerts = await offlineAlerts();
      return alerts.length === 1 && alerts[0]!.status === 'closed' && alerts[0]!.close_reason === 'resolved';
    }, 30_000, 200);
    expect(transitions.map((t) => t.status)).toEqual(['online', 'offline', 'online']);

    const queued = (await cli(['cmd', 'list', '--agent', AGENT, '--json'])).stdout.trim().split('\n').map((l) => JSON.parse(l));
    const ping = queued.find((c) => c.status !== 'expired')!;
    await waitFor('the queued ping to succeed', async () => (await command(ping.id)).status === 'succeeded', 60_000, 250);
    const done = await command(ping.id);
    expect(done).toMatchObject({ exitCode: 0, output: `pong from ${AGENT} (soc-agent ${done.output.match(/soc-agent (\S+)\)/)[1]})` });
    expect(Date.parse(done.deliveredAt)).toBeGreaterThan(Date.parse(done.issuedAt));
    const { rows } = await db.query(`SELECT action FROM audit_log WHERE target = $1 ORDER BY id`, [`command:${ping.id}`]);
    expect(rows.map((r) => r.action)).toEqual(['command.delivered', 'command.result']);
  });

  it('refuses kill-process for a pid whose start time does not match (a reused pid), and kills the right one', async () => {
    sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
    const pid = sleeper.pid!;
    const wrong = await send(['kill-process', `pid=${pid}`, 'start=2001-01-01T00:00:00Z', '--wait', '60s']);
    expect(wrong.code).toBe(1);
    expect(wrong.command).toMatchObject({ status: 'failed', exitCode: 1 });
    expect(wrong.command.error).toContain('pid reused');
    expect(sleeper.exitCode).toBeNull();
    expect(() => process.kill(pid, 0)).not.toThrow();

    const listed = await send(['list-processes', '--wait', '60s']);
    expect(listed.code).toBe(0);
    const proc = (JSON.parse(listed.command.output) as { pid: number; start: string }[]).find((p) => p.pid === pid);
    expect(proc, 'the sleeper in list-processes').toBeDefined();
    const right = await send(['kill-process', `pid=${pid}`, `start=${proc!.start}`, '--wait', '60s']);
    expect(right.command.status, JSON.stringify(right.command)).toBe('succeeded');
    expect(right.command.output).toContain(`sent SIGTERM to pid ${pid}`);
    await waitFor('the sleeper to end', () => sleeper!.exitCode !== null || sleeper!.signalCode !== null, 10_000);
  });

  it('refuses a bad command with the reason before it travels', async () => {
    const r = await cli(['cmd', 'send', AGENT, 'format-disk']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown action "format-disk" (allowed: ping, collect-now');
    const bad = await cli(['cmd', 'send', AGENT, 'kill-process', 'pid=abc']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/bad arguments for kill-process: pid: must be a whole number/);
    const nobody = await cli(['cmd', 'send', 'nobody', 'ping']);
    expect(nobody.code).toBe(2);
    expect(nobody.stderr).toContain('no agent "nobody" has ever sent a heartbeat');
  });
});
