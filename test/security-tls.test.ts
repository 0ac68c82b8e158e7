// TLS in the deployed configuration, with a local CA from `soc init --tls`: nats-server with TLS (and mTLS), the HTTPS
// API, and a real soc-agent that enrolls over HTTPS and then ships heartbeats over TLS with its own credential.
import { readFileSync, rmSync, statSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, credsAuthenticator, type NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../services/core/config.js';
import { createDb, migrateToLatest, type Db } from '../services/core/db/index.js';
import { createLogger } from '../services/core/log.js';
import { ensureTopology } from '../services/core/topology.js';
import { buildApp } from '../services/http/app.js';
import { createEnrollmentToken } from '../services/enroll/enroll.js';
import { natsTlsOptions } from '../services/core/tls.js';
import { ensureNatsAuth, type NatsAuth } from '../services/core/nats-accounts.js';
import { startNatsServer, type LocalNats } from '../tools/local/nats-server.js';
import { createLocalTls, type LocalTls } from '../tools/local/tls.js';
import { createTestDatabase, runCli, runNode, tempDir, waitFor, type Proc, type TestDatabase } from './harness.js';

let dir: string;
let tls: LocalTls;
let auth: NatsAuth;
let server: LocalNats;
let database: TestDatabase;
let db: Db;
let backend: NatsConnection;
let jsm: JetStreamManager;
let app: FastifyInstance;
let agent: Proc | undefined;

beforeAll(async () => {
  dir = tempDir('minisoc-sec-tls-');
  const init = await runCli(['init', '--tls', '--dir', dir], {});
  expect(init.code, init.stderr).toBe(0);
  tls = createLocalTls(dir);
  ({ auth } = await ensureNatsAuth(join(dir, 'nats-auth'), { tls: { certFile: tls.serverCert, keyFile: tls.serverKey, caFile: tls.ca } }));
  database = await createTestDatabase();
  db = createDb(database.url);
  await migrateToLatest(db);
  server = await startNatsServer({ storeDir: join(dir, 'js'), configFile: auth.serverConfig });
  backend = await connect({ servers: server.url, authenticator: credsAuthenticator(readFileSync(auth.backendCreds)), tls: natsTlsOptions({ caFile: tls.ca }) });
  jsm = await jetstreamManager(backend);
  await ensureTopology(jsm, { maxBytes: 64 * 1024 * 1024, maxAgeS: 3600, replicas: 1, ackWaitMs: 30_000 });
  const config = loadConfig({}, {
    DATABASE_URL: database.url, NATS_URL: server.url, NATS_AUTH_DIR: auth.dir, TLS_CERT_FILE: tls.serverCert, TLS_KEY_FILE: tls.serverKey, HTTP_PORT: '0',
  });
  const deps = { nc: backend, config, log: createLogger('security-tls-test', 'silent'), db: () => db };
  app = await buildApp(deps, { plugins: ['enroll'] });
  await app.listen({ host: '127.0.0.1', port: 0 });
}, 120_000);

afterAll(async () => {
  await agent?.kill('SIGTERM');
  await app?.close();
  await backend?.close();
  await db?.destroy();
  await server?.stop();
  await database?.drop();
  rmSync(dir, { recursive: true, force: true });
});

function httpsGet(url: string, ca?: Buffer): Promise<number> {
  return new Promise((res, rej) => get(url, { ca }, (r) => { r.resume(); res(r.statusCode ?? 0); }).on('error', rej));
}

describe('TLS', () => {
  it('soc init --tls made a CA, certificates and secret files readable by their owner only', () => {
    for (const f of [tls.serverKey, tls.clientKey, join(auth.dir, 'keys.json'), auth.backendCreds, auth.accountsFile, ...Object.values(auth.serviceCreds)]) expect(statSync(f).mode & 0o077, f).toBe(0);
    expect(readFileSync(auth.includeFile, 'utf8')).toMatch(/tls \{[\s\S]*cert_file/);
  });

  it('serves the API over HTTPS with the certificate from TLS_CERT_FILE', async () => {
    const port = (app.server.address() as { port: number }).port;
    expect(await httpsGet(`https://localhost:${port}/healthz`, readFileSync(tls.ca))).toBe(200);
    await expect(httpsGet(`https://localhost:${port}/healthz`)).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
  });

  it('refuses a NATS client that does not trust the CA', async () => {
    await expect(connect({ servers: server.url, authenticator: credsAuthenticator(readFileSync(auth.backendCreds)), timeout: 5000, reconnect: false }))
      .rejects.toThrow();
  });

  it('a soc-agent enrolls over HTTPS and ships heartbeats over TLS with its own credential', async () => {
    const port = (app.server.address() as { port: number }).port;
    const agentDir = tempDir('minisoc-sec-tls-agent-');
    const { token } = await createEnrollmentToken(db, { ttlS: 600, createdBy: 'test' });
    const env = { SOC_AGENT_ID: 'tls-1', SOC_AGENT_DATA_DIR: agentDir, SOC_AGENT_NATS_URLS: server.url, SOC_AGENT_NATS_CA_FILE: tls.ca, SOC_AGENT_HEARTBEAT_INTERVAL_S: '1', SOC_AGENT_LOG_LEVEL: 'warn' };
    const enrolled = runNode('agent/main.js', ['enroll', '--server', `https://localhost:${port}`, '--token', token, '--ca-file', tls.ca], env);
    expect(await enrolled.exited, enrolled.output()).toBe(0);
    expect(statSync(join(agentDir, 'agent.creds')).mode & 0o777).toBe(0o600);
    agent = runNode('agent/main.js', ['run'], env);
    await waitFor('a heartbeat from tls-1', () => jsm.streams.getMessage('HEARTBEATS', { last_by_subj: 'hb.tls-1' }).catch(() => undefined), 60_000);
    await agent.kill('SIGTERM');
    agent = undefined;
    rmSync(agentDir, { recursive: true, force: true });
  }, 120_000);

  it('with verify on (mTLS), a client must present a certificate signed by the CA', async () => {
    const mtlsDir = join(dir, 'mtls');
    const { auth: mauth } = await ensureNatsAuth(join(mtlsDir, 'nats-auth'), { tls: { certFile: tls.serverCert, keyFile: tls.serverKey, caFile: tls.ca, verify: true } });
    const mtls = await startNatsServer({ storeDir: join(mtlsDir, 'js'), configFile: mauth.serverConfig });
    try {
      const creds = credsAuthenticator(readFileSync(mauth.backendCreds));
      await expect(connect({ servers: mtls.url, authenticator: creds, tls: natsTlsOptions({ caFile: tls.ca }), timeout: 5000, reconnect: false })).rejects.toThrow();
      const nc = await connect({ servers: mtls.url, authenticator: creds, tls: natsTlsOptions({ caFile: tls.ca, certFile: tls.clientCert, keyFile: tls.clientKey }) });
      await nc.flush();
      await nc.close();
    } finally {
      await mtls.stop();
    }
  });
});
