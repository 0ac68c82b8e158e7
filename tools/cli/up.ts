// `soc up`: one MiniSOC on one machine. A supervisor that starts nats-server and Postgres (unless NATS_URL /
// DATABASE_URL say where they are), then every service in a process of its own, and keeps them running.
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { ensureFirstAdmin } from '../../services/auth/users.js';
import { loadConfig, type Config } from '../../services/core/config.js';
import { createDb, migrateToLatest, type Db } from '../../services/core/db/index.js';
import { ConfigError } from '../../services/core/errors.js';
import { LockedError, alive, processCommandLine, takeLock, type Lock, type LockHolder } from '../../services/core/lock.js';
import { createLogger, lineFormatter, type Logger } from '../../services/core/log.js';
import { authDir, ensureNatsAuth } from '../../services/core/nats-accounts.js';
import { connectNats } from '../../services/core/nats.js';
import { topologyLimits } from '../../services/core/service.js';
import { natsTlsOptions } from '../../services/core/tls.js';
import { ensureTopology } from '../../services/core/topology.js';
import { startNatsServer, type LocalNats } from '../local/nats-server.js';
import { keptPort } from '../local/ports.js';
import { startEmbeddedPostgres, stopLeftoverPostgres, type LocalPostgres } from '../local/postgres.js';
import { removeRuntime, writeRuntime } from '../local/runtime.js';
import { ServiceConfigError, Supervisor, type ServiceSpec } from '../local/supervisor.js';
import { tiesAvailable } from '../local/tied.js';
import { localTls } from '../local/tls.js';
import { startDemo, writeDemoIntelFeeds } from '../simulator/demo.js';
import { simulatorSourceTokens } from '../simulator/tokens.js';

/** Services in start order; they stop in reverse, so the HTTP app stops taking input first. */
export const SERVICES = ['store', 'heartbeat', 'command', 'detect', 'enrich', 'normalize', 'http'] as const;
/** Earlier names of services, still accepted in SOC_SERVICES. */
const ALIASES: Record<string, string> = { ingest: 'http' };

function selected(config: Config): string[] {
  if (!config.SOC_SERVICES) return [...SERVICES];
  const names = config.SOC_SERVICES.split(',').map((s) => s.trim()).filter(Boolean).map((n) => ALIASES[n] ?? n);
  for (const n of names) if (!(SERVICES as readonly string[]).includes(n)) throw new ConfigError(`SOC_SERVICES: unknown service ${JSON.stringify(n)} (known: ${SERVICES.join(', ')})`);
  return SERVICES.filter((n) => names.includes(n));
}

/** dist/services/<name>/main.js beside this build of the CLI. */
function serviceScript(name: string): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'services', name, 'main.js');
}

function describeHolder(dataDir: string): (h: LockHolder) => string {
  return (h) => `MiniSOC is already running on ${dataDir} (soc up, pid ${h.pid}${h.httpUrl ? `, ${String(h.httpUrl)}` : ''}`
    + `${h.startedAt ? `, since ${String(h.startedAt)}` : ''}): use it, stop it first (kill ${h.pid}), or give this one another DATA_DIR`;
}

/** What a soc up that died without stopping left running: its nats-server and its Postgres. */
async function cleanLeftovers(stale: LockHolder, dataDir: string, log: Logger): Promise<void> {
  const natsPid = Number(stale.natsPid);
  if (natsPid && alive(natsPid) && processCommandLine(natsPid).includes(join(dataDir, 'nats'))) {
    log.warn({ pid: natsPid }, 'stopping the nats-server a stopped soc up left running');
    process.kill(natsPid, 'SIGTERM');
    for (let i = 0; i < 300 && alive(natsPid); i++) await new Promise((r) => setTimeout(r, 100));
    if (alive(natsPid)) process.kill(natsPid, 'SIGKILL');
  }
  const pgPid = await stopLeftoverPostgres(join(dataDir, 'postgres', 'data'));
  if (pgPid) log.warn({ pid: pgPid }, 'stopped the Postgres a stopped soc up left running');
}

