// The enrich service: normalized batches in, enriched batches out.
import { DecodeError } from '../core/errors.js';
import { EventBatch } from '../core/proto.js';
import type { Stage } from '../core/runner.js';
import { startStages, type RunningService, type ServiceContext } from '../core/service.js';
import { lastToken, subjects } from '../core/topology.js';
import { enrichBatch } from './core.js';

export const enrichStage: Stage<ReturnType<typeof EventBatch.decode>> = {
  name: 'enrich', stream: 'NORMALIZED',
  decode: (b) => {
    try {
      return EventBatch.decode(b);
    } catch (err) {
      throw new DecodeError(`not an EventBatch: ${(err as Error).message}`, { cause: err });
    }
  },
  size: (b) => b.events.length,
  handle: (batch, meta) => {
    const sourceId = lastToken(meta.subject);
    const events = enrichBatch(batch.events, { nowMs: Date.now() });
    return [{ subject: subjects.enriched(sourceId), data: EventBatch.encode({ source_id: sourceId, events }).finish() }];
  },
};

export function startEnrich(ctx: ServiceContext): Promise<RunningService> {
  return startStages(ctx, [enrichStage]);
}
