// The agent health state machine: what a heartbeat tells about an agent, and its status at a given time.
// Pure (time is passed in), so restarts and clocks can be tested without waiting.
import type { minisoc } from '../core/proto.js';

/** `stopped`: the agent said goodbye (a planned stop), so its silence raises nothing. */
export type AgentHealth = 'online' | 'degraded' | 'offline' | 'stopped';

export interface MonitorSettings {
  /** Interval assumed when the agent does not state its own. */
  defaultIntervalS: number;
  /** Intervals without a heartbeat after which the agent is offline. */
  missedOffline: number;
  maxSkewMs: number;
  /** How long a drop or an agent error keeps the agent degraded. */
  degradedHoldMs: number;
}

/** Everything the monitor knows of one agent; kept as JSON in the AGENTS bucket, so a restart resumes it. */
export interface AgentState {
  id: string;
  /** 'unknown' until the first assessment: an agent first seen is not news of a change. */
  status: AgentHealth | 'unknown';
  reason: string;
  /** When the status last changed (server clock). */
  changedMs: number;
  firstSeenMs: number;
  /** When JetStream stored the latest heartbeat (server clock: the agent's clock may be wrong). */
  lastSeenMs: number;
  intervalS: number;
  version: string;
  hostname: string;
  os: string;
  ips: string[];
  queueDepth: number;
  spoolDepth: number;
  spoolBytes: number;
  spoolFull: boolean;
  dropped: number;
  /** When the drop counter last went up (server clock), 0 if never. */
  droppedAtMs: number;
  lastError: string;
  lastErrorAtMs: number;
  /** Agent clock minus server clock at the latest heartbeat. */
  clockSkewMs: number;
  uptimeS: number;
  /** When the agent's goodbye heartbeat was stored (server clock); 0 while it runs. */
  stoppedAtMs?: number;
}

export interface Transition {
  agent: AgentState;
  previous: AgentHealth | 'unknown';
}

function num(v: unknown): number {
  const n = Number(v ?? 0);
  return Number.isFinite(n) ? n : 0;
}

/** The agent writes errors as '<ISO time> <message>': the time, in server clock, when it has one. */
function errorTime(text: string, skewMs: number, fallbackMs: number): number {
  const t = Date.parse(text.slice(0, text.indexOf(' ')));
  return Number.isFinite(t) ? t - skewMs : fallbackMs;
}

/**
 * Folds one heartbeat, stored by JetStream at `serverMs`, into the agent's state. Returns the new
 * state, or the old one untouched when the heartbeat is older than what is known (a replay).
 */
export function applyHeartbeat(prev: AgentState | undefined, hb: minisoc.IHeartbeat, serverMs: number, s: MonitorSettings): AgentState {
  if (prev && serverMs <= prev.lastSeenMs) return prev;
  const skew = num(hb.sent_ms) > 0 ? num(hb.sent_ms) - serverMs : 0;
  const dropped = num(hb.dropped);
  const lastError = hb.last_error ?? '';
  const host = hb.host ?? {};
  const ips = [...(host.ip ?? [])];
  const base = prev ?? {
    id: hb.agent_id ?? '', status: 'unknown', reason: '', changedMs: serverMs, firstSeenMs: serverMs,
    lastSeenMs: 0, droppedAtMs: 0, dropped: 0, lastError: '', lastErrorAtMs: 0,
  } as AgentState;

  // A counter going down means the agent restarted: its drops and errors start again.
  const restarted = prev !== undefined && (dropped < prev.dropped || num(hb.uptime_s) < prev.uptimeS);
  const droppedAtMs = dropped > (restarted ? 0 : base.dropped) ? serverMs : restarted ? 0 : base.droppedAtMs;
  const lastErrorAtMs = !lastError ? 0 : lastError === base.lastError && !restarted ? base.lastErrorAtMs : errorTime(lastError, skew, serverMs);
  return {
    ...base,
    lastSeenMs: serverMs,
    intervalS: num(hb.heartbeat_interval_s) || s.defaultIntervalS,
    version: hb.version ?? '',
    hostname: host.hostname || host.name || base.hostname || '',
    os: [host.os_name, host.os_version].filter(Boolean).join(' ') || base.os || '',
    ips: ips.length ? ips : base.ips ?? [],
    queueDepth: num(hb.queue_depth),
    spoolDepth: num(hb.spool_depth),
    spoolBytes: num(hb.spool_bytes),
    spoolFull: hb.spool_full === true,
    dropped,
    droppedAtMs,
    lastError,
    lastErrorAtMs,
    clockSkewMs: skew,
    uptimeS: num(hb.uptime_s),
    stoppedAtMs: hb.stopping === true ? serverMs : 0,
  };
}

/**
 * The status an agent has at `nowMs`, with why. Silence counts from `listeningSinceMs` at the earliest: the
 * monitor (re)started or got NATS back then, and an agent gets its full allowance to be heard again.
 */
export function evaluate(a: AgentState, nowMs: number, s: MonitorSettings, listeningSinceMs = 0): { status: AgentHealth; reason: string } {
  if (a.stoppedAtMs && a.stoppedAtMs === a.lastSeenMs) return { status: 'stopped', reason: `stopped on purpose at ${new Date(a.stoppedAtMs).toISOString()}` };
  const silentMs = nowMs - Math.max(a.lastSeenMs, a.lastSeenMs === 0 ? 0 : listeningSinceMs);
  const limitMs = s.missedOffline * a.intervalS * 1000;
  if (a.lastSeenMs === 0 || silentMs > limitMs) {
    return { status: 'offline', reason: a.lastSeenMs === 0 ? 'never seen' : `no heartbeat for ${Math.round((nowMs - a.lastSeenMs) / 1000)} s (${s.missedOffline} intervals of ${a.intervalS} s)` };
  }
  const why: string[] = [];
  if (a.spoolFull) why.push(`spool full (${a.spoolDepth} batches, ${a.spoolBytes} bytes)`);
  if (a.droppedAtMs > 0 && nowMs - a.droppedAtMs <= s.degradedHoldMs) why.push(`dropped ${a.dropped} batches`);
  if (Math.abs(a.clockSkewMs) > s.maxSkewMs) why.push(`clock skew ${Math.round(a.clockSkewMs / 1000)} s`);
  if (a.lastErrorAtMs > 0 && nowMs - a.lastErrorAtMs <= s.degradedHoldMs) {
    const text = a.lastError.slice(a.lastError.indexOf(' ') + 1);
    why.push(`error: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`);
  }
  return why.length ? { status: 'degraded', reason: why.join('; ') } : { status: 'online', reason: '' };
}

/** Re-evaluates an agent; gives the changed state and the transition when its status (or reason) changed. */
export function reassess(a: AgentState, nowMs: number, s: MonitorSettings, listeningSinceMs = 0): Transition | undefined {
  const next = evaluate(a, nowMs, s, listeningSinceMs);
  if (next.status === a.status && next.reason === a.reason) return undefined;
  // A reason that only counts seconds up is not news.
  if (next.status === a.status && next.status === 'offline') return undefined;
  const previous = a.status;
  const changed = next.status !== a.status;
  Object.assign(a, { status: next.status, reason: next.reason, changedMs: changed ? nowMs : a.changedMs });
  return { agent: a, previous };
}