/** `demo`: also run the simulator against this MiniSOC (soc up --demo). */
export async function up(opts: { demo?: boolean } = {}): Promise<void> {
  const config = loadConfig();
  const log = createLogger('soc');
  const names = selected(config);
  const dataDir = resolve(config.DATA_DIR);
  mkdirSync(dataDir, { recursive: true, mode: 0o711 });
  for (const name of names) {
    if (!existsSync(serviceScript(name))) throw new ConfigError(`${serviceScript(name)} is missing: run npm run build`);
  }

  // One soc up per data directory: a second one refuses before it touches anything.
  let lock: Lock;
  try {
    lock = takeLock(join(dataDir, 'soc.lock'), { dataDir, startedAt: new Date().toISOString() }, { describe: describeHolder(dataDir) });
  } catch (err) {
    if (err instanceof LockedError) throw new ConfigError(err.message, { cause: err });
    throw err;
  }
  if (lock.stale) await cleanLeftovers(lock.stale, dataDir, log);
  if (!tiesAvailable()) log.warn('setpriv is not available: a killed soc up leaves nats-server and Postgres running until its next start');

  let nats: LocalNats | undefined;
  let pg: LocalPostgres | undefined;
  let nc: NatsConnection | undefined;
  let db: Db | undefined;
  let supervisor: Supervisor | undefined;
  let demo: { stop(): Promise<void> } | undefined;
  /** Stops what was started, in reverse; each step bounded so a dead NATS or database cannot hold it up. */
  const stopAll = async () => {
    await bounded(demo?.stop(), 'demo');
    await bounded(supervisor?.stop(), 'services');
    await bounded(nc?.drain(), 'nats connection');
    await bounded(db?.destroy(), 'database pool');
    await pg?.stop().catch((err: unknown) => log.error({ err }, 'embedded Postgres did not stop'));
    await nats?.stop().catch((err: unknown) => log.error({ err }, 'nats-server did not stop'));
    removeRuntime(dataDir);
    lock.release();
  };
  // From the start: a stop asked for while starting stops what has started so far.
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
  const bounded = async (work: Promise<unknown> | undefined, what: string) => {
    if (!work) return;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((res) => { timer = setTimeout(() => { log.warn({ what }, 'did not stop within 30 s, going on'); res(); }, 30_000); });
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
      const port = await keptPort(dataDir, 'nats', 4222);
      nats = await startNatsServer({ storeDir: join(dataDir, 'nats'), port, logFile: join(dataDir, 'nats-server.log'), configFile: auth.serverConfig });
      natsUrl = tls ? nats.url.replace(/^nats:/, 'tls:') : nats.url;
      lock.update({ natsPid: nats.process.pid, natsUrl });
      log.info({ url: natsUrl, storeDir: join(dataDir, 'nats') }, 'nats-server started');
    }
    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      const started = Date.now();
      pg = await startEmbeddedPostgres({ dir: join(dataDir, 'postgres'), port: await keptPort(dataDir, 'postgres') });
      databaseUrl = pg.url;
      lock.update({ postgresPid: pg.pid });
      log.info({ port: pg.port, ms: Date.now() - started }, 'embedded Postgres started');
    }
    const cfg: Config = { ...config, ...secured, NATS_URL: natsUrl, DATABASE_URL: databaseUrl, DATA_DIR: dataDir };
    // The demo's C2 beacons then carry threat-intel indicators, as with a real feed.
    if (opts.demo && !cfg.INTEL_FEEDS_FILE) cfg.INTEL_FEEDS_FILE = writeDemoIntelFeeds(dataDir);
    nc = await connectNats({
      url: natsUrl, name: 'soc', credsFile: cfg.NATS_CREDS, log,
      tls: natsTlsOptions({ caFile: cfg.NATS_TLS_CA, certFile: cfg.NATS_TLS_CERT, keyFile: cfg.NATS_TLS_KEY }),
    });
    await ensureTopology(await jetstreamManager(nc), topologyLimits(cfg, nc.info?.version), log);
    db = createDb(databaseUrl, { max: 2 });
    await migrateToLatest(db, log);
    // Secure by default: a fresh installation gets one admin with a random password, shown once.
    const adminPassword = await ensureFirstAdmin(db, dataDir);
    if (adminPassword) process.stdout.write(`dashboard login: admin / ${adminPassword} (also in ${join(dataDir, 'admin-password')})\n`);

    const env = serviceEnv(cfg);
    const specs: ServiceSpec[] = names.map((name) => ({ name, script: serviceScript(name), env }));
    const pretty = lineFormatter();
    supervisor = new Supervisor(specs, {
      log, stallMs: cfg.SERVICE_STALL_MS, startTimeoutMs: 120_000, maxOldSpaceMb: cfg.SERVICE_MAX_OLD_SPACE_MB, semiSpaceMb: cfg.SERVICE_SEMI_SPACE_MB,
      stateFile: join(dataDir, 'services.json'), onLine: (_name, line) => process.stdout.write(`${pretty ? pretty(line) : line}\n`),
    });
    await supervisor.start();
    const httpUrl = supervisor.url('http') ?? '';
    writeRuntime(dataDir, { pid: process.pid, natsUrl, databaseUrl, httpUrl, natsCreds: cfg.NATS_CREDS, natsTlsCa: cfg.NATS_TLS_CA });
    lock.update({ httpUrl });
    log.info({ services: names, http: httpUrl, nats: natsUrl }, 'MiniSOC is up');
    if (httpUrl) process.stdout.write(`MiniSOC is up: POST logs to ${httpUrl}/api/ingest, metrics at ${httpUrl}/metrics\n`);
    if (opts.demo && !httpUrl) throw new ConfigError('--demo needs the http service (SOC_SERVICES leaves it out)');
    // The demo posts like any log shipper: with a token per source, made (again) at every start.
    demo = opts.demo ? startDemo({ httpUrl, nc, log: log.child({ service: 'demo' }), tokens: await simulatorSourceTokens(db, dataDir) }) : undefined;
    if (demo) process.stdout.write(`Demo: simulated traffic (200 events/s) with an attack every 4 s. Dashboard: ${httpUrl}/\n`);
  } catch (err) {
    if (stopping) return;
    // Nothing started may outlive a failed start: a nats-server or Postgres left behind holds ports and files.
    log.error({ err: (err as Error).message }, 'start failed, stopping what was started');
    await stopAll();
    if (err instanceof ServiceConfigError) throw new ConfigError(lastLine(err.message), { cause: err });
    throw err;
  }

}

/** The environment every service process gets: the caller's, with the addresses and secrets soc up settled. */
function serviceEnv(cfg: Config): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, METRICS_PORT: '0', DATA_DIR: cfg.DATA_DIR };
  const settled = ['NATS_URL', 'NATS_CREDS', 'NATS_TLS_CA', 'TLS_CERT_FILE', 'TLS_KEY_FILE', 'DATABASE_URL', 'INTEL_FEEDS_FILE'] as const;
  for (const k of settled) if (cfg[k] !== undefined) env[k] = String(cfg[k]);
  return env;
}

/** The last meaningful line a service wrote before refusing to start (its own one-line reason). */
function lastLine(text: string): string {
  const [name, ...rest] = text.split(': ');
  const lines = rest.join(': ').split('\n').map((l) => l.trim()).filter(Boolean);
  const reason = lines.reverse().find((l) => !l.startsWith('{')) ?? lines[0] ?? '';
  return reason.startsWith(`${name}: `) ? reason : `${name}: ${reason}`;
}
