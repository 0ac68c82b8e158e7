// Pipeline health at a glance: consumer lag per stage, events per second per source, DLQ size, agents by status.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { sql } from 'kysely';
import type { Db } from '../../core/db/index.js';
import { serviceStates, type ServiceState } from '../../core/supervision.js';
import { pipelineLag } from '../../core/topology.js';

export interface Stats {
  stages: { stream: string; consumer: string; pending: number; ackPending: number }[];
  sources: { sourceId: string; lastEventAt: string; eventsPerSecond: number }[];
  dlq: { count: number };
  agents: { online: number; degraded: number; offline: number; stopped: number; unknown: number };
  eventsPerSecond: number;
  /** Under soc up, each service process: its state, restarts and last exit; null when the services run apart. */
  services: Pick<ServiceState, 'name' | 'state' | 'since' | 'restarts' | 'lastExit'>[] | null;
}

const WINDOW_S = 60;

/** What the stats tell of each supervised service (the supervisor's pid is its own business). */
export function serviceSummaries(states: ServiceState[] | null): Stats['services'] {
  return states?.map(({ name, state, since, restarts, lastExit }) => ({ name, state, since, restarts, lastExit })) ?? null;
}

/**
 * Rates count rows stored in the last minute (ingested_at), read from the partitions of the last two
 * days of event time: late logs older than that are stored but not in the rate.
 */
export async function stats(db: Db, nc: NatsConnection, detectShards = 1): Promise<Stats> {
  const stages: Stats['stages'] = (await pipelineLag(await jetstreamManager(nc), detectShards))
    .map((c) => ({ stream: c.stream, consumer: c.durable, pending: c.pending, ackPending: c.ackPending }));
  stages.sort((a, b) => a.stream.localeCompare(b.stream) || a.consumer.localeCompare(b.consumer));
  const sources = await sql<{ source_id: string; last: Date; n: number }>`
    SELECT source_id, max(ingested_at) AS last, count(*) FILTER (WHERE ingested_at >= now() - make_interval(secs => ${WINDOW_S}))::int AS n
    FROM events WHERE ts >= now() - interval '2 days' GROUP BY source_id ORDER BY source_id`.execute(db);
  const dlq = await db.selectFrom('dead_letters').select(sql<number>`count(*)::int`.as('n')).where('retried_at', 'is', null).executeTakeFirstOrThrow();
  const agents = await db.selectFrom('agents').select(['status', sql<number>`count(*)::int`.as('n')]).groupBy('status').execute();
  const byStatus = { online: 0, degraded: 0, offline: 0, stopped: 0, unknown: 0 };
  for (const a of agents) if (a.status in byStatus) byStatus[a.status as keyof typeof byStatus] = a.n;
  const perSource = sources.rows.map((r) => ({ sourceId: r.source_id, lastEventAt: new Date(r.last).toISOString(), eventsPerSecond: r.n / WINDOW_S }));
  return {
    stages, sources: perSource, dlq: { count: dlq.n }, agents: byStatus,
    eventsPerSecond: perSource.reduce((sum, s) => sum + s.eventsPerSecond, 0),
    services: serviceSummaries(serviceStates()),
  };
}
