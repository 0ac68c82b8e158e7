// What every service gets (config, NATS, database, logger) and how it runs alone or beside the others.
import { createServer, type Server, type ServerResponse } from 'node:http';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { loadConfig, type Config } from './config.js';
import { createDb, migrateToLatest, type Db } from './db/index.js';
import { waitForSchema } from './db/roles.js';
import { ConfigError } from './errors.js';
import { Health } from './health.js';
import { createLogger, type Logger } from './log.js';
import { registry } from './metrics.js';
import { connectNats, NATS_FULL_SUPPORT, versionAtLeast } from './nats.js';
import { StageRunner, type Stage } from './runner.js';
import { joinSupervisor, supervised } from './supervision.js';
import { ensureTopology, type TopologyLimits } from './topology.js';
import { natsTlsOptions } from './tls.js';

export interface ServiceContext {
  config: Config;
  nc: NatsConnection;
  log: Logger;
  /** The database, opened on first use; a ConfigError when DATABASE_URL is not set. */
  db(): Db;
}

export interface RunningService {
  stop(): Promise<void>;
}

export type ServiceStarter = (ctx: ServiceContext) => Promise<RunningService>;

/** The stream limits of the configuration; `natsVersion` (the server's INFO) decides what the server can enforce. */
export function topologyLimits(config: Config, natsVersion?: string): TopologyLimits {
  return {
    maxBytes: config.STREAM_MAX_BYTES, maxAgeS: config.STREAM_MAX_AGE_S, replicas: config.STREAM_REPLICAS, ackWaitMs: config.STAGE_ACK_WAIT_MS,
    detectShards: config.DETECT_SHARDS,
    ...(natsVersion && versionAtLeast(natsVersion, NATS_FULL_SUPPORT) ? { agentBacklogBatches: config.AGENT_MAX_BACKLOG_BATCHES } : {}),
  };
}

/** Starts one runner per stage; stop() stops them all and waits for their batches in flight. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- stages of different input types run side by side
export async function startStages(ctx: ServiceContext, stages: Stage<any>[]): Promise<RunningService> {
  const runners = stages.map((s) => new StageRunner(ctx.nc, s, {
    maxInFlight: ctx.config.STAGE_MAX_IN_FLIGHT, maxBackoffMs: ctx.config.STAGE_MAX_BACKOFF_MS, ackWaitMs: ctx.config.STAGE_ACK_WAIT_MS,
    maxDeliveries: ctx.config.STAGE_MAX_DELIVERIES,
    log: ctx.log.child({ stage: s.name, stream: s.stream }),
  }));
  // Every consumer is checked before any stage takes a message: a message that stalls the process must find
  // it already reported ready, so that the supervisor's stall rule (not its much longer start timeout) applies.
  for (const r of runners) await r.prepare();
  for (const r of runners) r.consume();
  return { stop: async () => { await Promise.all(runners.map((r) => r.stop())); } };
}

export function lazyDb(config: Config, name?: string): { get: () => Db; close: () => Promise<void> } {
  let db: Db | undefined;
  return {
    get: () => {
      if (!config.DATABASE_URL) throw new ConfigError('DATABASE_URL is not set: this service needs PostgreSQL');
      db ??= createDb(config.DATABASE_URL, { name: name && `minisoc-${name}` });
      return db;
    },
    close: async () => { await db?.destroy(); },
  };
}

/**
 * Serves, on METRICS_PORT, for a service running without the HTTP API: /metrics; /livez (the process answers:
 * for liveness probes, which restart it); /readyz and /healthz (NATS, Postgres when used, the event loop: 503
 * naming what fails, for readiness probes, which only hold traffic back).
 */
export function serveMetrics(port: number, host: string, health?: Health): Server {
  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    if (path === '/metrics') {
      registry.metrics().then((body) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(body);
      }, () => { res.writeHead(500); res.end(); });
    } else if (path === '/livez') {
      json(res, 200, { ok: true });
    } else if (path === '/readyz' || path === '/healthz') {
      const report = health?.report() ?? { ok: true };
      json(res, report.ok ? 200 : 503, report);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  server.listen(port, host);
  return server;
}

/**
 * Runs one service as its own process (`node dist/services/<name>/main.js`): config, NATS, streams,
 * migrations when it uses the database, then the service until SIGTERM or SIGINT drains it. Under
 * `soc up` (forked with an IPC channel) it also reports to the supervisor and stops when the supervisor goes.
 */
export async function runStandalone(name: string, start: ServiceStarter, opts: { needsDb?: boolean } = {}): Promise<void> {
  const log = createLogger(name);
  let config: Config;
  try {
    config = loadConfig();
    if (!config.NATS_URL) throw new ConfigError('NATS_URL is not set');
    if (opts.needsDb && !config.DATABASE_URL) throw new ConfigError('DATABASE_URL is not set');
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n`);
    process.exit(2);
  }
  // Series of different services stay apart when the supervisor gathers every service's metrics.
  if (supervised()) registry.setDefaultLabels({ service: name });
  let service: RunningService | undefined;
  // Set as the start goes on; a signal may come before any of it exists.
  const held: { nc?: NatsConnection; metrics?: Server } = {};
  const db = lazyDb(config, name);
  let stopping = false;
  const shutdown = async (why: string, boundMs = 20_000) => {
    if (stopping) return;
    stopping = true;
    log.info({ why }, 'draining');
    // Bounded: a service that cannot drain (NATS or the database away) must still end.
    const deadline = setTimeout(() => { log.warn({ boundMs }, 'did not drain in time, exiting'); process.exit(1); }, boundMs);
    deadline.unref();
    await service?.stop().catch((err: unknown) => log.error({ err }, 'stop failed'));
    await held.nc?.drain().catch(() => undefined);
    await db.close().catch(() => undefined);
    held.metrics?.close();
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  // Without its supervisor the embedded NATS and Postgres are gone too: a short try, then out.
  const supervisor = joinSupervisor(() => void shutdown('the supervisor is gone', 5000));
  const nc = await connectNats({
    url: config.NATS_URL!, name, credsFile: config.NATS_CREDS, log, waitForServer: true,
    tls: natsTlsOptions({ caFile: config.NATS_TLS_CA, certFile: config.NATS_TLS_CERT, keyFile: config.NATS_TLS_KEY }),
  });
  held.nc = nc;
  await ensureTopology(await jetstreamManager(nc), topologyLimits(config, nc.info?.version), log);
  if (opts.needsDb) {
    if (config.DATABASE_MIGRATE) await migrateToLatest(db.get(), log);
    else {
      await waitForSchema(db.get(), log).catch((err: unknown) => {
        if (!(err instanceof ConfigError)) throw err;
        process.stderr.write(`${name}: ${err.message}\n`);
        process.exit(2);
      });
    }
  }
  if (config.METRICS_PORT) {
    const health = new Health(nc, db.get, Boolean(opts.needsDb && config.DATABASE_URL));
    health.start();
    held.metrics = serveMetrics(config.METRICS_PORT, config.HTTP_HOST, health);
    held.metrics.on('close', () => health.stop());
  }
  try {
    service = await start({ config, nc, log, db: db.get });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(2);
  }
  log.info('started');
  supervisor.ready('url' in service ? String((service as { url: unknown }).url) : undefined);
}
