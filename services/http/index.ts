// The HTTP service: the app of every HTTP plugin on HTTP_HOST:HTTP_PORT, and the syslog listeners of ingest.
import { jetstream } from '@nats-io/jetstream';
import { ConfigError } from '../core/errors.js';
import type { RunningService, ServiceContext } from '../core/service.js';
import { startSyslog } from '../ingest/syslog.js';
import { buildApp } from './app.js';

export async function startHttp(ctx: ServiceContext): Promise<RunningService & { url: string }> {
  const app = await buildApp({ nc: ctx.nc, config: ctx.config, log: ctx.log, db: ctx.db });
  let url: string;
  try {
    url = await app.listen({ host: ctx.config.HTTP_HOST, port: ctx.config.HTTP_PORT });
  } catch (err) {
    await app.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new ConfigError(`${(err as Error).message.replace(/^listen /, '')}: another program (or another soc up) has the port; stop it or set HTTP_PORT`, { cause: err });
    }
    throw err;
  }
  ctx.log.info({ url }, 'HTTP API listening');
  const c = ctx.config;
  const syslog = c.SYSLOG_UDP_PORT || c.SYSLOG_TCP_PORT
    ? await startSyslog(jetstream(ctx.nc), {
      host: c.HTTP_HOST, udpPort: c.SYSLOG_UDP_PORT || undefined, tcpPort: c.SYSLOG_TCP_PORT || undefined, sourceId: c.SYSLOG_SOURCE,
      batchRecords: c.INGEST_BATCH_RECORDS, flushIntervalMs: 200, maxBufferedRecords: 100_000, maxMessageBytes: c.SYSLOG_MAX_MESSAGE_BYTES,
    }, ctx.log.child({ component: 'syslog' }))
    : undefined;
  return { url, stop: async () => { await syslog?.stop(); await app.close(); } };
}
