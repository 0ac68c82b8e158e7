// The ingest service: the HTTP API that takes logs and publishes them to ingest.<source>.
import type { RunningService, ServiceContext } from '../core/service.js';
import { jetstream } from '@nats-io/jetstream';
import { buildApp } from './app.js';
import { startSyslog } from './syslog.js';
import { commandRoutes } from '../command/routes.js';
import { apiPlugin } from '../api/index.js';
import { gatewayPlugin } from '../gateway/index.js';
import { webPlugin } from '../web/index.js';
import { enrollPlugin } from '../security/routes.js';
import { sourceForToken } from '../security/sources.js';

export async function startIngest(ctx: ServiceContext): Promise<RunningService & { url: string }> {
  const deps = { nc: ctx.nc, config: ctx.config, log: ctx.log, db: ctx.db };
  // Served on the same port as ingest: every area of the HTTP API and the dashboard.
  // The API comes first: its auth hook (request.user) must cover the routes registered after it.
  const plugins = [apiPlugin(deps), commandRoutes(deps), enrollPlugin(deps), gatewayPlugin(deps), webPlugin(deps)];
  const app = await buildApp({ ...deps, plugins, sourceForToken: (token) => sourceForToken(ctx.db(), token) });
  const url = await app.listen({ host: ctx.config.HTTP_HOST, port: ctx.config.HTTP_PORT });
  ctx.log.info({ url }, 'HTTP API listening');
  const c = ctx.config;
  const syslog = c.SYSLOG_UDP_PORT || c.SYSLOG_TCP_PORT
    ? await startSyslog(jetstream(ctx.nc), {
      host: c.HTTP_HOST, udpPort: c.SYSLOG_UDP_PORT || undefined, tcpPort: c.SYSLOG_TCP_PORT || undefined, sourceId: c.SYSLOG_SOURCE,
      batchRecords: c.INGEST_BATCH_RECORDS, flushIntervalMs: 200, maxBufferedRecords: 100_000, maxMessageBytes: 64 * 1024,
    }, ctx.log.child({ component: 'syslog' }))
    : undefined;
  return { url, stop: async () => { await syslog?.stop(); await app.close(); } };
}
