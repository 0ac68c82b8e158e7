// The heartbeat monitor: every agent's health from hb.<id>, kept in the AGENTS bucket and the agents
// table; status changes published on agents.status.<id>; an agent going offline raises an alert that
// its return closes.
import { DeliverPolicy, jetstream, jetstreamManager, type ConsumerMessages } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { sql } from 'kysely';
import type { Db } from '../core/db/index.js';
import { errorMessage } from '../core/errors.js';
import { agentMetrics } from '../core/metrics.js';
import { Alert, AgentStatus, Heartbeat } from '../core/proto.js';
import type { RunningService, ServiceContext } from '../core/service.js';
import { KV_BUCKETS, STREAMS, lastToken, subjects } from '../core/topology.js';
import { applyHeartbeat, reassess, type AgentState, type MonitorSettings, type Transition } from './monitor.js';
import { pgJson } from '../core/db/index.js';

export const OFFLINE_RULE_ID = 'minisoc-agent-offline';

export function monitorSettings(c: ServiceContext['config']): MonitorSettings {
  return {
    defaultIntervalS: c.HEARTBEAT_INTERVAL_S, missedOffline: c.HEARTBEAT_MISSED_OFFLINE,
    maxSkewMs: c.HEARTBEAT_MAX_SKEW_MS, degradedHoldMs: c.AGENT_DEGRADED_HOLD_MS,
  };
}

/** The alert an agent going offline raises, or (closes) the one its return ends. Same dedup key for both. */
export function offlineAlert(a: AgentState, nowMs: number, closes: boolean): Uint8Array {
  const at = new Date(nowMs).toISOString();
  return Alert.encode({
    id: `${OFFLINE_RULE_ID}:${a.id}:${closes ? `back:${nowMs}` : a.lastSeenMs}`,
    rule_id: OFFLINE_RULE_ID, rule_title: 'Agent offline', level: 'high', score: 60,
    dedup_key: `${OFFLINE_RULE_ID}:${a.id}`, timestamp: at, first_seen: at,
    tags: ['minisoc.agent-health'], host_name: a.hostname, agent_id: a.id, source_id: 'heartbeat', count: 1,
    description: closes
      ? `agent ${a.id} (${a.hostname || 'unknown host'}) is back: ${a.status}`
      : `agent ${a.id} (${a.hostname || 'unknown host'}) sent no heartbeat since ${new Date(a.lastSeenMs).toISOString()}: ${a.reason}`,
    entities: { 'agent.id': a.id, ...(a.hostname ? { 'host.name': a.hostname } : {}) },
    closes,
  }).finish();
}

/** One statement for every changed agent; enrollment's tags are left as they are. */
async function saveAgents(db: Db, agents: AgentState[]): Promise<void> {
  if (agents.length === 0) return;
  const rows = agents.map((a) => ({
    id: a.id, hostname: a.hostname || null, os: a.os || null, version: a.version || null, ips: a.ips,
    status: a.status, status_reason: a.reason || null, first_seen: new Date(a.firstSeenMs).toISOString(),
    last_seen: new Date(a.lastSeenMs || a.firstSeenMs).toISOString(), doc: a,
  }));
  await sql`
    INSERT INTO agents (id, hostname, os, version, ips, status, status_reason, first_seen, last_seen, doc)
    SELECT id, hostname, os, version, coalesce(ips, '{}'), status, status_reason, first_seen, last_seen, doc
    FROM json_to_recordset(${pgJson(rows)}::json) AS r(id text, hostname text, os text, version text, ips text[],
      status text, status_reason text, first_seen timestamptz, last_seen timestamptz, doc jsonb)
    ON CONFLICT (id) DO UPDATE SET hostname = coalesce(excluded.hostname, agents.hostname), os = coalesce(excluded.os, agents.os),
      version = coalesce(excluded.version, agents.version), ips = excluded.ips, status = excluded.status,
      status_reason = excluded.status_reason, first_seen = least(agents.first_seen, excluded.first_seen),
      last_seen = excluded.last_seen, doc = excluded.doc`.execute(db);
}

async function loadStates(kv: KV): Promise<Map<string, AgentState>> {
  const states = new Map<string, AgentState>();
  for await (const key of await kv.keys()) {
    const e = await kv.get(key);
    if (!e || e.operation !== 'PUT' || e.value.length === 0) continue;
    try {
      states.set(key, JSON.parse(e.string()) as AgentState);
    } catch {
      // A value we cannot read is replaced by the next heartbeat.
    }
  }
  return states;
}

