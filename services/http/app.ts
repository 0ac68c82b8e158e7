// The HTTP app: one Fastify instance that registers every named plugin of the HTTP floor, with /metrics and /healthz.
import { timingSafeEqual } from 'node:crypto';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { NatsConnection } from '@nats-io/transport-node';
import { apiPlugin } from '../api/index.js';
import { authPlugin, SESSION_COOKIE } from '../auth/plugin.js';
import { userFromToken } from '../auth/users.js';
import { commandRoutes } from '../command/routes.js';
import type { Config } from '../core/config.js';
import type { Db } from '../core/db/index.js';
import type { Logger } from '../core/log.js';
import { registry } from '../core/metrics.js';
import { hashToken } from '../core/tokens.js';
import { allMetrics } from '../core/supervision.js';
import { httpsOptions } from '../core/tls.js';
import { enrollPlugin } from '../enroll/routes.js';
import { gatewayPlugin, type GatewayDeps } from '../gateway/index.js';
import { ingestPlugin, type IngestDeps } from '../ingest/routes.js';
import { webPlugin } from '../web/index.js';
import { Health } from '../core/health.js';

export interface HttpDeps {
  nc: NatsConnection;
  config: Config;
  log: Logger;
  /** The database, opened on first use (ingest alone runs without one). */
  db: () => Db;
}

/** The plugins of the HTTP floor; analysts' plugins depend on `auth`, which comes with any of them. */
export const HTTP_PLUGINS = ['ingest', 'api', 'commands', 'enroll', 'gateway', 'web'] as const;
export type HttpPluginName = (typeof HTTP_PLUGINS)[number];

export interface AppOptions {
  /** Which plugins to serve (default: all). */
  plugins?: readonly HttpPluginName[];
  sourceForToken?: IngestDeps['sourceForToken'];
  gateway?: Pick<GatewayDeps, 'authenticate' | 'limits' | 'lagIntervalMs' | 'sessionCheckMs'>;
  /** Where the built dashboard is (default: dist/web). */
  webDir?: string;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 429: 'Too Many Requests',
};

/**
 * Node's own server options: a request (headers and body) trickled in slower than HTTP_REQUEST_TIMEOUT_MS
 * (slowloris) is answered 408 and its connection closed. Node takes them only at construction and checks
 * deadlines every connectionsCheckingInterval (30 s unless set), hence both here.
 */
function serverOptions(config: HttpDeps['config']) {
  const timeouts = { requestTimeout: config.HTTP_REQUEST_TIMEOUT_MS, connectionsCheckingInterval: Math.min(1000, config.HTTP_REQUEST_TIMEOUT_MS) };
  const tls = httpsOptions(config);
  return tls.https ? { https: { ...tls.https, ...timeouts } } : { http: timeouts };
}

