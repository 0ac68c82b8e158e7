// The differ: previous state + a new snapshot -> events and the next state. Pure; tested with fixtures.
import type { Event } from '../services/core/proto.js';
import { connectionEvent, hostChanges, hostEvent, portEvent, processEvent, resourceEvent, type Stamp } from './events.js';
import type { HostFacts, ProcessInfo, ResourceSample, Snapshot, SocketInfo } from './snapshot.js';

/** What the agent remembers between collections. A part is undefined until its first look. */
export interface DiffState {
  processes?: ReadonlyMap<string, ProcessInfo>;
  listening?: ReadonlyMap<string, SocketInfo>;
  /** Established connections by 5-tuple. */
  connections?: ReadonlySet<string>;
  resources?: ResourceSample;
  host?: HostFacts;
}

export interface DiffResult {
  state: DiffState;
  events: Event[];
  /** The host facts are new or changed: the next batch carries them. */
  hostChanged: boolean;
}

export function processKey(p: ProcessInfo): string {
  return `${p.pid}:${p.startMs}`;
}

function listenKey(s: SocketInfo): string {
  return `${s.transport}|${s.localIp}|${s.localPort}`;
}

function connectionKey(s: SocketInfo): string {
  return `${s.transport}|${s.localIp}|${s.localPort}|${s.remoteIp}|${s.remotePort}`;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/** True when a connection's local end is a port this host listens on (on its address or on all). */
function toListener(s: SocketInfo, listening: ReadonlyMap<string, SocketInfo>): boolean {
  if (listening.has(`${s.transport}|${s.localIp}|${s.localPort}`)) return true;
  for (const w of WILDCARDS) if (listening.has(`${s.transport}|${w}|${s.localPort}`)) return true;
  return false;
}

/** Parents before children, then by pid: the same snapshot always gives the same event order. */
function byStart(a: ProcessInfo, b: ProcessInfo): number {
  return a.startMs - b.startMs || a.pid - b.pid;
}

function diffProcesses(prev: ReadonlyMap<string, ProcessInfo> | undefined, list: ProcessInfo[], stamp: Stamp, timeMs: number, events: Event[]): Map<string, ProcessInfo> {
  const next = new Map<string, ProcessInfo>();
  for (const p of list) next.set(processKey(p), p);
  // The first look is the baseline: processes already running did not start now (the inventory lists them).
  if (!prev) return next;
  const byPid = new Map<number, ProcessInfo>();
  for (const p of list) byPid.set(p.pid, p);
  const ended = [...prev.values()].filter((p) => !p.kernel && !next.has(processKey(p))).sort(byStart);
  for (const p of ended) events.push(processEvent(stamp, timeMs, 'ended', p, byPid.get(p.ppid)));
  const started = list.filter((p) => !p.kernel && !prev.has(processKey(p))).sort(byStart);
  for (const p of started) events.push(processEvent(stamp, timeMs, 'started', p, byPid.get(p.ppid)));
  for (const p of list) {
    const before = prev.get(processKey(p));
    if (before && !p.kernel && (before.executable !== p.executable || before.commandLine !== p.commandLine)) {
      events.push(processEvent(stamp, timeMs, 'exec', p, byPid.get(p.ppid)));
    }
  }
  return next;
}

function diffSockets(state: DiffState, sockets: SocketInfo[], stamp: Stamp, timeMs: number, events: Event[]): Pick<DiffState, 'listening' | 'connections'> {
  const listening = new Map<string, SocketInfo>();
  const connections = new Set<string>();
  const established: SocketInfo[] = [];
  for (const s of sockets) {
    if (s.state === 'LISTEN') listening.set(listenKey(s), s);
    else if (s.state === 'ESTABLISHED') {
      const k = connectionKey(s);
      if (!connections.has(k)) established.push(s);
      connections.add(k);
    }
  }
  if (state.listening) {
    for (const [k, s] of state.listening) if (!listening.has(k)) events.push(portEvent(stamp, timeMs, 'closed', s));
    for (const [k, s] of listening) if (!state.listening.has(k)) events.push(portEvent(stamp, timeMs, 'opened', s));
  }
  if (state.connections) {
    for (const s of established) {
      if (!state.connections.has(connectionKey(s))) events.push(connectionEvent(stamp, timeMs, s, toListener(s, listening)));
    }
  }
  return { listening, connections };
}

export function diff(state: DiffState, snap: Snapshot, stamp: Stamp): DiffResult {
  const events: Event[] = [];
  const next: DiffState = { ...state };
  let hostChanged = false;
  if (snap.processes) next.processes = diffProcesses(state.processes, snap.processes, stamp, snap.timeMs, events);
  if (snap.sockets) Object.assign(next, diffSockets(state, snap.sockets, stamp, snap.timeMs, events));
  if (snap.resources) {
    events.push(resourceEvent(stamp, snap.timeMs, snap.resources, state.resources));
    next.resources = snap.resources;
  }
  if (snap.host) {
    if (!state.host) hostChanged = true;
    else {
      const changed = hostChanges(state.host, snap.host);
      if (changed.length) {
        hostChanged = true;
        events.push(hostEvent(stamp, snap.timeMs, snap.host, changed));
      }
    }
    next.host = snap.host;
  }
  return { state: next, events, hostChanged };
}

/** The full inventory: one state event for the host, each process and each listening port. */
export function inventory(snap: Snapshot, stamp: Stamp): Event[] {
  const events: Event[] = [];
  if (snap.host) events.push(hostEvent(stamp, snap.timeMs, snap.host));
  if (snap.processes) {
    const byPid = new Map(snap.processes.map((p) => [p.pid, p]));
    for (const p of [...snap.processes].sort(byStart)) events.push(processEvent(stamp, snap.timeMs, 'inventory', p, byPid.get(p.ppid)));
  }
  if (snap.sockets) {
    const seen = new Set<string>();
    for (const s of snap.sockets) {
      if (s.state !== 'LISTEN' || seen.has(listenKey(s))) continue;
      seen.add(listenKey(s));
      events.push(portEvent(stamp, snap.timeMs, 'inventory', s));
    }
  }
  return events;
}
