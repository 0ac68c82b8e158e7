// JSON records (ECS-shaped, nested or dotted, or flat key-value) to normalized events.
import { ValidationError } from '../../core/errors.js';
import { ecsField, setPath } from '../../core/ecs.js';
import { jsonProblem } from '../../core/untrusted.js';
import type { Event } from '../../core/proto.js';
import { guarded } from './guard.js';
import type { Parser } from './types.js';
import { normalizeHost, requireIp, requireNumber, requirePort, toUtc } from './util.js';
import { windowsFromEvtxJson, windowsFromWinlogbeat, windowsJsonShape } from './windows-json.js';

/** Common flat names and where they go in ECS. Applied to top-level keys only. */
const ALIAS_TABLE: Record<string, string> = {
  timestamp: '@timestamp', time: '@timestamp', ts: '@timestamp', date: '@timestamp', datetime: '@timestamp', eventtime: '@timestamp',
  host: 'host.name', hostname: 'host.name', computer: 'host.name',
  src_ip: 'source.ip', srcip: 'source.ip', src: 'source.ip', client_ip: 'source.ip', clientip: 'source.ip', remote_addr: 'source.ip', source_ip: 'source.ip',
  dst_ip: 'destination.ip', dstip: 'destination.ip', dst: 'destination.ip', dest_ip: 'destination.ip', destination_ip: 'destination.ip',
  src_port: 'source.port', sport: 'source.port', source_port: 'source.port',
  dst_port: 'destination.port', dport: 'destination.port', dest_port: 'destination.port', destination_port: 'destination.port',
  user: 'user.name', username: 'user.name', user_name: 'user.name',
  msg: 'message', log: 'message',
  action: 'event.action', outcome: 'event.outcome', category: 'event.category',
  method: 'http.request.method', url: 'url.original', uri: 'url.original',
  status: 'http.response.status_code', status_code: 'http.response.status_code',
  user_agent: 'user_agent.original', useragent: 'user_agent.original', ua: 'user_agent.original',
  process_name: 'process.name', pid: 'process.pid', command_line: 'process.command_line', cmdline: 'process.command_line',
  proto: 'network.transport', transport: 'network.transport',
};
// A Map, so keys such as 'constructor' or '__proto__' find nothing.
const ALIASES = new Map(Object.entries(ALIAS_TABLE));

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return `a ${typeof v}`;
}

/** Walks nested objects into dotted names; arrays and primitives are leaves. */
function flatten(obj: Record<string, unknown>, prefix: string, out: [string, unknown][]): void {
  for (const [k, v] of Object.entries(obj)) {
    const name = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flatten(v as Record<string, unknown>, name, out);
    else out.push([name, v]);
  }
}

/**
 * Sets a dotted name in `doc`. `doc` and every level created here have no prototype, so a key such as
 * "__proto__" from the record is plain data instead of reaching Object.prototype.
 */
function setNested(doc: Record<string, unknown>, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let o = doc;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i]!;
    const next = o[p];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) o[p] = Object.create(null);
    o = o[p] as Record<string, unknown>;
  }
  o[parts[parts.length - 1]!] = value;
}

function coerce(name: string, kind: string, value: unknown): unknown {
  if (name === '@timestamp') {
    const t = toUtc(value);
    if (!t) throw new ValidationError(`@timestamp: ${JSON.stringify(value).slice(0, 80)} is not a time`);
    return t;
  }
  switch (kind) {
    case 'ip': return requireIp(name, value);
    case 'ips': return (Array.isArray(value) ? value : [value]).map((v) => requireIp(name, v)).filter((v) => v !== undefined);
    case 'port': return requirePort(name, value);
    case 'number': return requireNumber(name, value);
    case 'strings': return (Array.isArray(value) ? value : [value]).filter((v) => v !== null && v !== undefined).map(String);
    case 'bool': return Boolean(value);
    default:
      if (Array.isArray(value)) return value.map(String).join(' ');
      if (value === null || value === undefined) return undefined;
      return name === 'host.name' ? normalizeHost(String(value)) : String(value);
  }
}

/** Maps an already-parsed JSON object to an Event; fields without an ECS home are kept in extra_json. */
export function jsonObjectToEvent(doc: Record<string, unknown>, record: string): Event {
  const e: Event = {};
  const extra: Record<string, unknown> = Object.create(null);
  let hasExtra = false;
  const leaves: [string, unknown][] = [];
  flatten(doc, '', leaves);
  for (const [key, value] of leaves) {
    let name = key;
    let f = ecsField(name);
    if (!f && !key.includes('.')) {
      const alias = ALIASES.get(key.toLowerCase());
      if (alias) { name = alias; f = ecsField(alias); }
    }
    if (f) {
      const v = coerce(name, f.kind, value);
      if (v !== undefined && v !== '') setPath(e, f.proto, v);
    } else if (key.startsWith('labels.') && (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')) {
      (e.labels ??= {})[key.slice(7)] = String(value);
    } else {
      setNested(extra, key, value);
      hasExtra = true;
    }
  }
  if (hasExtra) e.extra_json = JSON.stringify(extra);
  if (!e.raw) e.raw = record;
  e.event ??= {};
  if (!e.event.kind) e.event.kind = 'event';
  return e;
}

export const parseJson: Parser = guarded('json', (record) => {
  let doc: unknown;
  try {
    doc = JSON.parse(record);
  } catch (err) {
    throw new ValidationError(`invalid JSON: ${(err as Error).message}`);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ValidationError(`expected a JSON object, got ${describe(doc)}`);
  // Keys become object keys here and in every reader of the stored event; nesting bounds every recursive walk.
  const problem = jsonProblem(doc);
  if (problem) throw new ValidationError(problem);
  const obj = doc as Record<string, unknown>;
  // Windows events rendered as JSON get the same mapping as event XML.
  const windows = windowsJsonShape(obj);
  if (windows === 'evtx') return [windowsFromEvtxJson(obj, record)];
  if (windows === 'winlogbeat') {
    const { winlog: _winlog, ...rest } = obj;
    return [windowsFromWinlogbeat(obj, record, jsonObjectToEvent(rest, record))];
  }
  return [jsonObjectToEvent(obj, record)];
});
