// The gateway's fan-out: per-client filters, sampled event display with exact counts, slow-client shedding.
import { fieldGetter } from '../core/ecs.js';
import type { AgentStatus, Alert, Event } from '../core/proto.js';
import { tacticName } from '../detect/mitre/index.js';
import { gatewayMetrics } from './metrics.js';

export interface GatewayLimits {
  /** How often sampled events and their exact totals are sent to each client. */
  flushIntervalMs: number;
  /** Events shown per client per flush; the rest are only counted. */
  maxItemsPerFlush: number;
  /** How often the stats message (events/s per source, lag) goes out. */
  statsIntervalMs: number;
  /** Above this many bytes waiting in a client's socket, it only gets what cannot be skipped. */
  slowBufferBytes: number;
  /** A client that stays slow this long is disconnected. */
  slowClientTimeoutMs: number;
  /** A client with this many bytes waiting is disconnected at once, whatever the time. */
  maxBufferBytes: number;
}

export const DEFAULT_LIMITS: GatewayLimits = {
  flushIntervalMs: 250, maxItemsPerFlush: 50, statsIntervalMs: 1000,
  slowBufferBytes: 512 * 1024, slowClientTimeoutMs: 10_000, maxBufferBytes: 8 * 1024 * 1024,
};

/** What the hub needs of a WebSocket (the `ws` library's socket has all of it). */
export interface ClientSocket {
  readonly bufferedAmount: number;
  send(data: string): void;
  terminate(): void;
}

export interface Filter { sourceId?: string; hostName?: string; q?: string }

/** One event as the live view shows it (the /api/events item without the document). */
export interface CompactEvent {
  id: string; ts: string; sourceId: string; hostName: string; category: string[]; action: string; outcome: string;
  sourceIp: string; destinationIp: string; userName: string; message: string; malicious: boolean;
}

const MESSAGE_CHARS = 400;
const get = {
  host: fieldGetter('host.name'), category: fieldGetter('event.category'), action: fieldGetter('event.action'),
  outcome: fieldGetter('event.outcome'), sourceIp: fieldGetter('source.ip'), destinationIp: fieldGetter('destination.ip'),
  user: fieldGetter('user.name'), message: fieldGetter('message'), original: fieldGetter('event.original'),
};
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

export function compactEvent(e: Event, sourceId: string): CompactEvent {
  return {
    id: str(e.id), ts: str(e.timestamp), sourceId: e.source_id || sourceId, hostName: str(get.host(e)),
    category: Array.isArray(get.category(e)) ? (get.category(e) as string[]) : [], action: str(get.action(e)), outcome: str(get.outcome(e)),
    sourceIp: str(get.sourceIp(e)), destinationIp: str(get.destinationIp(e)), userName: str(get.user(e)),
    message: (str(get.message(e)) || str(get.original(e))).slice(0, MESSAGE_CHARS),
    malicious: (e.threat?.indicators?.length ?? 0) > 0,
  };
}

/**
 * An Alert message as an incident item of /api/incidents (a new alert is open and unassigned). Its id is the match's;
 * a repeat folded by the store into an open alert has no row of its own, so the dashboard finds it by `dedupKey`.
 */
export function incidentItem(a: Alert): Record<string, unknown> {
  const techniques = (a.techniques ?? []).filter((t) => t.id);
  const tactics = [...new Set(techniques.flatMap((t) => t.tactics ?? []))];
  return {
    id: a.id, dedupKey: a.dedup_key || a.id, ruleId: a.rule_id, ruleTitle: a.rule_title, level: a.level, score: a.score ?? 0, status: 'open', count: a.count || 1,
    firstSeen: a.first_seen || a.timestamp, lastSeen: a.timestamp, techniques: techniques.map((t) => t.id),
    tactics, mitre: { techniques: techniques.map((t) => ({ id: t.id, name: t.name ?? '' })), tactics: tactics.map((id) => ({ id, name: tacticName(id) ?? '' })) },
    tags: a.tags ?? [], hostName: a.host_name || null,
    userName: a.user_name || null, sourceIp: a.source_ip || null, destinationIp: a.destination_ip || null, agentId: a.agent_id || null,
    assignee: null, closeReason: null, description: a.description ?? '',
  };
}

