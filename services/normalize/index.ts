// The normalize service: raw records and agent telemetry to normalized event batches.
import { EventBatch, RawBatch, TelemetryBatch } from '../core/proto.js';
import { deadLetterOutput, decoder, type MessageMeta, type Output, type Stage } from '../core/runner.js';
import { startStages, type RunningService, type ServiceContext } from '../core/service.js';
import { lastToken, subjects } from '../core/topology.js';
import { normalizeRaw, normalizeTelemetry, type NormalizeResult } from './core.js';

const encoder = new TextEncoder();

function idPrefix(meta: MessageMeta): string {
  return `${meta.stream === 'TELEMETRY' ? 't' : 'i'}${meta.streamEpoch}-${meta.seq}`;
}

/** The normalized batch, then one dead letter per rejected record (with its reason). */
export function outputs(sourceId: string, result: NormalizeResult, meta: MessageMeta): Output[] {
  const out: Output[] = [];
  if (result.events.length) {
    out.push({ subject: subjects.normalized(sourceId), data: EventBatch.encode({ source_id: sourceId, events: result.events }).finish() });
  }
  for (const r of result.rejects) out.push(deadLetterOutput(meta, new Error(r.error), encoder.encode(r.record), r.index, sourceId));
  return out;
}

export const rawStage: Stage<RawBatch> = {
  name: 'normalize', stream: 'INGEST',
  decode: decoder((b) => RawBatch.decode(b), 'RawBatch'),
  size: (b) => b.records?.length ?? 0,
  handle: (batch, meta) => {
    // The subject, not the payload, says which source this is: the publisher was authorized for it.
    const sourceId = lastToken(meta.subject);
    const result = normalizeRaw({ ...batch, source_id: sourceId }, { idPrefix: idPrefix(meta), nowMs: Date.now() });
    return outputs(sourceId, result, meta);
  },
};

export const telemetryStage: Stage<TelemetryBatch> = {
  name: 'normalize', stream: 'TELEMETRY',
  decode: decoder((b) => TelemetryBatch.decode(b), 'TelemetryBatch'),
  size: (b) => b.events?.length ?? 0,
  handle: (batch, meta) => {
    const agentId = lastToken(meta.subject);
    const result = normalizeTelemetry({ ...batch, agent_id: agentId }, { idPrefix: idPrefix(meta), nowMs: Date.now() });
    return outputs(agentId, result, meta);
  },
};

export function startNormalize(ctx: ServiceContext): Promise<RunningService> {
  return startStages(ctx, [rawStage, telemetryStage]);
}
