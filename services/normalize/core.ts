// The normalize core: raw records and agent telemetry to normalized events, with a reason for every reject.
import { errorMessage } from '../core/errors.js';
import { Event, type RawBatch, type TelemetryBatch } from '../core/proto.js';
import { jsonProblem, prototypeKeyIn, prototypeKeyReason } from '../core/untrusted.js';
import { PARSERS, detectFormat } from './parsers/index.js';

export interface Reject {
  /** Index of the record in its batch. */
  index: number;
  error: string;
  /** The whole record as it arrived (an agent's event as protobuf JSON), so the dead letter can be read and retried. */
  record: string;
}

export interface NormalizeContext {
  /** Deterministic prefix of the event ids of this batch (from the stream and its sequence). */
  idPrefix: string;
  nowMs: number;
}

export interface NormalizeResult {
  events: Event[];
  rejects: Reject[];
}

/**
 * Largest raw record the stage parses; larger ones are dead-lettered whole (a record reaches normalize
 * only inside a RawBatch under the NATS max_payload, so its dead letter fits a message too).
 */
export const MAX_RECORD_CHARS = 1024 * 1024;

/** `fallback` is the RFC 3339 time of a record without one, made once per batch (toISOString per record cost a third of a small record's time). */
function finish(e: Event, id: string, sourceId: string, fallback: string, ingested: string, kind: string, host: string): Event {
  e.id = id;
  e.source_id = sourceId;
  // The kind the source declared (soc sources add --kind) decides the event's Sigma logsource in detect.
  if (kind) e.observer = { ...e.observer, type: kind };
  // The host it declared (--host) is where an event that names no host happened: a web server's access log line.
  if (host && !e.host?.name) e.host = { ...e.host, name: host };
  if (!e.timestamp) e.timestamp = fallback;
  e.ingested = ingested;
  return e;
}

/** A batch's time in Unix ms when it is one a Date can hold (toISOString throws beyond ±8.64e15), else undefined. */
function dateMs(v: unknown): number | undefined {
  const n = Number(v);
  return n && Number.isFinite(n) && Math.abs(n) <= 8.64e15 ? n : undefined;
}

export function normalizeRaw(batch: RawBatch, ctx: NormalizeContext): NormalizeResult {
  const events: Event[] = [];
  const rejects: Reject[] = [];
  const sourceId = batch.source_id ?? '';
  const receivedMs = dateMs(batch.received_ms) ?? ctx.nowMs;
  const received = new Date(receivedMs).toISOString();
  const ingested = new Date(ctx.nowMs).toISOString();
  const records = batch.records ?? [];
  const kind = batch.source_kind ?? '';
  const host = batch.source_host ?? '';
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    if (record.length > MAX_RECORD_CHARS) {
      rejects.push({ index: i, error: `record is ${record.length} characters, over the limit of ${MAX_RECORD_CHARS}`, record });
      continue;
    }
    const format = batch.format || detectFormat(record);
    const parser = PARSERS[format];
    if (!parser) {
      rejects.push({ index: i, error: batch.format ? `no parser for format ${JSON.stringify(format)}` : 'format not recognised', record });
      continue;
    }
    try {
      const out = parser(record, { sourceId, receivedMs });
      for (let k = 0; k < out.length; k++) {
        events.push(finish(out[k]!, out.length === 1 ? `${ctx.idPrefix}.${i}` : `${ctx.idPrefix}.${i}.${k}`, sourceId, received, ingested, kind, host));
      }
    } catch (err) {
      rejects.push({ index: i, error: errorMessage(err), record });
    }
  }
  return { events, rejects };
}

const HOST_FACTS = ['name', 'hostname', 'ip', 'mac', 'os_name', 'os_family', 'os_version', 'os_kernel', 'architecture', 'id'] as const;

/** The fields of a host that hold a value (of `keys`, or all), so spreading them overwrites nothing with blanks. */
function present(h: Event['host'], keys: readonly string[] = Object.keys(h ?? {})): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = (h as Record<string, unknown> | null | undefined)?.[k];
    if (v !== undefined && v !== null && v !== '' && !(Array.isArray(v) && v.length === 0)) out[k] = v;
  }
  return out;
}

/**
 * Why an agent's event cannot be taken, or undefined. An agent is as hostile as any log source: its
 * extra fields and labels become keys of the stored document, so they get the JSON records' checks.
 */
export function telemetryProblem(e: Event): string | undefined {
  for (const k of Object.keys(e.labels ?? {})) {
    const bad = prototypeKeyIn(k);
    if (bad !== undefined) return prototypeKeyReason(bad, 'labels');
  }
  if (!e.extra_json) return undefined;
  if (e.extra_json.length > MAX_RECORD_CHARS) return `extra_json is ${e.extra_json.length} characters, over the limit of ${MAX_RECORD_CHARS}`;
  let extra: unknown;
  try {
    extra = JSON.parse(e.extra_json);
  } catch (err) {
    return `extra_json is not JSON: ${errorMessage(err)}`;
  }
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) return 'extra_json must be a JSON object';
  const problem = jsonProblem(extra);
  return problem && `extra_json: ${problem}`;
}

/** Agent telemetry is already in the normalized vocabulary: it gets ids, its agent and host facts stamped. */
export function normalizeTelemetry(batch: TelemetryBatch, ctx: NormalizeContext): NormalizeResult {
  const agentId = batch.agent_id ?? '';
  // Ids from the agent's own batch sequence: a batch re-sent after the stream's 2-minute duplicate window
  // (a lost PubAck, then a long outage) gets the same ids, and the store keeps one copy.
  const prefix = batch.batch_seq ? `t-${agentId}-${batch.batch_seq}` : ctx.idPrefix;
  const created = new Date(dateMs(batch.created_ms) ?? ctx.nowMs).toISOString();
  const ingested = new Date(ctx.nowMs).toISOString();
  const events: Event[] = [];
  const rejects: Reject[] = [];
  const list = batch.events ?? [];
  for (let i = 0; i < list.length; i++) {
    const e = list[i]!;
    const problem = telemetryProblem(e);
    if (problem) {
      // The event as protobuf JSON; labels copied as they are, since toObject would drop a "__proto__" one.
      const record = JSON.stringify({ ...Event.toObject(Event.fromObject(e), { longs: Number }), ...(e.labels ? { labels: { ...e.labels } } : {}) });
      rejects.push({ index: i, error: problem, record });
      continue;
    }
    e.agent = { ...e.agent, id: agentId };
    // Host facts travel once per batch; events get what they lack (rules select agent data by host.os.family).
    if (batch.host) e.host = { ...present(batch.host, HOST_FACTS), ...present(e.host) };
    e.event ??= {};
    e.event.module ||= 'agent';
    events.push(finish(e, `${prefix}.${i}`, agentId, created, ingested, '', ''));
  }
  return { events, rejects };
}
