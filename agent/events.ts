// Builds normalized events (proto Event with ECS names) from what the collectors saw; no I/O.
import type { minisoc } from '../services/core/proto.js';
import type { Event } from '../services/core/proto.js';
import type { HostFacts, ProcessInfo, ResourceSample, SocketInfo } from './snapshot.js';

/** Who reports: stamped on every event, so each one stands alone downstream. */
export interface Stamp {
  agentId: string;
  version: string;
  hostName: string;
}

export const AGENT_TYPE = 'soc-agent';

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

function base(stamp: Stamp, timeMs: number, kind: string, category: string, type: string[], action: string, message: string): Event {
  return {
    timestamp: rfc3339(timeMs),
    event: { kind, category: [category], type, action, module: 'agent', dataset: `agent.${category}` },
    host: { name: stamp.hostName, hostname: stamp.hostName },
    agent: { id: stamp.agentId, type: AGENT_TYPE, version: stamp.version },
    message,
  };
}

/** Stable across pid reuse: the pid alone is not. */
export function entityId(stamp: Stamp, pid: number, startMs: number): string {
  return `${stamp.agentId}:${pid}:${startMs}`;
}

function processFields(stamp: Stamp, p: ProcessInfo, parent: ProcessInfo | undefined): minisoc.IProcess {
  return {
    pid: p.pid, name: p.name, executable: p.executable, command_line: p.commandLine, args: p.args,
    start: rfc3339(p.startMs), entity_id: entityId(stamp, p.pid, p.startMs), user_name: p.user,
    cpu_pct: p.cpu, memory_rss: p.memoryRss,
    parent: parent
      ? { pid: parent.pid, name: parent.name, executable: parent.executable, command_line: parent.commandLine, entity_id: entityId(stamp, parent.pid, parent.startMs) }
      : { pid: p.ppid },
  };
}

export type ProcessChange = 'started' | 'ended' | 'exec' | 'inventory';

const PROCESS_META: Record<ProcessChange, { kind: string; type: string[]; action: string }> = {
  started: { kind: 'event', type: ['start'], action: 'process-started' },
  ended: { kind: 'event', type: ['end'], action: 'process-ended' },
  exec: { kind: 'event', type: ['change'], action: 'process-exec' },
  inventory: { kind: 'state', type: ['info'], action: 'process-inventory' },
};

export function processEvent(stamp: Stamp, timeMs: number, change: ProcessChange, p: ProcessInfo, parent?: ProcessInfo): Event {
  const m = PROCESS_META[change];
  const e = base(stamp, timeMs, m.kind, 'process', m.type, m.action, `process ${change}: ${p.name} (pid ${p.pid}, user ${p.user})`);
  e.process = processFields(stamp, p, parent);
  e.user = { name: p.user };
  return e;
}

export type PortChange = 'opened' | 'closed' | 'inventory';

const PORT_META: Record<PortChange, { kind: string; type: string[]; action: string }> = {
  opened: { kind: 'event', type: ['start'], action: 'port-opened' },
  closed: { kind: 'event', type: ['end'], action: 'port-closed' },
  inventory: { kind: 'state', type: ['info'], action: 'port-inventory' },
};

/** A listening socket: its address is where connections go, so it is the destination. */
export function portEvent(stamp: Stamp, timeMs: number, change: PortChange, s: SocketInfo): Event {
  const m = PORT_META[change];
  const who = s.processName ? ` by ${s.processName} (pid ${s.pid})` : '';
  const e = base(stamp, timeMs, m.kind, 'network', m.type, m.action, `${s.transport} port ${s.localPort} on ${s.localIp} ${change === 'inventory' ? 'listening' : change}${who}`);
  e.network = { transport: s.transport, type: s.type, state: change === 'closed' ? 'CLOSED' : s.state };
  e.destination = { ip: s.localIp, port: s.localPort };
  if (s.pid || s.processName) e.process = { pid: s.pid, name: s.processName };
  return e;
}

export type Direction = 'inbound' | 'outbound' | 'internal';

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

/**
 * A new established connection. Inbound when the local end is a listening port: then the peer is the
 * source. Both ends on this host (loopback) is internal.
 */
export function connectionEvent(stamp: Stamp, timeMs: number, s: SocketInfo, toListeningPort: boolean): Event {
  const direction: Direction = isLoopback(s.remoteIp) ? 'internal' : toListeningPort ? 'inbound' : 'outbound';
  const local = { ip: s.localIp, port: s.localPort };
  const remote = { ip: s.remoteIp, port: s.remotePort };
  const [source, destination] = toListeningPort ? [remote, local] : [local, remote];
  const who = s.processName ? ` (${s.processName}, pid ${s.pid})` : '';
  const e = base(stamp, timeMs, 'event', 'network', ['connection', 'start'], 'connection-opened',
    `${direction} ${s.transport} connection ${source.ip}:${source.port} -> ${destination.ip}:${destination.port}${who}`);
  e.network = { transport: s.transport, type: s.type, direction, state: s.state };
  e.source = source;
  e.destination = destination;
  if (s.pid || s.processName) e.process = { pid: s.pid, name: s.processName };
  return e;
}

/** Network bytes are since the previous sample; absent on the first one. */
export function resourceEvent(stamp: Stamp, timeMs: number, r: ResourceSample, prev?: ResourceSample): Event {
  const e = base(stamp, timeMs, 'metric', 'host', ['info'], 'resource-sample',
    `cpu ${(r.cpuUsage * 100).toFixed(1)} %, memory ${(r.memoryTotal ? (r.memoryUsed / r.memoryTotal) * 100 : 0).toFixed(1)} %, disk ${(r.diskUsage * 100).toFixed(1)} % (${r.diskMount || '-'})`);
  e.host = {
    ...e.host, cpu_usage: r.cpuUsage, memory_total: r.memoryTotal, memory_used: r.memoryUsed, disk_usage: r.diskUsage,
  };
  if (prev) {
    // A counter that went down was reset (interface gone, wrapped): the bytes of this sample are unknown.
    e.host.network_ingress_bytes = r.networkRxBytes >= prev.networkRxBytes ? r.networkRxBytes - prev.networkRxBytes : 0;
    e.host.network_egress_bytes = r.networkTxBytes >= prev.networkTxBytes ? r.networkTxBytes - prev.networkTxBytes : 0;
  }
  if (r.diskMount) e.labels = { disk_mount: r.diskMount };
  return e;
}

export function hostProto(h: HostFacts): minisoc.IHost {
  return {
    name: h.hostname, hostname: h.hostname, id: h.id, ip: h.ips, mac: h.macs, os_name: h.osName, os_family: h.osFamily,
    os_version: h.osVersion, os_kernel: h.kernel, architecture: h.architecture,
  };
}

/** The names of the host facts that differ, in a stable order. */
export function hostChanges(prev: HostFacts, next: HostFacts): string[] {
  return (Object.keys(next) as (keyof HostFacts)[]).filter((k) => JSON.stringify(prev[k]) !== JSON.stringify(next[k]));
}

export function hostEvent(stamp: Stamp, timeMs: number, h: HostFacts, changed?: string[]): Event {
  const e = changed
    ? base(stamp, timeMs, 'event', 'host', ['change'], 'host-changed', `host facts changed: ${changed.join(', ')}`)
    : base(stamp, timeMs, 'state', 'host', ['info'], 'host-inventory', `${h.hostname}: ${h.osName} ${h.osVersion}, kernel ${h.kernel}, ${h.ips.join(' ')}`);
  e.host = hostProto(h);
  return e;
}
