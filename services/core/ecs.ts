// The one table between ECS field names and the protobuf Event, with accessors built from it.
import type { Event } from './proto.js';

export type FieldKind = 'string' | 'number' | 'strings' | 'ip' | 'ips' | 'port' | 'bool';

/**
 * Every ECS field the Event message carries: [ECS name, path inside the Event message, kind].
 * The proto flattens a few ECS levels (host.os.name -> host.os_name); everything else mirrors ECS.
 */
export const ECS_FIELDS: readonly (readonly [string, string, FieldKind])[] = [
  ['@timestamp', 'timestamp', 'string'],
  ['event.id', 'id', 'string'],
  ['event.kind', 'event.kind', 'string'],
  ['event.category', 'event.category', 'strings'],
  ['event.type', 'event.type', 'strings'],
  ['event.action', 'event.action', 'string'],
  ['event.outcome', 'event.outcome', 'string'],
  ['event.dataset', 'event.dataset', 'string'],
  ['event.module', 'event.module', 'string'],
  ['event.code', 'event.code', 'string'],
  ['event.severity', 'event.severity', 'number'],
  ['event.provider', 'event.provider', 'string'],
  ['event.duration', 'event.duration_ns', 'number'],
  ['event.risk_score', 'event.risk_score', 'number'],
  ['event.original', 'raw', 'string'],
  ['event.ingested', 'ingested', 'string'],
  ['message', 'message', 'string'],
  ['tags', 'tags', 'strings'],
  ['host.name', 'host.name', 'string'],
  ['host.hostname', 'host.hostname', 'string'],
  ['host.id', 'host.id', 'string'],
  ['host.ip', 'host.ip', 'ips'],
  ['host.mac', 'host.mac', 'strings'],
  ['host.os.name', 'host.os_name', 'string'],
  ['host.os.family', 'host.os_family', 'string'],
  ['host.os.version', 'host.os_version', 'string'],
  ['host.os.kernel', 'host.os_kernel', 'string'],
  ['host.architecture', 'host.architecture', 'string'],
  ['host.cpu.usage', 'host.cpu_usage', 'number'],
  ['host.memory.total', 'host.memory_total', 'number'],
  ['host.memory.used', 'host.memory_used', 'number'],
  ['host.disk.usage', 'host.disk_usage', 'number'],
  ['host.network.ingress.bytes', 'host.network_ingress_bytes', 'number'],
  ['host.network.egress.bytes', 'host.network_egress_bytes', 'number'],
  ['agent.id', 'agent.id', 'string'],
  ['agent.name', 'agent.name', 'string'],
  ['agent.type', 'agent.type', 'string'],
  ['agent.version', 'agent.version', 'string'],
  ['observer.hostname', 'observer.hostname', 'string'],
  ['observer.type', 'observer.type', 'string'],
  ['observer.vendor', 'observer.vendor', 'string'],
  ['observer.product', 'observer.product', 'string'],
  ['process.pid', 'process.pid', 'number'],
  ['process.name', 'process.name', 'string'],
  ['process.executable', 'process.executable', 'string'],
  ['process.command_line', 'process.command_line', 'string'],
  ['process.args', 'process.args', 'strings'],
  ['process.start', 'process.start', 'string'],
  ['process.working_directory', 'process.working_directory', 'string'],
  ['process.entity_id', 'process.entity_id', 'string'],
  ['process.user.name', 'process.user_name', 'string'],
  ['process.cpu.pct', 'process.cpu_pct', 'number'],
  ['process.memory.rss', 'process.memory_rss', 'number'],
  ['process.exit_code', 'process.exit_code', 'number'],
  ['process.hash.md5', 'process.hash_md5', 'string'],
  ['process.hash.sha1', 'process.hash_sha1', 'string'],
  ['process.hash.sha256', 'process.hash_sha256', 'string'],
  ['process.integrity_level', 'process.integrity_level', 'string'],
  ['process.pe.original_file_name', 'process.pe_original_file_name', 'string'],
  ['process.pe.company', 'process.pe_company', 'string'],
  ['process.pe.description', 'process.pe_description', 'string'],
  ['process.pe.product', 'process.pe_product', 'string'],
  ['process.parent.pid', 'process.parent.pid', 'number'],
  ['process.parent.name', 'process.parent.name', 'string'],
  ['process.parent.executable', 'process.parent.executable', 'string'],
  ['process.parent.command_line', 'process.parent.command_line', 'string'],
  ['process.parent.entity_id', 'process.parent.entity_id', 'string'],
  ['network.transport', 'network.transport', 'string'],
  ['network.protocol', 'network.protocol', 'string'],
  ['network.direction', 'network.direction', 'string'],
  ['network.type', 'network.type', 'string'],
  ['network.bytes', 'network.bytes', 'number'],
  ['network.community_id', 'network.community_id', 'string'],
  ['network.state', 'network.state', 'string'],
  ['user.name', 'user.name', 'string'],
  ['user.domain', 'user.domain', 'string'],
  ['user.id', 'user.id', 'string'],
  ['user.email', 'user.email', 'string'],
  ['user.target.name', 'user.target.name', 'string'],
  ['user.target.domain', 'user.target.domain', 'string'],
  ['user.target.id', 'user.target.id', 'string'],
  ['url.original', 'url.original', 'string'],
  ['url.path', 'url.path', 'string'],
  ['url.query', 'url.query', 'string'],
  ['url.domain', 'url.domain', 'string'],
  ['url.scheme', 'url.scheme', 'string'],
  ['url.port', 'url.port', 'port'],
  ['http.request.method', 'http.request_method', 'string'],
  ['http.request.referrer', 'http.request_referrer', 'string'],
  ['http.request.bytes', 'http.request_bytes', 'number'],
  ['http.response.status_code', 'http.response_status_code', 'number'],
  ['http.response.bytes', 'http.response_bytes', 'number'],
  ['http.version', 'http.version', 'string'],
  ['user_agent.original', 'user_agent.original', 'string'],
  ['file.path', 'file.path', 'string'],
  ['file.name', 'file.name', 'string'],
  ['file.directory', 'file.directory', 'string'],
  ['file.extension', 'file.extension', 'string'],
  ['file.size', 'file.size', 'number'],
  ['file.created', 'file.created', 'string'],
  ['file.hash.md5', 'file.hash_md5', 'string'],
  ['file.hash.sha1', 'file.hash_sha1', 'string'],
  ['file.hash.sha256', 'file.hash_sha256', 'string'],
  ['registry.path', 'registry.path', 'string'],
  ['registry.key', 'registry.key', 'string'],
  ['registry.value', 'registry.value', 'string'],
  ['registry.hive', 'registry.hive', 'string'],
  ['registry.data.strings', 'registry.data_strings', 'string'],
  ['registry.data.type', 'registry.data_type', 'string'],
  ['dns.question.name', 'dns.question_name', 'string'],
  ['dns.question.type', 'dns.question_type', 'string'],
  ['dns.resolved_ip', 'dns.resolved_ip', 'ips'],
  ['dns.response_code', 'dns.response_code', 'string'],
  ...(['source', 'destination'] as const).flatMap((side) => [
    [`${side}.ip`, `${side}.ip`, 'ip'],
    [`${side}.port`, `${side}.port`, 'port'],
    [`${side}.address`, `${side}.address`, 'string'],
    [`${side}.domain`, `${side}.domain`, 'string'],
    [`${side}.mac`, `${side}.mac`, 'string'],
    [`${side}.bytes`, `${side}.bytes`, 'number'],
    [`${side}.packets`, `${side}.packets`, 'number'],
    [`${side}.geo.country_iso_code`, `${side}.geo.country_iso_code`, 'string'],
    [`${side}.geo.country_name`, `${side}.geo.country_name`, 'string'],
    [`${side}.geo.city_name`, `${side}.geo.city_name`, 'string'],
    [`${side}.geo.region_name`, `${side}.geo.region_name`, 'string'],
    [`${side}.geo.location.lat`, `${side}.geo.lat`, 'number'],
    [`${side}.geo.location.lon`, `${side}.geo.lon`, 'number'],
    [`${side}.as.number`, `${side}.as.number`, 'number'],
    [`${side}.as.organization.name`, `${side}.as.organization_name`, 'string'],
  ] as const),
];