/** An AgentStatus transition as the part of an /api/agents item it updates. */
export function agentItem(s: AgentStatus): Record<string, unknown> {
  const ms = (v: unknown) => (Number(v) > 0 ? new Date(Number(v)).toISOString() : null);
  return { id: s.agent_id, status: s.status, statusReason: s.reason ?? '', previous: s.previous ?? '', lastSeen: ms(s.last_seen_ms), changedAt: ms(s.changed_ms) };
}

const FILTER_CHARS = 200;

/** Checks a client's filter message; returns the filter or the reason it is refused. */
export function parseFilter(m: Record<string, unknown>): Filter | string {
  const f: Filter = {};
  for (const k of ['sourceId', 'hostName', 'q'] as const) {
    const v = m[k];
    if (v === undefined || v === null || v === '') continue;
    if (typeof v !== 'string') return `filter.${k} must be a string`;
    if (v.length > FILTER_CHARS) return `filter.${k} is longer than ${FILTER_CHARS} characters`;
    f[k] = k === 'q' ? v.toLowerCase() : v;
  }
  return f;
}

class Client {
  filter: Filter = {};
  paused = false;
  /** Matching events not yet reported (an interval skipped for a slow client carries over): the exact count. */
  total = 0;
  /** Matching events of this interval and a uniform sample of them (reservoir). */
  seen = 0;
  sample: { n: number; item: CompactEvent }[] = [];
  /** Messages skipped while the client was slow, told to it when it catches up. */
  skipped = 0;
  slowSince: number | undefined;
  constructor(readonly socket: ClientSocket) {}
}

/** The lazily built views of one batch's events, shared by every client. */
class BatchView {
  private compact: (CompactEvent | undefined)[] = [];
  private text: (string | undefined)[] = [];
  constructor(readonly events: Event[], readonly sourceId: string) {}
  item(i: number): CompactEvent {
    return (this.compact[i] ??= compactEvent(this.events[i]!, this.sourceId));
  }
  haystack(i: number): string {
    if (this.text[i] === undefined) {
      const c = this.item(i);
      this.text[i] = [c.message, c.hostName, c.userName, c.sourceIp, c.destinationIp, c.action, c.sourceId].join('\n').toLowerCase();
    }
    return this.text[i]!;
  }
  matches(i: number, f: Filter): boolean {
    if (f.sourceId && this.item(i).sourceId !== f.sourceId) return false;
    if (f.hostName && this.item(i).hostName !== f.hostName) return false;
    if (f.q && !this.haystack(i).includes(f.q)) return false;
    return true;
  }
}

export class Hub {
  private clients = new Set<Client>();
  private bySocket = new Map<ClientSocket, Client>();
  private perSource = new Map<string, number>();
  private statsSince: number;
  private lag: Record<string, number> = {};

  constructor(readonly limits: GatewayLimits, private now: () => number = Date.now) {
    this.statsSince = now();
  }

  get size(): number { return this.clients.size; }

  add(socket: ClientSocket, user: unknown): void {
    const c = new Client(socket);
    this.clients.add(c);
    this.bySocket.set(socket, c);
    gatewayMetrics.clients.set(this.clients.size);
    this.sendTo(c, { type: 'hello', user }, false);
  }

  remove(socket: ClientSocket): void {
    const c = this.bySocket.get(socket);
    if (!c) return;
    this.clients.delete(c);
    this.bySocket.delete(socket);
    gatewayMetrics.clients.set(this.clients.size);
  }

  /**
   * A message from a client: filter, pause, resume. Each is confirmed ({type:'filter', filter}, {type:'paused', paused}),
   * so a client knows from when on its counts follow the new setting; a bad one is answered {type:'error', message}.
   */
  receive(socket: ClientSocket, raw: string): void {
    const c = this.bySocket.get(socket);
    if (!c) return;
    const reply = (msg: object) => this.sendTo(c, msg, false);
    let m: unknown;
    try {
      m = JSON.parse(raw);
    } catch {
      return void reply({ type: 'error', message: 'messages must be JSON' });
    }
    if (!m || typeof m !== 'object' || Array.isArray(m)) return void reply({ type: 'error', message: 'messages must be JSON objects' });
    const msg = m as Record<string, unknown>;
    switch (msg.type) {
      case 'filter': {
        const f = parseFilter(msg);
        if (typeof f === 'string') return void reply({ type: 'error', message: f });
        c.filter = f;
        // Counts restart with the filter, so a total never mixes two filters.
        c.total = 0;
        c.seen = 0;
        c.sample = [];
        return void reply({ type: 'filter', filter: f });
      }
      case 'pause':
      case 'resume':
        c.paused = msg.type === 'pause';
        return void reply({ type: 'paused', paused: c.paused });
      default:
        return void reply({ type: 'error', message: `unknown message type ${JSON.stringify(msg.type)} (expected filter, pause or resume)` });
    }
  }

