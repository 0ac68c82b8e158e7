// The one WebSocket to /ws: reconnects, keeps the recent live data, applies bursts to the UI in batches.
import type { Agent, EventItem, Incident } from './api';

export interface LiveFilter { sourceId?: string; hostName?: string; q?: string }

/** Events kept for the live view; older ones scroll away. */
const KEEP_EVENTS = 300;
/** Seconds of events/s history per source for the chart. */
export const HISTORY_S = 90;
const KEEP_ALERTS = 50;
/** Alert ids remembered so a message delivered twice is not counted twice in its fold. */
const KEEP_ALERT_IDS = 1000;

/** New alerts of one dedup key (rule and entities) since the page opened: the latest and how many. */
export interface AlertFold { key: string; alert: Incident; count: number }

type ServerMessage =
  | { type: 'hello'; user: unknown }
  | { type: 'events'; items: EventItem[]; total: number }
  | { type: 'alert'; alert: Incident }
  | { type: 'agent'; agent: Partial<Agent> & { id: string } }
  | { type: 'stats'; eventsPerSecond: number; perSource: Record<string, number>; lag: Record<string, number> }
  | { type: 'dropped'; count: number }
  | { type: 'filter'; filter: LiveFilter }
  | { type: 'paused'; paused: boolean }
  | { type: 'error'; message: string };

class Live {
  connected = $state(false);
  paused = $state(false);
  filter = $state<LiveFilter>({});
  events = $state.raw<EventItem[]>([]);
  /** Exact count of matching events since the page opened (or the filter changed). */
  total = $state(0);
  eventsPerSecond = $state(0);
  lag = $state.raw<Record<string, number>>({});
  /** events/s per source, one point per stats message, oldest first. */
  history = $state.raw<Record<string, number[]>>({});
  alerts = $state.raw<Incident[]>([]);
  /** The same alerts folded by dedup key, most recent first: repeats of one condition are one line with a count. */
  alertFolds = $state.raw<AlertFold[]>([]);
  agentUpdates = $state.raw<Record<string, Partial<Agent>>>({});
  dropped = $state(0);
  error = $state('');

  private ws: WebSocket | null = null;
  private wanted = false;
  private retryMs = 500;
  private pending: EventItem[] = [];
  private pendingTotal = 0;
  private frame = 0;
  private alertIds = new Set<string>();

  start(): void {
    this.wanted = true;
    if (!this.ws) this.open();
  }

  stop(): void {
    this.wanted = false;
    this.ws?.close();
    this.ws = null;
  }

  setFilter(f: LiveFilter): void {
    this.filter = f;
    this.events = [];
    this.total = 0;
    this.send({ type: 'filter', ...f });
  }

  setPaused(p: boolean): void {
    this.paused = p;
    this.send({ type: p ? 'pause' : 'resume' });
  }

  private send(msg: object): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private open(): void {
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws`);
    this.ws = ws;
    ws.onopen = () => {
      this.connected = true;
      this.retryMs = 500;
      // A new connection starts with the server's defaults: restate what this view had chosen.
      if (Object.keys(this.filter).length) this.send({ type: 'filter', ...this.filter });
      if (this.paused) this.send({ type: 'pause' });
    };
    ws.onmessage = (e) => this.receive(JSON.parse(String(e.data)) as ServerMessage);
    ws.onclose = () => {
      this.connected = false;
      if (this.ws === ws) this.ws = null;
      if (this.wanted) {
        setTimeout(() => { if (this.wanted && !this.ws) this.open(); }, this.retryMs);
        this.retryMs = Math.min(this.retryMs * 2, 10_000);
      }
    };
  }

  private receive(m: ServerMessage): void {
    switch (m.type) {
      case 'events':
        this.pending.push(...m.items);
        this.pendingTotal += m.total;
        // Bursts are applied once per animation frame, so the table re-renders at most at the screen's rate.
        this.frame ||= requestAnimationFrame(() => this.applyEvents());
        break;
      case 'alert':
        this.alerts = [m.alert, ...this.alerts.filter((a) => a.id !== m.alert.id)].slice(0, KEEP_ALERTS);
        this.fold(m.alert);
        break;
      case 'agent':
        this.agentUpdates = { ...this.agentUpdates, [m.agent.id]: { ...this.agentUpdates[m.agent.id], ...m.agent } };
        break;
      case 'stats': {
        this.eventsPerSecond = m.eventsPerSecond;
        this.lag = m.lag;
        const next: Record<string, number[]> = {};
        for (const s of new Set([...Object.keys(this.history), ...Object.keys(m.perSource)])) {
          const points = [...(this.history[s] ?? []), m.perSource[s] ?? 0].slice(-HISTORY_S);
          // A source silent for the whole window leaves the chart.
          if (points.some((p) => p > 0)) next[s] = points;
        }
        this.history = next;
        break;
      }
      case 'dropped': this.dropped += m.count; break;
      case 'error': this.error = m.message; break;
      default: break;
    }
  }

  private fold(a: Incident): void {
    const key = a.dedupKey || a.id;
    const prev = this.alertFolds.find((f) => f.key === key);
    const repeat = this.alertIds.has(a.id);
    if (!repeat) {
      this.alertIds.add(a.id);
      // A Set iterates in insertion order: the first is the oldest.
      if (this.alertIds.size > KEEP_ALERT_IDS) this.alertIds.delete(this.alertIds.values().next().value!);
    }
    const count = (prev?.count ?? 0) + (repeat ? 0 : 1);
    this.alertFolds = [{ key, alert: a, count }, ...this.alertFolds.filter((f) => f.key !== key)].slice(0, KEEP_ALERTS);
  }

  private applyEvents(): void {
    this.frame = 0;
    this.total += this.pendingTotal;
    this.events = [...this.pending.reverse(), ...this.events].slice(0, KEEP_EVENTS);
    this.pending = [];
    this.pendingTotal = 0;
  }
}

export const live = new Live();
