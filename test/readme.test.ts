// The README followed command by command on a fresh DATA_DIR against a default `soc up` (its own nats-server with
// auth, embedded Postgres): the quickstart's read-back, an agent enrolled and run without flags, a restart of
// soc up that the agent rides out without an alert, a planned agent stop, and `soc simulate` with its fake agents.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../tools/local/postgres.js';
import { ROOT, runCli, runNode, startSocUp, tempDir, waitFor, type Proc, type SocRuntime } from './harness.js';

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** The lines of the README that run `npx <program> ...`, as argument lists (comments and placeholders kept out). */
function readmeCommands(program: string): string[][] {
  return [...README.matchAll(new RegExp(`^npx ${program} ([^#\\n]+?)\\s*(?:#.*)?$`, 'gm'))].map((m) => m[1]!.split(/\s+/));
}
function readmeCommand(program: string, first: string): string[] {
  const found = readmeCommands(program).find((c) => c.join(' ').startsWith(first));
  if (!found) throw new Error(`README has no "npx ${program} ${first}..."`);
  return found;
}

let dataDir: string;
let agentDir: string;
let httpPort: string;
let soc: Proc;
let rt: SocRuntime;
let agent: Proc | undefined;
let db: pg.Client;
const socEnv = () => ({ DATA_DIR: dataDir, HTTP_PORT: httpPort, NATS_URL: undefined, DATABASE_URL: undefined, NATS_CREDS: undefined, INGEST_ALLOW_ANONYMOUS: undefined });
const cli = (args: string[], timeoutMs?: number) => runCli(args, socEnv(), timeoutMs);
// The agent's settings come from what `soc-agent enroll` saved; only its data dir (not /var/lib as root) is given.
const agentEnv = () => ({ SOC_AGENT_DATA_DIR: agentDir, SOC_AGENT_LOG_LEVEL: 'warn' });

async function agentRow(id: string): Promise<{ status: string; tags: string[] } | undefined> {
  return (await db.query('SELECT status, tags FROM agents WHERE id = $1', [id])).rows[0];
}
async function offlineAlerts(id: string): Promise<number> {
  return (await db.query(`SELECT count(*)::int AS n FROM alerts WHERE rule_id = 'minisoc-agent-offline' AND agent_id = $1`, [id])).rows[0].n;
}
async function connectDb(): Promise<void> {
  db = new pg.Client({ connectionString: rt.databaseUrl });
  await db.connect();
}

beforeAll(async () => {
  dataDir = tempDir('minisoc-readme-');
  agentDir = tempDir('minisoc-readme-agent-');
  httpPort = String(await freePort());
  ({ soc, runtime: rt } = await startSocUp(socEnv()));
  await connectDb();
}, 300_000);

afterAll(async () => {
  await agent?.kill('SIGTERM');
  await db?.end();
  if (soc) await soc.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(agentDir, { recursive: true, force: true });
});

