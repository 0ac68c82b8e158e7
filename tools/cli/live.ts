// `soc stats` and `soc tail`: pipeline health and the live event and alert streams, from NATS and the database.
import { serviceSummaries, stats as readStats } from '../../services/api/queries/stats.js';
import { toEcs } from '../../services/core/ecs.js';
import { errorMessage } from '../../services/core/errors.js';
import { Alert, EventBatch } from '../../services/core/proto.js';
import { subjects } from '../../services/core/topology.js';
import { withDb } from './incidents.js';
import { supervisedServices } from '../local/runtime.js';
import { withNats } from './nats.js';

export async function stats(o: { json?: boolean }): Promise<void> {
  const s = await withNats((nc) => withDb((db) => readStats(db, nc)));
  s.services ??= serviceSummaries(supervisedServices());
  if (o.json) { process.stdout.write(JSON.stringify(s) + '\n'); return; }
  const lines = [
    `events/s: ${s.eventsPerSecond.toFixed(1)}   dead letters: ${s.dlq.count}   agents: ${s.agents.online} online, ${s.agents.degraded} degraded, ${s.agents.offline} offline, ${s.agents.stopped} stopped`,
    'stage lag (stream / consumer: pending, ack pending):',
    ...s.stages.map((x) => `  ${x.stream.padEnd(16)} ${x.consumer.padEnd(12)} ${String(x.pending).padStart(8)} ${String(x.ackPending).padStart(8)}`),
    'sources (events/s over the last minute, last stored):',
    ...s.sources.map((x) => `  ${x.sourceId.padEnd(20)} ${x.eventsPerSecond.toFixed(1).padStart(8)}  ${x.lastEventAt}`),
    ...(s.services ? [
      'services (soc up: state since, restarts, last exit):',
      ...s.services.map((x) => `  ${x.name.padEnd(12)} ${x.state.padEnd(10)} ${x.since}  ${String(x.restarts).padStart(3)}  ${x.lastExit ?? '-'}`),
    ] : []),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** Core subscriptions: tail sees what flows from now on and never holds back the durable consumers. */
export async function tail(o: { alertsOnly?: boolean; json?: boolean }): Promise<void> {
  await withNats(async (nc) => {
    const write = (line: string) => process.stdout.write(line + '\n');
    const alerts = nc.subscribe(subjects.all.alerts);
    const events = o.alertsOnly ? undefined : nc.subscribe(subjects.all.enriched);
    const stop = () => { alerts.unsubscribe(); events?.unsubscribe(); };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    await Promise.all([
      (async () => {
        for await (const m of alerts) {
          try {
            const a = Alert.decode(m.data);
            write(o.json ? JSON.stringify({ type: 'alert', alert: Alert.toObject(a, { longs: String }) })
              : `ALERT ${a.timestamp}  ${(a.level ?? '').toUpperCase().padEnd(8)} ${a.rule_title}  host=${a.host_name || '-'} user=${a.user_name || '-'} src=${a.source_ip || '-'}  x${a.count || 1}`);
          } catch (err) {
            process.stderr.write(`soc tail: undecodable alert on ${m.subject}: ${errorMessage(err)}\n`);
          }
        }
      })(),
      (async () => {
        if (!events) return;
        for await (const m of events) {
          try {
            for (const e of EventBatch.decode(m.data).events) {
              write(o.json ? JSON.stringify({ type: 'event', event: toEcs(e) })
                : `${e.timestamp}  ${(e.source_id ?? '').padEnd(10)} ${(e.host?.name || '-').padEnd(14)} ${(e.event?.category ?? []).join(',') || '-'} ${e.event?.action || '-'} ${e.event?.outcome || '-'}  ${(e.message ?? '').slice(0, 100)}`);
            }
          } catch (err) {
            process.stderr.write(`soc tail: undecodable event batch on ${m.subject}: ${errorMessage(err)}\n`);
          }
        }
      })(),
    ]);
  });
}
