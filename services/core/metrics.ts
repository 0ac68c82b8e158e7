// Prometheus metrics: one registry per process, counters every stage shares.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'minisoc_' });

const labelNames = ['stage', 'stream'] as const;

export const stageMetrics = {
  received: new Counter({ name: 'minisoc_stage_messages_received_total', help: 'Stream messages a stage took in', labelNames, registers: [registry] }),
  events: new Counter({ name: 'minisoc_stage_events_received_total', help: 'Events or records inside the messages a stage took in', labelNames, registers: [registry] }),
  published: new Counter({ name: 'minisoc_stage_messages_published_total', help: 'Messages a stage published downstream and had acknowledged', labelNames, registers: [registry] }),
  acked: new Counter({ name: 'minisoc_stage_messages_acked_total', help: 'Input messages fully processed and acknowledged', labelNames, registers: [registry] }),
  deadLettered: new Counter({ name: 'minisoc_stage_dead_lettered_total', help: 'Messages or records sent to dlq.<stage>, with the reason kept in the dead letter', labelNames, registers: [registry] }),
  retried: new Counter({ name: 'minisoc_stage_retries_total', help: 'Attempts at a message made again after a failure (in process, with backoff)', labelNames, registers: [registry] }),
  restarts: new Counter({ name: 'minisoc_stage_consume_restarts_total', help: 'Times a stage had to pull again after an error (NATS away, consumer lost)', labelNames, registers: [registry] }),
  poisoned: new Counter({ name: 'minisoc_stage_poisoned_total', help: 'Messages dead-lettered by the poison rule (delivered more than STAGE_MAX_DELIVERIES times)', labelNames, registers: [registry] }),
  inFlight: new Gauge({ name: 'minisoc_stage_in_flight', help: 'Batches being processed now', labelNames, registers: [registry] }),
  lag: new Gauge({ name: 'minisoc_stage_lag_messages', help: 'Messages waiting in the stream for this stage (consumer num_pending)', labelNames, registers: [registry] }),
  latency: new Histogram({
    name: 'minisoc_stage_batch_seconds', help: 'Time from receiving a message to acknowledging it', labelNames, registers: [registry],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  }),
};

export const ingestMetrics = {
  records: new Counter({ name: 'minisoc_ingest_records_accepted_total', help: 'Records accepted by POST /api/ingest', labelNames: ['source'] as const, registers: [registry] }),
  rejected: new Counter({ name: 'minisoc_ingest_requests_rejected_total', help: 'Ingest requests refused, by reason', labelNames: ['reason'] as const, registers: [registry] }),
};

export const storeMetrics = {
  rows: new Counter({ name: 'minisoc_store_rows_written_total', help: 'Rows inserted (duplicates excluded)', labelNames: ['table'] as const, registers: [registry] }),
  duplicates: new Counter({ name: 'minisoc_store_rows_duplicate_total', help: 'Rows skipped because they were stored before (redelivery)', labelNames: ['table'] as const, registers: [registry] }),
  copyFallbacks: new Counter({ name: 'minisoc_store_copy_fallbacks_total', help: 'Event batches COPY refused and the row-by-row statement stored instead: a row stored before (duplicate) or a value COPY could not take (value)', labelNames: ['reason'] as const, registers: [registry] }),
  retries: new Counter({ name: 'minisoc_store_concurrency_retries_total', help: 'Batches run again at once after a deadlock or serialization failure', labelNames: ['table'] as const, registers: [registry] }),
};

export const agentMetrics = {
  byStatus: new Gauge({ name: 'minisoc_agents', help: 'Agents known to the heartbeat monitor, by status', labelNames: ['status'] as const, registers: [registry] }),
  transitions: new Counter({ name: 'minisoc_agent_status_changes_total', help: 'Agent status changes published on agents.status.<id>', labelNames: ['status'] as const, registers: [registry] }),
  badHeartbeats: new Counter({ name: 'minisoc_heartbeats_rejected_total', help: 'Heartbeat messages that could not be decoded', registers: [registry] }),
};

export const commandMetrics = {
  byOutcome: new Counter({ name: 'minisoc_commands_total', help: 'Commands reaching a state (delivered, succeeded, failed, timed_out, expired, refused)', labelNames: ['status'] as const, registers: [registry] }),
};