describe('the README on a fresh DATA_DIR', () => {
  it('quickstart: a source token, the example record, and the read-back shows it', async () => {
    const added = await cli(/\$\(npx soc (sources add web-1 [^)]+)\)/.exec(README)![1]!.split(' '));
    expect(added.code, added.stderr).toBe(0);
    const token = added.stdout.trim();
    const body = /--data-binary \$'(.*?)\\n'/.exec(README)![1]!;
    const res = await fetch(`${rt.httpUrl}/api/ingest?source=web-1`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' }, body: `${body}\n`,
    });
    expect(res.status).toBe(202);
    const table = await waitFor('the event in soc events --since 1h', async () => {
      const r = await cli(readmeCommand('soc', 'events --since 1h'));
      return r.code === 0 && r.stdout.includes('login failed') && r.stdout;
    }, 90_000, 1000);
    expect(table).toContain('web-1');
    const json = await cli(readmeCommand('soc', 'events --category'));
    expect(json.code, json.stderr).toBe(0);
    const docs = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    expect(docs).toHaveLength(1);
    expect(docs[0]!.event.outcome).toBe('failure');
    // Stamped when received: within the last minutes, not a fixed day in the past.
    expect(Date.now() - Date.parse(docs[0]!['@timestamp'] as string)).toBeLessThan(3_600_000);
  }, 150_000);

  it('agent: enrolled and run without flags, online with its tags', async () => {
    const issued = await cli(readmeCommand('soc', 'agents enroll'));
    expect(issued.code, issued.stderr).toBe(0);
    const token = issued.stdout.trim();
    const enrollArgs = readmeCommand('soc-agent', 'enroll').map((a) => (a === '<token>' ? token : a.replace('http://127.0.0.1:8080', rt.httpUrl)));
    const enrolled = runNode('agent/main.js', enrollArgs, { ...agentEnv(), SOC_AGENT_ID: 'readme-1' });
    expect(await enrolled.exited, enrolled.output()).toBe(0);
    expect(enrolled.stdout()).toContain('soc-agent run');
    agent = runNode('agent/main.js', readmeCommand('soc-agent', 'run'), agentEnv());
    await waitFor('agent readme-1 online', async () => (await agentRow('readme-1'))?.status === 'online', 90_000, 500)
      .catch((err: Error) => { throw new Error(`${err.message}\n${agent!.output()}`); });
    expect((await agentRow('readme-1'))?.tags).toEqual(['lab']);
  }, 150_000);

  it('a restart of soc up: the agent is back online by itself and no offline alert is raised', async () => {
    await db.end();
    expect(await soc.kill('SIGTERM'), soc.output()).toBe(0);
    ({ soc, runtime: rt } = await startSocUp(socEnv()));
    await connectDb();
    await waitFor('agent readme-1 heard from after the restart', async () => {
      const { rows } = await db.query(`SELECT status FROM agents WHERE id = 'readme-1' AND last_seen > now() - interval '5 seconds'`);
      return rows[0]?.status === 'online';
    }, 120_000, 500).catch((err: Error) => { throw new Error(`${err.message}\n${agent!.output()}`); });
    expect(await offlineAlerts('readme-1')).toBe(0);
  }, 330_000);

  it('a planned stop: the agent shows stopped and raises nothing', async () => {
    expect(await agent!.kill('SIGTERM'), agent!.output()).toBe(0);
    agent = undefined;
    await waitFor('agent readme-1 stopped', async () => (await agentRow('readme-1'))?.status === 'stopped', 60_000, 500);
    expect(await offlineAlerts('readme-1')).toBe(0);
  }, 90_000);

  it('soc simulate against the default instance raises its alerts, and its fake agents answer ping', async () => {
    const sim = runNode('tools/cli/soc.js', ['simulate', '--duration', '60s', '--rate', '20', '--scenario', 'sql-injection', '--attack-every', '5s'], socEnv());
    try {
      await waitFor('an alert of the SQL injection rule', async () => {
        const { rows } = await db.query(`SELECT count(*)::int AS n FROM alerts WHERE rule_id = '8c437b85-57cd-4a50-920a-fe6189848e48'`);
        return rows[0].n > 0;
      }, 90_000, 1000).catch((err: Error) => { throw new Error(`${err.message}\n${sim.output()}`); });
      // the simulator's refusal reads "POST <url> answered 401: ..."; ports and ids may contain the digits
      expect(sim.output()).not.toMatch(/answered 401\b/);
      await waitFor('simulated agent sim-web-1 online', async () => (await agentRow('sim-web-1'))?.status === 'online', 60_000, 500);
      const ping = await cli(['cmd', 'send', 'sim-web-1', 'ping', '--wait', '--json']);
      expect(ping.code, ping.stderr).toBe(0);
      expect(JSON.parse(ping.stdout)).toMatchObject({ status: 'succeeded', output: 'pong' });
      const refused = await cli(['cmd', 'send', 'sim-web-1', 'list-processes', '--wait']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/soc cmd send: (refused|failed): simulated agent/);
    } finally {
      await sim.kill('SIGTERM');
    }
  }, 200_000);
});
