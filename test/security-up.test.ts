// `soc up --demo` secure by default, as a user starts it: its own nats-server with JWT auth, ingest behind source tokens,
// and the CLI path an operator follows: soc sources add, soc agents enroll, soc-agent enroll + run, soc agents revoke.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../tools/local/postgres.js';
import { runCli, runNode, tempDir, waitFor, type Proc, startSocUp, type SocRuntime } from './harness.js';


let dataDir: string;
let agentDir: string;
let soc: Proc;
let agent: Proc | undefined;
let rt: SocRuntime;
let db: pg.Client;
const cli = (args: string[]) => runCli(args, { DATA_DIR: dataDir, NATS_URL: undefined, DATABASE_URL: undefined, NATS_CREDS: undefined });

beforeAll(async () => {
  dataDir = tempDir('minisoc-sec-up-');
  agentDir = tempDir('minisoc-sec-up-agent-');
  ({ soc, runtime: rt } = await startSocUp({
    DATA_DIR: dataDir, HTTP_PORT: String(await freePort()), NATS_URL: undefined, DATABASE_URL: undefined, NATS_CREDS: undefined, INGEST_ALLOW_ANONYMOUS: undefined,
  }, ['--demo']));
  db = new pg.Client({ connectionString: rt.databaseUrl });
  await db.connect();
}, 300_000);

afterAll(async () => {
  await agent?.kill('SIGTERM');
  await db?.end();
  if (soc) expect(await soc.kill('SIGTERM'), soc.output()).toBe(0);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(agentDir, { recursive: true, force: true });
});

describe('soc up, secure by default', () => {
  it('runs nats-server with auth: no credentials, no connection; the CLI uses the backend credentials', async () => {
    expect(rt.natsCreds).toBe(join(dataDir, 'nats-auth', 'backend.creds'));
    await expect(connect({ servers: rt.natsUrl, reconnect: false, timeout: 5000 })).rejects.toThrow(/Authorization Violation/);
    const stats = await cli(['stats', '--json']);
    expect(stats.code, stats.stderr).toBe(0);
  });

  it('runs the demo with a token per source', async () => {
    await waitFor('demo events from every log source', async () => {
      const { rows } = await db.query("SELECT count(DISTINCT source_id)::int AS n FROM events WHERE source_id IN ('web', 'linux-auth', 'dns')");
      return rows[0].n === 3;
    }, 120_000, 1000);
    const { rows } = await db.query("SELECT name FROM ingest_sources WHERE created_by = 'demo' AND revoked_at IS NULL ORDER BY name");
    expect(rows.map((r) => r.name)).toContain('web');
  }, 150_000);

  it('takes logs only with a source token', async () => {
    const post = (headers: Record<string, string>) => fetch(`${rt.httpUrl}/api/ingest?source=shipper`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', ...headers }, body: '{"message":"hello"}\n' });
    expect((await post({})).status).toBe(401);
    const added = await cli(['sources', 'add', 'shipper', '--format', 'ndjson']);
    expect(added.code, added.stderr).toBe(0);
    const token = added.stdout.trim();
    expect((await post({ authorization: `Bearer ${token}` })).status).toBe(202);
    expect((await cli(['sources', 'revoke', 'shipper'])).code).toBe(0);
    expect((await post({ authorization: `Bearer ${token}` })).status).toBe(401);
    expect((await cli(['sources', 'add', 'bad name', '--format', 'ndjson'])).code).toBe(2);
  });

  it('enrolls an agent with a one-time token, and revoking it drops the agent and keeps it out', async () => {
    const issued = await cli(['agents', 'enroll', '--expires', '10m', '--tags', 'lab']);
    expect(issued.code, issued.stderr).toBe(0);
    const token = issued.stdout.trim();
    const env = { SOC_AGENT_ID: 'up-1', SOC_AGENT_DATA_DIR: agentDir, SOC_AGENT_NATS_URLS: rt.natsUrl, SOC_AGENT_HEARTBEAT_INTERVAL_S: '1', SOC_AGENT_LOG_LEVEL: 'warn' };
    const enrolled = runNode('agent/main.js', ['enroll', '--server', rt.httpUrl, '--token', token], env);
    expect(await enrolled.exited, enrolled.output()).toBe(0);
    const reused = runNode('agent/main.js', ['enroll', '--server', rt.httpUrl, '--token', token], { ...env, SOC_AGENT_ID: 'up-2', SOC_AGENT_DATA_DIR: join(agentDir, 'other') });
    expect(await reused.exited).toBe(2);
    expect(reused.stderr()).toContain('401');

    agent = runNode('agent/main.js', ['run'], env);
    await waitFor('agent up-1 online', async () => (await db.query("SELECT status FROM agents WHERE id = 'up-1'")).rows[0]?.status === 'online', 90_000, 500);
    const ping = await cli(['cmd', 'send', 'up-1', 'ping', '--wait']);
    expect(ping.stdout).toContain('pong');

    const revoked = await cli(['agents', 'revoke', 'up-1']);
    expect(revoked.code, revoked.stderr).toBe(0);
    await waitFor('the agent to be refused', () => /Authorization Violation/.test(agent!.stderr()), 30_000, 200);
    const audit = await db.query("SELECT actor FROM audit_log WHERE action = 'agent.revoke' AND target = 'up-1'");
    expect(audit.rows).toHaveLength(1);
    expect((await cli(['agents', 'revoke', 'up-1'])).code).toBe(2);
  }, 300_000);
});