export async function buildApp(deps: HttpDeps, o: AppOptions = {}): Promise<FastifyInstance> {
  const on = new Set<HttpPluginName>(o.plugins ?? HTTP_PLUGINS);
  const app = Fastify({
    // Requests are counted in /metrics; the log keeps warnings and errors unless debugging.
    loggerInstance: deps.log.child({ component: 'http' }, { level: deps.log.isLevelEnabled('debug') ? deps.log.level : 'warn' }) as FastifyBaseLogger,
    bodyLimit: deps.config.INGEST_MAX_BODY_BYTES,
    requestTimeout: deps.config.HTTP_REQUEST_TIMEOUT_MS,
    ...serverOptions(deps.config),
  });
  app.setErrorHandler((err: { statusCode?: number; message: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (status >= 500) req.log.error({ err }, 'request failed');
    void reply.code(status).send({
      statusCode: status, error: STATUS_NAMES[status] ?? (status >= 500 ? 'Internal Server Error' : 'Error'),
      message: status >= 500 ? 'internal error' : err.message,
    });
  });
  // Security headers on every answer. The dashboard is built to run under this policy: its scripts, styles and worker
  // are files of this origin; Svelte sets some style attributes, hence 'unsafe-inline' for styles only.
  const tls = Boolean(deps.config.TLS_CERT_FILE);
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"], scriptSrc: ["'self'"], styleSrc: ["'self'", "'unsafe-inline'"], imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"], workerSrc: ["'self'"], fontSrc: ["'self'"], objectSrc: ["'none'"], baseUri: ["'self'"],
        formAction: ["'self'"], frameAncestors: ["'none'"], ...(tls ? { upgradeInsecureRequests: [] } : {}),
      },
    },
    // HSTS only means something over HTTPS; sent over plain HTTP it would only confuse a later TLS set-up.
    strictTransportSecurity: tls ? { maxAge: 180 * 86400, includeSubDomains: false } : false,
    crossOriginEmbedderPolicy: false,
  });
  // Browsers may call the API only from the listed origins; no origin list, no CORS headers at all.
  const origins = deps.config.CORS_ORIGINS?.split(',').map((s) => s.trim()).filter(Boolean) ?? [];
  if (origins.length) await app.register(cors, { origin: origins, credentials: true });
  // First, so that the OpenAPI document sees the routes of every plugin registered after it.
  await app.register(swagger, {
    openapi: {
      info: { title: 'MiniSOC API', version: '1', description: 'Incidents, triage, event search, exports and operations. Errors are {statusCode, error, message}; lists are {items, nextCursor}.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, cookie: { type: 'apiKey', in: 'cookie', name: 'soc_session' } } },
      security: [{ bearer: [] }, { cookie: [] }],
    },
  });

  if (on.has('ingest')) await app.register(ingestPlugin({ ...deps, sourceForToken: o.sourceForToken }));
  // The analysts' side in a context of its own: the auth hook resolves users there, never for ingest's source tokens.
  const analyst = (['api', 'commands', 'enroll', 'gateway'] as const).filter((n) => on.has(n));
  if (analyst.length) {
    await app.register(async (scope) => {
      await scope.register(authPlugin(deps));
      if (on.has('api')) await scope.register(apiPlugin(deps));
      if (on.has('commands')) await scope.register(commandRoutes(deps));
      if (on.has('enroll')) await scope.register(enrollPlugin(deps));
      if (on.has('gateway')) await scope.register(gatewayPlugin({ ...deps, ...o.gateway }));
    });
  }
  // Last: its wildcard answers the dashboard's own paths.
  if (on.has('web')) await app.register(webPlugin({ log: deps.log, dir: o.webDir }));

  // Under soc up, every service's metrics (gathered by the supervisor); alone, this process's.
  // Not public: METRICS_TOKEN as a Bearer token (for Prometheus), or an admin's session.
  const metricsToken = deps.config.METRICS_TOKEN ? hashToken(deps.config.METRICS_TOKEN) : undefined;
  app.get('/metrics', {
    schema: { hide: true },
    preHandler: async (req, reply) => {
      const header = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
      if (metricsToken && header && timingSafeEqual(Buffer.from(hashToken(header)), Buffer.from(metricsToken))) return;
      const token = header ?? cookieValue(req.headers.cookie, SESSION_COOKIE);
      const user = token ? await (async () => userFromToken(deps.db(), token))().catch(() => null) : null;
      if (user?.role === 'admin') return;
      return reply.code(user ? 403 : 401).send({ statusCode: user ? 403 : 401, error: user ? 'Forbidden' : 'Unauthorized', message: 'metrics need METRICS_TOKEN as a Bearer token or an admin session' });
    },
  }, async (_req, reply) => reply.type(registry.contentType).send((await allMetrics()) ?? await registry.metrics()));
  const health = new Health(deps.nc, deps.db, Boolean(deps.config.DATABASE_URL));
  health.start();
  app.addHook('onClose', async () => health.stop());
  // 503 names every failing part: NATS, Postgres, this process's event loop, a service that is not running.
  app.get('/healthz', { schema: { hide: true } }, async (_req, reply) => {
    const report = health.report();
    return reply.code(report.ok ? 200 : 503).send(report);
  });
  // For orchestrators: alive (the process answers), and ready (it can take input: NATS is there).
  app.get('/livez', { schema: { hide: true } }, async () => ({ ok: true }));
  app.get('/readyz', { schema: { hide: true } }, async (_req, reply) => {
    const nats = health.report().nats;
    return reply.code(nats === 'connected' ? 200 : 503).send({ ok: nats === 'connected', nats });
  });
  return app;
}

/** One cookie's value from a Cookie header (the metrics route is outside the auth plugin's context). */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}