/**
 * Numeric fields where zero is a real value (exit code 0, 0 bytes, latitude 0, syslog severity 0).
 * They are `optional` in proto/minisoc.proto, so a decoded event tells "absent" (null) from 0;
 * every other number follows proto3 and 0 means absent.
 */
export const ZERO_IS_A_VALUE: ReadonlySet<string> = new Set([
  'event.severity', 'event.duration', 'event.risk_score',
  'host.cpu.usage', 'host.memory.total', 'host.memory.used', 'host.disk.usage', 'host.network.ingress.bytes', 'host.network.egress.bytes',
  'process.pid', 'process.cpu.pct', 'process.memory.rss', 'process.exit_code', 'process.parent.pid',
  'network.bytes', 'http.response.bytes', 'http.request.bytes', 'file.size',
  ...['source', 'destination'].flatMap((s) => [`${s}.bytes`, `${s}.packets`, `${s}.geo.location.lat`, `${s}.geo.location.lon`]),
]);

const byEcs = new Map(ECS_FIELDS.map(([ecs, proto, kind]) => [ecs, { proto, kind }]));

/** The Event path and kind of an ECS field, or undefined when the Event has no typed home for it. */
export function ecsField(name: string): { proto: string; kind: FieldKind } | undefined {
  return byEcs.get(name);
}

type Getter = (e: Event) => unknown;
const getters = new Map<string, Getter>();

/**
 * A fast accessor for an ECS field of an Event (compiled once per name). Fields without a typed home
 * are looked up in labels, then in the extra JSON (winlog.event_data.* and the like).
 */
