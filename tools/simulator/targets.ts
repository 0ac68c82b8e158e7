// Where simulated records go: POST /api/ingest, JetStream as a log shipper and as fake agents, or stdout.
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { Command, CommandAck, CommandResult, Heartbeat, RawBatch, TelemetryBatch, type Event } from '../../services/core/proto.js';
import { lastToken, subjects } from '../../services/core/topology.js';
import { SOURCES, type HeartbeatRecord, type LogRecord, type SimRecord, type SourceId, type TelemetryRecord } from './formats.js';
import type { LinuxHost } from './world.js';

export interface Target {
  send(records: SimRecord[]): Promise<void>;
}

export class SimulatorError extends Error {}

const CONTENT_TYPES: Record<string, string> = { access: 'text/plain', syslog: 'text/plain', winxml: 'application/xml', ndjson: 'application/x-ndjson' };

function bySource(records: LogRecord[]): Map<SourceId, string[]> {
  const m = new Map<SourceId, string[]>();
  for (const r of records) {
    const list = m.get(r.source) ?? [];
    list.push(r.text);
    m.set(r.source, list);
  }
  return m;
}

const logs = (rs: SimRecord[]) => rs.filter((r): r is LogRecord => r.kind === 'log');

/** Logs to the HTTP ingest API, one request per source and tick; waits out 503 (backpressure) as a shipper should. */
export class HttpTarget implements Target {
  /** `tokens`: the ingest token of each source (soc sources add); a source without one posts anonymously. */
  constructor(private readonly baseUrl: string, private readonly maxRetries = 20, private readonly tokens: Partial<Record<SourceId, string>> = {}) {}

  async send(records: SimRecord[]): Promise<void> {
    await Promise.all([...bySource(logs(records))].map(([source, texts]) => this.post(source, texts)));
  }

  private async post(source: SourceId, texts: string[]): Promise<void> {
    const format = SOURCES[source];
    const url = `${this.baseUrl}/api/ingest?source=${source}&format=${format}`;
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        const token = this.tokens[source];
        res = await fetch(url, { method: 'POST', headers: { 'content-type': CONTENT_TYPES[format]!, ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: texts.join('\n') });
      } catch (err) {
        throw new SimulatorError(`cannot reach ${url}: ${(err as Error).cause ? String((err as Error & { cause: unknown }).cause) : (err as Error).message}`);
      }
      if (res.status === 202) { await res.arrayBuffer(); return; }
      const text = await res.text();
      if (res.status === 503 && attempt < this.maxRetries) {
        await new Promise((r) => setTimeout(r, Math.min(10, Number(res.headers.get('retry-after')) || 1) * 1000));
        continue;
      }
      throw new SimulatorError(`POST ${url} answered ${res.status}: ${text.slice(0, 300)}`);
    }
  }
}

/** What the real agent puts in a batch's host: facts each event may lack. */
function agentHost(a: LinuxHost) {
  return { name: a.name, hostname: a.name, ip: [a.ip], os_name: a.os, os_family: 'linux', os_kernel: '6.1.0-21-amd64', architecture: 'x86_64' };
}

/** The commands the simulated agents carry out (what they answer); anything else they refuse, saying so. */
export const SIMULATED_COMMANDS = ['ping', 'collect-now'] as const;

/**
 * Fake agents (heartbeats on hb.<id>, TelemetryBatch on telemetry.<id>, as agent/agent.ts sends them, and answers
 * to commands on cmd.<id>) and, when `logsToo`, logs as RawBatch on ingest.<source> (what the HTTP ingest would
 * publish).
 */
export class NatsTarget implements Target {
  private readonly js: JetStreamClient;
  private batchNo = 0;
  /** The agents this simulation has sent heartbeats for: only their commands are answered. */
  private readonly agents = new Set<string>();

