// Agent health timings at the default settings (heartbeat every 10 s, offline after 3 missed): how long
// from an agent's start until the monitor shows it online, from kill -9 until it shows offline, and from a
// restart until a command queued meanwhile has its result. Runs `soc up` (store, heartbeat, command) and a
// real soc-agent against its own nats-server and database.
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../../tools/local/postgres.js';
import { createTestDatabase, runCli, runNode, startTestNats, tempDir, waitFor } from '../harness.js';

const AGENT = 'bench-health';

async function main(): Promise<void> {
  const nats = await startTestNats();
  const database = await createTestDatabase();
  const dataDir = tempDir('minisoc-bench-health-');
  const agentDir = tempDir('minisoc-bench-health-agent-');
  const env = { DATA_DIR: dataDir, NATS_URL: nats.url, DATABASE_URL: database.url, HTTP_PORT: String(await freePort()), SOC_SERVICES: 'store,heartbeat,command' };
  const soc = runNode('tools/cli/soc.js', ['up'], env);
  await waitFor('soc up', () => existsSync(join(dataDir, 'runtime.json')), 90_000);
  const db = new pg.Client({ connectionString: database.url });
  await db.connect();
  const status = async () => (await db.query('SELECT status FROM agents WHERE id = $1', [AGENT])).rows[0]?.status as string | undefined;
  const agentEnv = { SOC_AGENT_ID: AGENT, SOC_AGENT_NATS_URLS: nats.url, SOC_AGENT_DATA_DIR: agentDir, SOC_AGENT_LOG_LEVEL: 'warn' };

  let t = Date.now();
  let agent = runNode('agent/main.js', ['run'], agentEnv);
  await waitFor('online', async () => (await status()) === 'online', 120_000, 50);
  const onlineMs = Date.now() - t;

  await new Promise((r) => setTimeout(r, 5000));
  t = Date.now();
  await agent.kill('SIGKILL');
  await waitFor('offline', async () => (await status()) === 'offline', 120_000, 50);
  const offlineMs = Date.now() - t;

  const sent = await runCli(['cmd', 'send', AGENT, 'ping', '--json'], { ...env });
  const id = (JSON.parse(sent.stdout) as { id: string }).id;
  t = Date.now();
  agent = runNode('agent/main.js', ['run'], agentEnv);
  await waitFor('result', async () => (await db.query('SELECT status FROM commands WHERE id = $1', [id])).rows[0]?.status === 'succeeded', 120_000, 50);
  const resultMs = Date.now() - t;

  await agent.kill('SIGTERM');
  await soc.kill('SIGTERM');
  await db.end();
  await database.drop();
  await nats.close();
  for (const d of [dataDir, agentDir]) rmSync(d, { recursive: true, force: true });
  const summary = { heartbeatIntervalS: 10, missedOffline: 3, startToOnlineMs: onlineMs, killToOfflineMs: offlineMs, restartToQueuedCommandResultMs: resultMs };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.stdout.write(`agent health: online ${(onlineMs / 1000).toFixed(1)} s after start, offline ${(offlineMs / 1000).toFixed(1)} s after kill -9 (limit 30 s), queued command answered ${(resultMs / 1000).toFixed(1)} s after restart\n`);
}

await main();
