// The analysts' API: auth, incidents and triage, event search, the timeline, network graph, exports, operations, OpenAPI at /api/docs.
import type {} from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { NatsConnection } from '@nats-io/transport-node';
import type { FastifyError, FastifyPluginAsync } from 'fastify';
import fp from 'fastify-plugin';
import pg from 'pg';
import type { Config } from '../core/config.js';
import { createDb, type Db } from '../core/db/index.js';
import { ConfigError, TransientError, ValidationError } from '../core/errors.js';
import { FilterStore } from '../detect/filter-store.js';
import type { Logger } from '../core/log.js';
import { ApiError, errorBody } from '../core/http.js';
import { opsRoutes } from './routes/ops.js';
import { searchRoutes } from './routes/search.js';
import { timelineRoutes } from './routes/timeline.js';
import { triageRoutes } from './routes/triage.js';

export interface ApiDeps {
  nc: NatsConnection;
  config: Config;
  log: Logger;
  db: () => Db;
}

/** The status a failure answers with: 4xx for what the caller can fix, 500 (message hidden) for the rest. */
function statusOf(err: FastifyError | Error): number {
  if (err instanceof ApiError) return err.statusCode;
  if (err instanceof ValidationError) return 400;
  // NATS or the KV bucket away: a later try may pass.
  if (err instanceof TransientError) return 503;
  if ((err as { code?: string }).code === QUERY_CANCELED) return 503;
  const code = (err as FastifyError).statusCode;
  if (code && code >= 400 && code < 500) return code;
  // Postgres rejecting a value the schema let through (a malformed time, say) is still the caller's input.
  const pgCode = (err as { code?: string }).code;
  if (typeof pgCode === 'string' && /^22/.test(pgCode)) return 400;
  return 500;
}

/** Postgres's code for a statement cancelled by statement_timeout. */
const QUERY_CANCELED = '57014';

function apiRoutes(deps: ApiDeps): FastifyPluginAsync {
  let pool: pg.Pool | undefined;
  // Analysts' reads get a pool of their own with a statement timeout: a slow search waits for its own connections
  // and is cancelled after ANALYST_QUERY_TIMEOUT_MS, while writes (triage, users, sessions) keep the main pool.
  let analystDb: Db | undefined;
  const reads = () => {
    if (!deps.config.DATABASE_URL) return deps.db();
    analystDb ??= createDb(deps.config.DATABASE_URL, { max: deps.config.ANALYST_DB_POOL_MAX, statementTimeoutMs: deps.config.ANALYST_QUERY_TIMEOUT_MS, name: 'minisoc-analysts' });
    return analystDb;
  };
  // Exports hold a connection for as long as the download lasts, so they get their own small pool.
  const exportPool = () => {
    if (!deps.config.DATABASE_URL) throw new ConfigError('DATABASE_URL is not set: exports need PostgreSQL');
    if (!pool) {
      pool = new pg.Pool({ connectionString: deps.config.DATABASE_URL, max: 4, idleTimeoutMillis: 30_000, application_name: 'minisoc-export' });
      // A connection dropping (idle or during a download) must not crash the process; the export reports the failure.
      pool.on('error', () => undefined);
      pool.on('connect', (client) => { client.on('error', () => undefined); });
    }
    return pool;
  };
  // The saved filters' bucket, opened (and created when missing) on first use; a failed open is tried again next time.
  let opening: Promise<FilterStore> | undefined;
  const filterStore = (): Promise<FilterStore> => {
    opening ??= FilterStore.open(deps.nc, { replicas: deps.config.STREAM_REPLICAS, log: deps.log }).catch((err: unknown) => {
      opening = undefined;
      throw err;
    });
    return opening;
  };
  return async (root) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    app.setErrorHandler((err: FastifyError, req, reply) => {
      const status = statusOf(err);
      if (status >= 500 && status !== 503) req.log.error({ err }, 'request failed');
      const message = (err as { code?: string }).code === QUERY_CANCELED
        ? `the query took longer than ${deps.config.ANALYST_QUERY_TIMEOUT_MS} ms (ANALYST_QUERY_TIMEOUT_MS) and was cancelled: narrow the time range or filters`
        : status >= 500 && status !== 503 ? 'internal error' : err.message;
      void reply.code(status).send(errorBody(status, message));
    });
    app.addHook('onClose', async () => { await pool?.end(); await analystDb?.destroy(); });
    await app.register(triageRoutes(deps.db, reads, deps.config, filterStore));
    await app.register(searchRoutes(reads, exportPool));
    await app.register(timelineRoutes(reads));
    await app.register(opsRoutes({ ...deps, filterStore }));
  };
}

/** Everything under /api that is not ingest, agents, commands or enrollment, with the OpenAPI pages. */
export function apiPlugin(deps: ApiDeps) {
  return fp(async (app) => {
    await app.register(apiRoutes(deps));
    app.get('/api/docs/json', { schema: { hide: true } }, async () => app.swagger());
    app.get('/api/docs', { schema: { hide: true } }, async (_req, reply) => {
      const doc = app.swagger() as { paths?: Record<string, Record<string, { summary?: string }>> };
      const rows = Object.entries(doc.paths ?? {}).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) =>
        `<tr><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(op.summary ?? '')}</td></tr>`));
      return reply.type('text/html; charset=utf-8').send(`<!doctype html><meta charset="utf-8"><title>MiniSOC API</title>
<h1>MiniSOC API</h1><p>The OpenAPI document: <a href="/api/docs/json">/api/docs/json</a>. Sign in with POST /api/login (with the header
<code>x-minisoc-request: 1</code>), then send the <code>soc_session</code> cookie, or its value as
<code>Authorization: Bearer &lt;token&gt;</code>.</p><table>${rows.join('\n')}</table>`);
    });
  }, { name: 'minisoc-api', dependencies: ['minisoc-auth'], encapsulate: true });
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}
