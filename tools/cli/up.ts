// `soc up`: nats-server, Postgres and every service in one process, on one machine.
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig, type Config } from '../../services/core/config.js';
import { createDb, migrateToLatest, type Db } from '../../services/core/db/index.js';
import { ConfigError } from '../../services/core/errors.js';
import { createLogger } from '../../services/core/log.js';
import { connectNats } from '../../services/core/nats.js';
import { topologyLimits, type RunningService, type ServiceContext, type ServiceStarter } from '../../services/core/service.js';
import { ensureTopology } from '../../services/core/topology.js';
import { startDetect } from '../../services/detect/service.js';
import { startEnrich } from '../../services/enrich/index.js';
import { startHttp } from '../../services/http/index.js';
import { startNormalize } from '../../services/normalize/index.js';
import { startStore } from '../../services/store/index.js';
import { startHeartbeat } from '../../services/heartbeat/index.js';
import { startCommand } from '../../services/command/index.js';
import { startNatsServer, type LocalNats } from '../local/nats-server.js';
import { authDir, ensureNatsAuth } from '../../services/core/nats-accounts.js';
import { localTls } from '../local/tls.js';
import { natsTlsOptions } from '../../services/core/tls.js';
import { startEmbeddedPostgres, type LocalPostgres } from '../local/postgres.js';
import { removeRuntime, writeRuntime } from '../local/runtime.js';
import { ensureFirstAdmin } from '../../services/auth/users.js';
import { demoSourceTokens, startDemo, writeDemoIntelFeeds } from '../simulator/demo.js';

/** Services in start order; they stop in reverse, so ingest stops taking input first... */
const SERVICES: Record<string, ServiceStarter> = {
  store: startStore,
  heartbeat: startHeartbeat,
  command: startCommand,
  detect: startDetect,
  enrich: startEnrich,
  normalize: startNormalize,
  http: startHttp,
};
/** Earlier names of services, still accepted in SOC_SERVICES. */
const ALIASES: Record<string, string> = { ingest: 'http' };

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => res(true)));
  });
}

function selected(config: Config): string[] {
  if (!config.SOC_SERVICES) return Object.keys(SERVICES);
  const names = config.SOC_SERVICES.split(',').map((s) => s.trim()).filter(Boolean).map((n) => ALIASES[n] ?? n);
  for (const n of names) if (!SERVICES[n]) throw new ConfigError(`SOC_SERVICES: unknown service ${JSON.stringify(n)} (known: ${Object.keys(SERVICES).join(', ')})`);
  return Object.keys(SERVICES).filter((n) => names.includes(n));
}