export function fieldGetter(name: string): Getter {
  let g = getters.get(name);
  if (g) return g;
  const f = byEcs.get(name);
  if (f) {
    const parts = f.proto.split('.');
    g = (e) => {
      let v: unknown = e;
      for (const p of parts) {
        if (v == null) return undefined;
        v = (v as Record<string, unknown>)[p];
      }
      return v;
    };
  } else if (name.startsWith('labels.')) {
    const key = name.slice(7);
    g = (e) => e.labels?.[key];
  } else if (name === 'threat.indicator.value' || name === 'threat.indicator.type' || name === 'threat.indicator.feed') {
    const key = name.slice(17) as 'value' | 'type' | 'feed';
    g = (e) => e.threat?.indicators?.map((i) => i[key]);
  } else {
    const parts = name.split('.');
    g = (e) => {
      const extra = extraOf(e);
      if (!extra) return undefined;
      if (Object.hasOwn(extra, name)) return extra[name];
      // Own properties only: a rule naming "constructor" must not read Object from the prototype.
      let v: unknown = extra;
      for (const p of parts) {
        if (v == null || typeof v !== 'object' || !Object.hasOwn(v, p)) return undefined;
        v = (v as Record<string, unknown>)[p];
      }
      return v;
    };
  }
  getters.set(name, g);
  return g;
}

const extraCache = new WeakMap<Event, Record<string, unknown> | null>();

/** The parsed extra_json of an event (parsed once per event object). */
export function extraOf(e: Event): Record<string, unknown> | null {
  if (!e.extra_json) return null;
  let v = extraCache.get(e);
  if (v === undefined) {
    try {
      const parsed: unknown = JSON.parse(e.extra_json);
      v = parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : null;
    } catch {
      v = null;
    }
    extraCache.set(e, v);
  }
  return v;
}

/** Sets an Event field by its proto path, creating the nested messages on the way. */
const pathParts = new Map<string, string[]>();

export function setPath(e: Event, protoPath: string, value: unknown): void {
  let parts = pathParts.get(protoPath);
  if (!parts) { parts = protoPath.split('.'); pathParts.set(protoPath, parts); }
  let o = e as Record<string, unknown>;
  for (let i = 0; i < parts.length - 1; i++) {
    const p = parts[i]!;
    let next = o[p] as Record<string, unknown> | undefined | null;
    if (next == null) { next = {}; o[p] = next; }
    o = next;
  }
  o[parts[parts.length - 1]!] = value;
}

/**
 * Builds the ECS document of the typed fields as straight-line code generated once from ECS_FIELDS:
 * this runs for every stored event, and a loop of getters and dotted-path setters cost several times more.
 * Empty strings and proto3 default zeros are left out; zeros of ZERO_IS_A_VALUE fields are kept.
 */
const typedToEcs = ((): ((e: Event) => Record<string, unknown>) => {
  const lines = ['const doc = {}; let v;'];
  for (const [ecs, proto, kind] of ECS_FIELDS) {
    const read = 'e' + proto.split('.').map((p) => `?.[${JSON.stringify(p)}]`).join('');
    const parts = ecs.split('.');
    let target = 'doc';
    for (const p of parts.slice(0, -1)) target = `(${target}[${JSON.stringify(p)}] ??= {})`;
    const present = kind === 'strings' || kind === 'ips' ? 'v != null && v.length > 0'
      : ZERO_IS_A_VALUE.has(ecs) ? 'v != null' : "v != null && v !== '' && v !== 0";
    lines.push(`v = ${read}; if (${present}) ${target}[${JSON.stringify(parts[parts.length - 1])}] = v;`);
  }
  lines.push('return doc;');
  return new Function('e', lines.join('\n')) as (e: Event) => Record<string, unknown>;
})();

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Adds the keys of `from` that `to` lacks, descending into objects both have. Only own properties count
 * and keys are defined, never assigned, so a key such as "__proto__" in `from` (extra_json is parsed
 * input) becomes plain data in `to` instead of reaching Object.prototype.
 */
export function mergeMissing(to: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const k of Object.keys(from)) {
    const v = from[k];
    const have = Object.hasOwn(to, k) ? to[k] : undefined;
    if (have === undefined) Object.defineProperty(to, k, { value: v, enumerable: true, writable: true, configurable: true });
    else if (isPlainObject(have) && isPlainObject(v)) mergeMissing(have, v);
  }
}

/** The event as a nested ECS document (for storage, the API and exports). */
export function toEcs(e: Event): Record<string, unknown> {
  const doc = typedToEcs(e);
  const labels = e.labels && Object.keys(e.labels).length ? { ...e.labels } : undefined;
  if (e.source_id || labels) doc.labels = { ...(e.source_id ? { source_id: e.source_id } : {}), ...labels };
  if (e.threat?.indicators?.length) {
    doc.threat = {
      indicator: e.threat.indicators.map((i) => ({
        type: i.type, value: i.value, provider: i.feed, confidence: i.confidence, description: i.description, matched_field: i.field,
      })),
    };
  }
  const extra = extraOf(e);
  if (extra) mergeMissing(doc, extra);
  return doc;
}