  /** A batch from events.enriched.<source>: counted for stats, matched and sampled per client. Synchronous and bounded. */
  onEvents(sourceId: string, events: Event[]): void {
    if (events.length === 0) return;
    this.perSource.set(sourceId, (this.perSource.get(sourceId) ?? 0) + events.length);
    const view = new BatchView(events, sourceId);
    const max = this.limits.maxItemsPerFlush;
    for (const c of this.clients) {
      if (c.paused) continue;
      for (let i = 0; i < events.length; i++) {
        if (!view.matches(i, c.filter)) continue;
        c.total++;
        const n = c.seen++;
        if (c.sample.length < max) c.sample.push({ n, item: view.item(i) });
        else {
          // Reservoir sampling: every matched event of the interval has the same chance to be shown.
          const j = Math.floor(Math.random() * (n + 1));
          if (j < max) c.sample[j] = { n, item: view.item(i) };
        }
      }
    }
  }

  onAlert(a: Alert): void {
    this.broadcast({ type: 'alert', alert: incidentItem(a) }, false);
  }

  onAgentStatus(s: AgentStatus): void {
    this.broadcast({ type: 'agent', agent: agentItem(s) }, false);
  }

  setLag(lag: Record<string, number>): void {
    this.lag = lag;
  }

  /** Sends each client its sampled events and exact total for the interval; sheds clients that stay slow. */
  flush(): void {
    for (const c of this.clients) {
      if (c.total === 0) { this.checkSlow(c); continue; }
      const items = c.sample.sort((a, b) => a.n - b.n).map((s) => s.item);
      const sent = this.sendTo(c, { type: 'events', items, total: c.total }, true);
      c.sample = [];
      c.seen = 0;
      // A skipped interval's count is carried into the next message: totals stay exact for slow clients too.
      if (sent) c.total = 0;
    }
  }

  /** Events per second per source since the last call, and the last known lag, to every client. */
  stats(): void {
    const now = this.now();
    const seconds = Math.max((now - this.statsSince) / 1000, 0.001);
    this.statsSince = now;
    const perSource: Record<string, number> = {};
    let all = 0;
    for (const [s, n] of this.perSource) { perSource[s] = Math.round((n / seconds) * 10) / 10; all += n; }
    this.perSource.clear();
    this.broadcast({ type: 'stats', eventsPerSecond: Math.round((all / seconds) * 10) / 10, perSource, lag: this.lag }, true);
  }

  closeAll(): void {
    for (const c of this.clients) c.socket.terminate();
    this.clients.clear();
    this.bySocket.clear();
    gatewayMetrics.clients.set(0);
  }

  private broadcast(msg: object, skippable: boolean): void {
    const data = JSON.stringify(msg);
    for (const c of this.clients) this.sendTo(c, msg, skippable, data);
  }

  /** True when the client is too slow to take a message now; disconnects it when that has gone on too long. */
  private checkSlow(c: Client): boolean {
    const buffered = c.socket.bufferedAmount;
    if (buffered <= this.limits.slowBufferBytes) {
      c.slowSince = undefined;
      return false;
    }
    const now = this.now();
    c.slowSince ??= now;
    if (buffered > this.limits.maxBufferBytes || now - c.slowSince > this.limits.slowClientTimeoutMs) {
      gatewayMetrics.clientsDropped.inc();
      this.remove(c.socket);
      c.socket.terminate();
    }
    return true;
  }

  private sendTo(c: Client, msg: object, skippable: boolean, data?: string): boolean {
    if (this.checkSlow(c)) {
      if (!this.clients.has(c)) return false;
      if (skippable) {
        c.skipped++;
        gatewayMetrics.messagesSkipped.inc({ type: (msg as { type: string }).type });
        return false;
      }
    } else if (c.skipped > 0) {
      c.socket.send(JSON.stringify({ type: 'dropped', count: c.skipped }));
      c.skipped = 0;
    }
    c.socket.send(data ?? JSON.stringify(msg));
    return true;
  }
}
