// Names every subject, stream, durable consumer and KV bucket, and creates them idempotently.
import {
  AckPolicy, DeliverPolicy, DiscardPolicy, JetStreamApiError, RetentionPolicy, StorageType,
  type JetStreamManager, type StreamConfig, type ConsumerConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { Logger } from './log.js';
import { ValidationError } from './errors.js';

const TOKEN = /^[A-Za-z0-9_-]{1,64}$/;

/** A subject token taken from input (agent id, source id): letters, digits, '-' and '_' only. */
export function checkToken(kind: string, value: string): string {
  if (!TOKEN.test(value)) throw new ValidationError(`${kind} ${JSON.stringify(value)} must be 1-64 characters of A-Z a-z 0-9 _ -`);
  return value;
}

export const SEVERITIES = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Every subject MiniSOC publishes on is built here, never by concatenation at a call site. */
export const subjects = {
  telemetry: (agentId: string) => `telemetry.${checkToken('agent id', agentId)}`,
  ingest: (sourceId: string) => `ingest.${checkToken('source id', sourceId)}`,
  normalized: (sourceId: string) => `events.normalized.${checkToken('source id', sourceId)}`,
  enriched: (sourceId: string) => `events.enriched.${checkToken('source id', sourceId)}`,
  alert: (severity: Severity) => `alerts.${severity}`,
  heartbeat: (agentId: string) => `hb.${checkToken('agent id', agentId)}`,
  agentStatus: (agentId: string) => `agents.status.${checkToken('agent id', agentId)}`,
  command: (agentId: string) => `cmd.${checkToken('agent id', agentId)}`,
  commandResult: (agentId: string) => `cmdres.${checkToken('agent id', agentId)}`,
  dlq: (stage: string) => `dlq.${checkToken('stage', stage)}`,
  /** Dead letters that crashed the stage storing dead letters: kept, never consumed, read by operators. */
  parked: (stage: string) => `parked.${checkToken('stage', stage)}`,
  /** Wildcards, for subscriptions and stream definitions. */
  all: {
    telemetry: 'telemetry.*', ingest: 'ingest.*', normalized: 'events.normalized.*', enriched: 'events.enriched.*',
    alerts: 'alerts.*', heartbeats: 'hb.*', agentStatus: 'agents.status.*', commands: 'cmd.*',
    commandResults: 'cmdres.*', dlq: 'dlq.*', parked: 'parked.*',
  },
} as const;

/** The inbox prefix of an agent's connection (ConnectionOptions.inboxPrefix): its credential may read only these replies. */
export function agentInboxPrefix(agentId: string): string {
  return `_INBOX_${checkToken('agent id', agentId)}`;
}

/** The last token of a subject: the agent or source id. */
export function lastToken(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}

export const STREAMS = {
  TELEMETRY: 'TELEMETRY', INGEST: 'INGEST', NORMALIZED: 'NORMALIZED', ENRICHED: 'ENRICHED', ALERTS: 'ALERTS',
  HEARTBEATS: 'HEARTBEATS', AGENT_STATUS: 'AGENT_STATUS', COMMAND_RESULTS: 'COMMAND_RESULTS', DLQ: 'DLQ',
  PARKED: 'PARKED',
} as const;
export type StreamName = keyof typeof STREAMS;

export const KV_BUCKETS = { AGENTS: 'AGENTS', DETECT_STATE: 'DETECT_STATE', RULE_FILTERS: 'RULE_FILTERS' } as const;

/** Largest value of the RULE_FILTERS bucket (a message's headers count towards it, so the YAML itself is held a little below). */
export const RULE_FILTERS_MAX_VALUE_BYTES = 64 * 1024;
/** The largest filter document saved: the bucket's value limit less room for the message's headers. */
export const FILTER_MAX_YAML_BYTES = RULE_FILTERS_MAX_VALUE_BYTES - 1024;
/** Bytes the RULE_FILTERS bucket may hold; a save beyond it is refused (discard new), never an old filter dropped. */
export const RULE_FILTERS_MAX_BYTES = 64 * 1024 * 1024;

/**
 * The RULE_FILTERS bucket: the Sigma filters analysts save from closed false positives, one key per alert, the YAML
 * text as value, replicated like the streams. Only the latest value of a key matters (history 1). Every option is
 * a nats-server 2.9 feature.
 */
export function ruleFiltersBucket(l: Pick<TopologyLimits, 'replicas'>): { history: number; replicas: number; max_bytes: number; maxValueSize: number; storage: StorageType } {
  return { history: 1, replicas: l.replicas, max_bytes: RULE_FILTERS_MAX_BYTES, maxValueSize: RULE_FILTERS_MAX_VALUE_BYTES, storage: StorageType.File };
}

export interface TopologyLimits {
  /** Bytes a stream may hold before publishers are refused. */
  maxBytes: number;
  /** Seconds after which unconsumed messages expire. */
  maxAgeS: number;
  /** Stream replicas (3 in a clustered deployment). */
  replicas: number;
  /** How long a stage may hold a message before JetStream redelivers it (after a crash, say). */
  ackWaitMs: number;
  /** Detect instances (shards), each with its own durable on ENRICHED; 1 when unset. */
  detectShards?: number;
  /**
   * Unconsumed telemetry batches one agent may hold in TELEMETRY (nats-server 2.10+, which refuses new
   * messages per subject; unset on 2.9, whose per-subject limit would drop old ones instead). Past it the agent's
   * publishes are refused and its batches wait in its own spool: one agent cannot fill the stream for all.
   */
  agentBacklogBatches?: number;
}

/**
 * Pipeline streams keep a message until every durable consumer declared on it has acknowledged it
 * (interest retention) and refuse new messages when full (discard new): a slow stage slows its
 * producers instead of losing data.
 */
function pipelineStream(name: StreamName, subject: string, l: TopologyLimits, retention: RetentionPolicy = RetentionPolicy.Interest): Partial<StreamConfig> {
  return {
    name, subjects: [subject], retention, discard: DiscardPolicy.New,
    storage: StorageType.File, max_bytes: l.maxBytes, max_age: nanos(l.maxAgeS * 1000),
    duplicate_window: nanos(120_000), num_replicas: l.replicas,
  };
}

export function streamConfigs(l: TopologyLimits): Partial<StreamConfig>[] {
  return [
    {
      ...pipelineStream('TELEMETRY', subjects.all.telemetry, l),
      ...(l.agentBacklogBatches ? { max_msgs_per_subject: l.agentBacklogBatches, discard_new_per_subject: true } : {}),
    },
    pipelineStream('INGEST', subjects.all.ingest, l),
    pipelineStream('NORMALIZED', subjects.all.normalized, l),
    pipelineStream('ENRICHED', subjects.all.enriched, l),
    pipelineStream('ALERTS', subjects.all.alerts, l),
    pipelineStream('DLQ', subjects.all.dlq, l),
    pipelineStream('COMMAND_RESULTS', subjects.all.commandResults, l),
    {
      // Only the latest heartbeat of each agent matters.
      name: 'HEARTBEATS', subjects: [subjects.all.heartbeats], retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old, storage: StorageType.File, max_msgs_per_subject: 1,
      max_age: nanos(l.maxAgeS * 1000), num_replicas: l.replicas,
    },
    {
      // Kept for operators (limits retention, no consumer): see the runner's poison rule on the DLQ stream.
      name: 'PARKED', subjects: [subjects.all.parked], retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.New, storage: StorageType.File, max_bytes: l.maxBytes, max_age: nanos(l.maxAgeS * 1000),
      duplicate_window: nanos(120_000), num_replicas: l.replicas,
    },
    {
      name: 'AGENT_STATUS', subjects: [subjects.all.agentStatus], retention: RetentionPolicy.Limits,
      discard: DiscardPolicy.Old, storage: StorageType.File, max_msgs_per_subject: 100,
      max_age: nanos(l.maxAgeS * 1000), duplicate_window: nanos(120_000), num_replicas: l.replicas,
    },
  ];
}

export interface ConsumerSpec {
  stream: StreamName;
  /** The durable consumer is named after the service that reads it. */
  durable: string;
  maxAckPending: number;
}

/** The durable consumer of detect shard i of N: `detect` when there is one shard. */
export function detectDurable(index: number, count: number): string {
  return count === 1 ? 'detect' : `detect-${index}-of-${count}`;
}

const DETECT_DURABLE = /^detect(?:-(\d+)-of-(\d+))?$/;

/**
 * Every durable consumer of the pipeline, for `detectShards` detect instances (each reads every batch and
 * evaluates its share of the rules, so each has its own durable). A consumer listed here holds messages for
 * its service even before the service first starts, so add one only with the service that reads it.
 */
export function consumers(detectShards = 1): ConsumerSpec[] {
  return [
    { stream: 'INGEST', durable: 'normalize', maxAckPending: 1000 },
    { stream: 'TELEMETRY', durable: 'normalize', maxAckPending: 1000 },
    { stream: 'NORMALIZED', durable: 'enrich', maxAckPending: 1000 },
    { stream: 'ENRICHED', durable: 'store', maxAckPending: 1000 },
    ...Array.from({ length: detectShards }, (_, i) => ({ stream: 'ENRICHED' as const, durable: detectDurable(i, detectShards), maxAckPending: 1000 })),
    { stream: 'ALERTS', durable: 'store', maxAckPending: 1000 },
    { stream: 'DLQ', durable: 'store', maxAckPending: 1000 },
    { stream: 'COMMAND_RESULTS', durable: 'command', maxAckPending: 100 },
  ];
}

/** The durable consumers with one detect instance. */
export const CONSUMERS: ConsumerSpec[] = consumers(1);

export interface ConsumerLag { stream: StreamName; durable: string; pending: number; ackPending: number }

/** What a durable consumer has yet to finish: messages waiting in the stream plus delivered but not acknowledged. */
export function lagOf(info: { num_pending: number; num_ack_pending: number }): number {
  return info.num_pending + info.num_ack_pending;
}

/** The lag of every durable consumer of the pipeline; a consumer that cannot be read (not created yet) is left out. */
export async function pipelineLag(jsm: JetStreamManager, detectShards = 1): Promise<ConsumerLag[]> {
  const rows = await Promise.all(consumers(detectShards).map(async (c) => {
    const info = await jsm.consumers.info(c.stream, c.durable).catch(() => null);
    return info ? { stream: c.stream, durable: c.durable, pending: info.num_pending, ackPending: info.num_ack_pending } : null;
  }));
  return rows.filter((r): r is ConsumerLag => r !== null);
}

function consumerConfig(c: ConsumerSpec, ackWaitMs: number): Partial<ConsumerConfig> {
  return {
    durable_name: c.durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(ackWaitMs), max_ack_pending: c.maxAckPending, max_deliver: -1,
  };
}

function sameValues(want: object, have: object): boolean {
  return Object.entries(want).every(([k, v]) => JSON.stringify((have as Record<string, unknown>)[k]) === JSON.stringify(v));
}

/** Creates or updates every stream and durable consumer; safe to call from every service at start. */
export async function ensureTopology(jsm: JetStreamManager, limits: TopologyLimits, log?: Logger): Promise<void> {
  for (const cfg of streamConfigs(limits)) {
    const name = cfg.name!;
    const info = await jsm.streams.info(name).catch((err: unknown) => {
      if (isNotFound(err)) return null;
      throw err;
    });
    if (!info) {
      await jsm.streams.add({ ...cfg, name }).catch(async (err: unknown) => {
        // Another service created it between our look-up and our add.
        if (!(await jsm.streams.info(name).catch(() => null))) throw err;
      });
      log?.info({ stream: name }, 'stream created');
    } else if (!sameValues(cfg, info.config)) {
      // Some settings (retention, storage) cannot change on a live stream: keep it running as it is and say so.
      await jsm.streams.update(name, { ...info.config, ...cfg }).then(
        () => log?.info({ stream: name }, 'stream updated'),
        (err: unknown) => log?.warn({ stream: name, err: (err as Error).message }, 'stream settings differ from the declared ones and cannot be updated'),
      );
    }
  }
  const wanted = consumers(limits.detectShards ?? 1);
  for (const c of wanted) await ensureConsumer(jsm, c, limits.ackWaitMs);
  // A detect durable of another shard count would hold every enriched batch for a reader that never
  // comes, and fill the stream: the shard count changed, so it goes.
  for await (const c of jsm.consumers.list('ENRICHED')) {
    const name = c.config.durable_name ?? c.name;
    if (DETECT_DURABLE.test(name) && !wanted.some((w) => w.stream === 'ENRICHED' && w.durable === name)) {
      await jsm.consumers.delete('ENRICHED', name).catch((err: unknown) => { if (!isNotFound(err)) throw err; });
      log?.warn({ durable: name, detectShards: limits.detectShards ?? 1 }, 'removed the durable of a detect shard layout no longer in use');
    }
  }
}

export async function ensureConsumer(jsm: JetStreamManager, c: ConsumerSpec, ackWaitMs: number): Promise<void> {
  const cfg = consumerConfig(c, ackWaitMs);
  const info = await jsm.consumers.info(c.stream, c.durable).catch((err: unknown) => {
    if (isNotFound(err)) return null;
    throw err;
  });
  if (!info) {
    await jsm.consumers.add(c.stream, cfg);
  } else if (!sameValues(cfg, info.config)) {
    await jsm.consumers.update(c.stream, c.durable, { ack_wait: cfg.ack_wait, max_ack_pending: cfg.max_ack_pending, max_deliver: cfg.max_deliver });
  }
}

export function consumerSpec(stream: StreamName, durable: string): ConsumerSpec {
  const shards = Number(DETECT_DURABLE.exec(durable)?.[2] ?? 1);
  const c = consumers(shards).find((x) => x.stream === stream && x.durable === durable);
  if (!c) throw new Error(`no durable consumer ${durable} is declared on ${stream}`);
  return c;
}

function isNotFound(err: unknown): boolean {
  return err instanceof JetStreamApiError && err.status === 404;
}
