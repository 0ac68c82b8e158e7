// The store service: enriched events, alerts and dead letters from their streams into PostgreSQL.
import { Alert, DeadLetter, EventBatch } from '../core/proto.js';
import { decoder, type Stage } from '../core/runner.js';
import type { ServiceContext, RunningService } from '../core/service.js';
import { startStages } from '../core/service.js';
import { alertRow, deadLetterRow, eventRow } from './core.js';
import { insertAlerts, insertDeadLetters, insertEvents } from './sink.js';
import { dropOldPartitions } from '../core/db/index.js';


export async function startStore(ctx: ServiceContext): Promise<RunningService> {
  const db = ctx.db();
  const events: Stage<ReturnType<typeof EventBatch.decode>> = {
    name: 'store', stream: 'ENRICHED',
    decode: decoder((b) => EventBatch.decode(b), 'EventBatch'),
    size: (batch) => batch.events.length,
    handle: async (batch) => {
      await insertEvents(db, batch.events.map(eventRow));
      return [];
    },
  };
  const alerts: Stage<ReturnType<typeof Alert.decode>> = {
    name: 'store', stream: 'ALERTS',
    decode: decoder((b) => Alert.decode(b), 'Alert'),
    handle: async (alert, meta) => {
      await insertAlerts(db, [alertRow(alert, alert.id || `${meta.stream}:${meta.seq}`)], [alert.closes]);
      return [];
    },
  };
  const deadLetters: Stage<ReturnType<typeof DeadLetter.decode>> = {
    name: 'store', stream: 'DLQ',
    decode: decoder((b) => DeadLetter.decode(b), 'DeadLetter'),
    handle: async (dl) => {
      await insertDeadLetters(db, [deadLetterRow(dl)]);
      return [];
    },
  };
  const stages = await startStages(ctx, [events, alerts, deadLetters]);
  const retention = setInterval(() => {
    dropOldPartitions(db, ctx.config.RETENTION_DAYS)
      .then((dropped) => dropped.length && ctx.log.info({ dropped }, 'retention dropped old event partitions'))
      .catch((err: unknown) => ctx.log.warn({ err }, 'retention failed, will try again'));
  }, 3600_000);
  retention.unref();
  return { stop: async () => { clearInterval(retention); await stages.stop(); } };
}