  constructor(private readonly nc: NatsConnection, private readonly logsToo: boolean, private readonly runId: string) {
    this.js = jetstream(nc);
    nc.subscribe(subjects.all.commands, { callback: (err, msg) => {
      const id = lastToken(msg.subject);
      if (err || !this.agents.has(id)) return;
      let cmd;
      try { cmd = Command.decode(msg.data); } catch { return; }
      const known = (SIMULATED_COMMANDS as readonly string[]).includes(cmd.action);
      const error = known ? '' : `simulated agent: it answers ${SIMULATED_COMMANDS.join(' and ')} only`;
      msg.respond(CommandAck.encode({ command_id: cmd.id, accepted: known, error }).finish());
      const now = Date.now();
      const result = CommandResult.encode({
        command_id: cmd.id, agent_id: id, status: known ? 'succeeded' : 'failed', exit_code: known ? 0 : 1,
        output: cmd.action === 'ping' ? 'pong' : known ? 'simulated: nothing to collect' : '', started_ms: now, finished_ms: now, error,
      }).finish();
      // Refused by JetStream, the result is missing and the command service times the command out, as for a real agent.
      this.js.publish(subjects.commandResult(id), result, { msgID: `${id}:cmd:${cmd.id}` }).catch(() => undefined);
    } });
  }

  async send(records: SimRecord[]): Promise<void> {
    const jobs: Promise<unknown>[] = [];
    const n = ++this.batchNo;
    if (this.logsToo) {
      for (const [source, texts] of bySource(logs(records))) {
        jobs.push(this.js.publish(subjects.ingest(source), RawBatch.encode({
          source_id: source, format: SOURCES[source] === 'ndjson' ? 'json' : SOURCES[source], received_ms: Date.now(), records: texts, remote_addr: 'soc-simulate',
        }).finish(), { msgID: `simulate:${this.runId}:${source}:${n}` }));
      }
    }
    const telemetry = new Map<string, { agent: LinuxHost; events: Event[]; lastMs: number }>();
    for (const r of records) {
      if (r.kind === 'heartbeat') this.heartbeat(r);
      if (r.kind !== 'telemetry') continue;
      const t = telemetry.get(r.agent.agentId) ?? { agent: r.agent, events: [], lastMs: 0 };
      t.events.push((r as TelemetryRecord).event);
      t.lastMs = r.ts;
      telemetry.set(r.agent.agentId, t);
    }
    for (const { agent, events, lastMs } of telemetry.values()) {
      // Event time of the batch as its sequence: increasing, and new on every run (a restarted agent keeps its sequence too).
      const seq = lastMs;
      jobs.push(this.js.publish(subjects.telemetry(agent.agentId), TelemetryBatch.encode({
        agent_id: agent.agentId, batch_seq: seq, created_ms: lastMs, events, host: agentHost(agent),
      }).finish(), { msgID: `${agent.agentId}:${seq}` }));
    }
    await Promise.all(jobs);
  }

  private heartbeat(r: HeartbeatRecord): void {
    this.agents.add(r.agent.agentId);
    this.nc.publish(subjects.heartbeat(r.agent.agentId), Heartbeat.encode({
      agent_id: r.agent.agentId, version: '0.1.0', sent_ms: r.ts, uptime_s: r.uptimeS, interval_s: 10, heartbeat_interval_s: r.intervalS, host: agentHost(r.agent),
      collector_ms: { processes: 12, sockets: 4, resources: 2 },
    }).finish());
  }
}

/** Both at once: logs over HTTP, agents over NATS. */
export class SplitTarget implements Target {
  constructor(private readonly http: Target, private readonly agents: Target) {}

  async send(records: SimRecord[]): Promise<void> {
    await Promise.all([this.http.send(records), this.agents.send(records)]);
  }
}

/** One JSON line per record (--dry-run): what would be sent, for checking seeds and formats. */
export class StdoutTarget implements Target {
  constructor(private readonly write: (s: string) => void = (s) => process.stdout.write(s)) {}

  async send(records: SimRecord[]): Promise<void> {
    const lines = records.map((r) => JSON.stringify(r.kind === 'log'
      ? { ts: new Date(r.ts).toISOString(), source: r.source, format: SOURCES[r.source], record: r.text }
      : r.kind === 'telemetry'
        ? { ts: new Date(r.ts).toISOString(), agent: r.agent.agentId, event: r.event }
        : { ts: new Date(r.ts).toISOString(), agent: r.agent.agentId, heartbeat: { interval_s: r.intervalS } }));
    if (lines.length) this.write(lines.join('\n') + '\n');
  }
}