export async function startHeartbeat(ctx: ServiceContext): Promise<RunningService> {
  const { log, nc } = ctx;
  const settings = monitorSettings(ctx.config);
  const db = ctx.db();
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  const kv = await new Kvm(nc).create(KV_BUCKETS.AGENTS, { history: 1 });
  const agents = await loadStates(kv);
  const dirty = new Set<string>(agents.keys());
  const pending: Transition[] = [];
  log.info({ agents: agents.size }, 'agent states restored from the AGENTS bucket');

  // The latest heartbeat of every agent first (with the time JetStream stored it), then new ones: a
  // restarted monitor judges each agent by when it was really last heard of, so nobody flaps.
  let replayed = (await jsm.streams.info(STREAMS.HEARTBEATS)).state.messages === 0;
  const consumer = await js.consumers.get(STREAMS.HEARTBEATS, { deliver_policy: DeliverPolicy.LastPerSubject });
  const messages: ConsumerMessages = await consumer.consume();
  const reading = (async () => {
    for await (const m of messages) {
      const id = lastToken(m.subject);
      try {
        const hb = Heartbeat.decode(m.data);
        // The subject names the agent (its credentials allow only its own): the body cannot speak for another.
        const next = applyHeartbeat(agents.get(id), { ...hb, agent_id: id }, m.info.timestampNanos / 1e6, settings);
        next.id = id;
        agents.set(id, next);
        dirty.add(id);
      } catch (err) {
        agentMetrics.badHeartbeats.inc();
        log.warn({ agent: id, err: errorMessage(err) }, 'heartbeat not decodable, ignored');
      }
      if (m.info.pending === 0) replayed = true;
    }
  })();

  // Silence is judged from when the monitor could hear: its start, and each return of NATS. Agents that come
  // back within their allowance after a server restart or a NATS outage then change nothing and raise nothing.
  let listeningSinceMs = Date.now();
  void (async () => {
    for await (const st of nc.status()) if (st.type === 'reconnect') listeningSinceMs = Date.now();
  })().catch(() => undefined);

  let busy = false;
  const tick = async () => {
    if (busy || !replayed) return;
    busy = true;
    try {
      const now = Date.now();
      for (const a of agents.values()) {
        const t = reassess(a, now, settings, listeningSinceMs);
        if (t) { pending.push({ agent: { ...t.agent }, previous: t.previous }); dirty.add(a.id); }
      }
      // Transitions first: if publishing fails they stay queued and are sent, in order, next time.
      while (pending.length > 0) {
        const t = pending[0]!;
        const a = t.agent;
        await js.publish(subjects.agentStatus(a.id), AgentStatus.encode({
          agent_id: a.id, status: a.status, previous: t.previous, reason: a.reason, changed_ms: a.changedMs, last_seen_ms: a.lastSeenMs,
        }).finish(), { msgID: `${a.id}:${a.changedMs}:${a.status}:${a.reason}`.slice(0, 200) });
        const wentOffline = a.status === 'offline' && t.previous !== 'offline' && t.previous !== 'unknown';
        const cameBack = t.previous === 'offline' && a.status !== 'offline';
        if (wentOffline || cameBack) {
          const data = offlineAlert(a, a.changedMs, cameBack);
          const id = Alert.decode(data).id!;
          await js.publish(subjects.alert('high'), data, { msgID: id });
        }
        agentMetrics.transitions.inc({ status: a.status });
        log.info({ agent: a.id, status: a.status, previous: t.previous, reason: a.reason }, 'agent status changed');
        pending.shift();
      }
      const changed = [...dirty].map((id) => agents.get(id)!).filter(Boolean);
      if (changed.length > 0) {
        await saveAgents(db, changed);
        await Promise.all(changed.map((a) => kv.put(a.id, JSON.stringify(a))));
        for (const a of changed) dirty.delete(a.id);
      }
      const counts: Record<string, number> = { online: 0, degraded: 0, offline: 0, stopped: 0 };
      for (const a of agents.values()) if (a.status in counts) counts[a.status]!++;
      for (const [status, n] of Object.entries(counts)) agentMetrics.byStatus.set({ status }, n);
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'agent states not saved, will retry');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), 1000);
  return {
    stop: async () => {
      clearInterval(timer);
      await messages.close().catch(() => undefined);
      await reading.catch(() => undefined);
      while (busy) await new Promise((r) => setTimeout(r, 20));
      await tick();
    },
  };
}