/** `demo`: also run the simulator against this MiniSOC (soc up --demo). */
export async function up(opts: { demo?: boolean } = {}): Promise<void> {
  const config = loadConfig();
  const log = createLogger('soc');
  const names = selected(config);
  const dataDir = resolve(config.DATA_DIR);
  mkdirSync(dataDir, { recursive: true, mode: 0o711 });

  let nats: LocalNats | undefined;
  let pg: LocalPostgres | undefined;
  let nc: NatsConnection | undefined;
  let db: Db | undefined;
  let demo: { stop(): Promise<void> } | undefined;
  const running: [string, RunningService][] = [];
  /** Stops what was started, in reverse; each step bounded so a dead NATS or database cannot hold it up. */
  const stopAll = async () => {
    await bounded(demo?.stop(), 'demo');
    for (const [name, svc] of running.reverse()) await bounded(svc.stop(), name);
    await bounded(nc?.drain(), 'nats connection');
    await bounded(db?.destroy(), 'database pool');
    await pg?.stop().catch((err: unknown) => log.error({ err }, 'embedded Postgres did not stop'));
    await nats?.stop().catch((err: unknown) => log.error({ err }, 'nats-server did not stop'));
    removeRuntime(dataDir);
  };
  const bounded = async (work: Promise<unknown> | undefined, what: string) => {
    if (!work) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((res) => { timer = setTimeout(() => { log.warn({ what }, 'did not stop within 15 s, going on'); res(); }, 15_000); });
    await Promise.race([work.catch((err: unknown) => log.error({ err, what }, 'stop failed')), late]);
    clearTimeout(timer);
  };

  try {
    let natsUrl = config.NATS_URL;
    const secured: Partial<Config> = {};
    if (!natsUrl) {
      // Secure by default: our own nats-server runs with JWT auth (keys made on first start) and, after
      // `soc init --tls`, with TLS and HTTPS from the local CA.
      const tls = localTls(dataDir);
      const { auth, created } = await ensureNatsAuth(authDir(config), { tls: tls ? { certFile: tls.serverCert, keyFile: tls.serverKey, caFile: tls.ca } : undefined });
      if (created) log.info({ dir: auth.dir }, 'NATS operator, accounts and backend credentials created');
      secured.NATS_CREDS = config.NATS_CREDS ?? auth.backendCreds;
      if (tls) Object.assign(secured, { NATS_TLS_CA: config.NATS_TLS_CA ?? tls.ca, TLS_CERT_FILE: config.TLS_CERT_FILE ?? tls.serverCert, TLS_KEY_FILE: config.TLS_KEY_FILE ?? tls.serverKey });
      const port = (await portFree(4222)) ? 4222 : -1;
      nats = await startNatsServer({ storeDir: join(dataDir, 'nats'), port, logFile: join(dataDir, 'nats-server.log'), configFile: auth.serverConfig });
      natsUrl = tls ? nats.url.replace(/^nats:/, 'tls:') : nats.url;
      log.info({ url: natsUrl, storeDir: join(dataDir, 'nats') }, 'nats-server started');
    }
    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      const started = Date.now();
      pg = await startEmbeddedPostgres({ dir: join(dataDir, 'postgres') });
      databaseUrl = pg.url;
      log.info({ port: pg.port, ms: Date.now() - started }, 'embedded Postgres started');
    }
    const cfg: Config = { ...config, ...secured, NATS_URL: natsUrl, DATABASE_URL: databaseUrl };
    // The demo's C2 beacons then carry threat-intel indicators, as with a real feed.
    if (opts.demo && !cfg.INTEL_FEEDS_FILE) cfg.INTEL_FEEDS_FILE = writeDemoIntelFeeds(dataDir);
    nc = await connectNats({
      url: natsUrl, name: 'soc', credsFile: cfg.NATS_CREDS, log,
      tls: natsTlsOptions({ caFile: cfg.NATS_TLS_CA, certFile: cfg.NATS_TLS_CERT, keyFile: cfg.NATS_TLS_KEY }),
    });
    await ensureTopology(await jetstreamManager(nc), topologyLimits(cfg), log);
    db = createDb(databaseUrl);
    await migrateToLatest(db, log);
    // Secure by default: a fresh installation gets one admin with a random password, shown once.
    const adminPassword = await ensureFirstAdmin(db, dataDir);
    if (adminPassword) process.stdout.write(`dashboard login: admin / ${adminPassword} (also in ${join(dataDir, 'admin-password')})\n`);

    const ctx: ServiceContext = { config: cfg, nc, log, db: () => db! };
    let httpUrl = '';
    for (const name of names) {
      const svc = await SERVICES[name]!({ ...ctx, log: log.child({ service: name }) });
      if ('url' in svc) httpUrl = String(svc.url);
      running.push([name, svc]);
    }
    writeRuntime(dataDir, { pid: process.pid, natsUrl, databaseUrl, httpUrl, natsCreds: cfg.NATS_CREDS, natsTlsCa: cfg.NATS_TLS_CA });
    log.info({ services: names, http: httpUrl, nats: natsUrl }, 'MiniSOC is up');
    if (httpUrl) process.stdout.write(`MiniSOC is up: POST logs to ${httpUrl}/api/ingest, metrics at ${httpUrl}/metrics\n`);
    if (opts.demo && !httpUrl) throw new ConfigError('--demo needs the http service (SOC_SERVICES leaves it out)');
    // The demo posts like any log shipper: with a token per source, made (again) at every start.
    demo = opts.demo ? startDemo({ httpUrl, nc, log: log.child({ service: 'demo' }), tokens: await demoSourceTokens(db) }) : undefined;
    if (demo) process.stdout.write(`Demo: simulated traffic (200 events/s) with an attack every 4 s. Dashboard: ${httpUrl}/\n`);

  } catch (err) {
    // Nothing started may outlive a failed start: a nats-server or Postgres left behind holds ports and files.
    log.error({ err: (err as Error).message }, 'start failed, stopping what was started');
    await stopAll();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new ConfigError(`${(err as Error).message.replace(/^listen /, '')}: another program (or another soc up) has the port; stop it or set HTTP_PORT`, { cause: err });
    }
    throw err;
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await stopAll();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}
