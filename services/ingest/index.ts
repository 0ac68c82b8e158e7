// The ingest service: the HTTP API that takes logs and publishes them to ingest.<source>.
import type { RunningService, ServiceContext } from '../core/service.js';
import { buildApp } from './app.js';

export async function startIngest(ctx: ServiceContext): Promise<RunningService & { url: string }> {
  const app = await buildApp({ nc: ctx.nc, config: ctx.config, log: ctx.log });
  const url = await app.listen({ host: ctx.config.HTTP_HOST, port: ctx.config.HTTP_PORT });
  ctx.log.info({ url }, 'HTTP API listening');
  return { url, stop: () => app.close() };
}
