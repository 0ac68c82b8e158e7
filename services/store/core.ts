// The store core: events, alerts and dead letters to the rows the database takes, without I/O.
import { toEcs } from '../core/ecs.js';
import type { EventsTable } from '../core/db/schema.js';
import type { Alert, DeadLetter, Event } from '../core/proto.js';

/**
 * An events row as the store writes it: the table's columns, with the time as text and the document as an object,
 * plus what the network map keeps per connection (tables network_flows and network_hosts), not stored in events.
 */
export type EventRow = Omit<EventsTable, 'ts' | 'doc' | 'ingested_at'> & {
  ts: string;
  doc: Record<string, unknown>;
  /** Absent counts as none. */
  flow_bytes?: number;
  source_country?: string | null;
  source_asn?: number | null;
  destination_country?: string | null;
  destination_asn?: number | null;
  source_intel?: boolean;
  destination_intel?: boolean;
  /** Addresses of the event that are its host's own (in host.ip): table network_hosts. */
  host_addresses?: string[];
};

const orNull = (v: string | null | undefined): string | null => (v ? v : null);
const portOrNull = (v: number | null | undefined): number | null => (v ? v : null);

type Side = Event['source'];
const country = (s: Side): string | null => orNull(s?.geo?.country_iso_code) ?? orNull(s?.geo?.country_name);
const asn = (s: Side): number | null => (s?.as?.number ? s.as.number : null);
const bytesOf = (s: Side): number => (s?.bytes == null ? 0 : Number(s.bytes));

export function eventRow(e: Event): EventRow {
  const sip = orNull(e.source?.ip), dip = orNull(e.destination?.ip);
  const indicated = new Set((e.threat?.indicators ?? []).map((i) => i.value).filter(Boolean));
  const own = new Set(e.host?.ip ?? []);
  return {
    id: e.id!,
    ts: e.timestamp!,
    source_id: e.source_id ?? '',
    kind: orNull(e.event?.kind),
    category: e.event?.category ?? [],
    action: orNull(e.event?.action),
    outcome: orNull(e.event?.outcome),
    host_name: orNull(e.host?.name),
    agent_id: orNull(e.agent?.id),
    user_name: orNull(e.user?.name),
    source_ip: orNull(e.source?.ip),
    source_port: portOrNull(e.source?.port),
    destination_ip: orNull(e.destination?.ip),
    destination_port: portOrNull(e.destination?.port),
    process_name: orNull(e.process?.name),
    message: orNull(e.message),
    tags: e.tags ?? [],
    doc: toEcs(e),
    flow_bytes: bytesOf(e.source) + bytesOf(e.destination),
    source_country: country(e.source),
    source_asn: asn(e.source),
    destination_country: country(e.destination),
    destination_asn: asn(e.destination),
    source_intel: sip !== null && indicated.has(sip),
    destination_intel: dip !== null && indicated.has(dip),
    host_addresses: e.host?.name ? [sip, dip].filter((ip): ip is string => ip !== null && own.has(ip)) : [],
  };
}

/** UTC days (YYYY-MM-DD) the rows fall on: the partitions they need. */
export function daysOf(rows: { ts: string }[]): Set<string> {
  const days = new Set<string>();
  // Normalized timestamps are RFC 3339 in UTC already; only other spellings need a Date.
  for (const r of rows) days.add(r.ts.length >= 20 && r.ts.endsWith('Z') && r.ts[10] === 'T' ? r.ts.slice(0, 10) : new Date(r.ts).toISOString().slice(0, 10));
  return days;
}

export interface AlertRow {
  match_id: string;
  id: string;
  dedup_key: string;
  rule_id: string;
  rule_title: string;
  level: string;
  score: number;
  count: number;
  first_seen: string;
  last_seen: string;
  techniques: string[];
  tactics: string[];
  tags: string[];
  event_ids: string[];
  host_name: string | null;
  user_name: string | null;
  source_ip: string | null;
  destination_ip: string | null;
  agent_id: string | null;
  source_id: string | null;
  description: string | null;
  doc: Record<string, unknown>;
}

export function alertRow(a: Alert, matchId: string): AlertRow {
  const techniques = a.techniques ?? [];
  return {
    match_id: matchId,
    id: a.id!,
    dedup_key: a.dedup_key || a.id!,
    rule_id: a.rule_id ?? '',
    rule_title: a.rule_title ?? '',
    level: a.level || 'medium',
    score: a.score ?? 0,
    count: a.count || 1,
    first_seen: a.first_seen || a.timestamp!,
    last_seen: a.timestamp!,
    techniques: techniques.map((t) => t.id ?? '').filter(Boolean),
    tactics: [...new Set(techniques.flatMap((t) => t.tactics ?? []))],
    tags: a.tags ?? [],
    event_ids: a.event_ids ?? [],
    host_name: orNull(a.host_name),
    user_name: orNull(a.user_name),
    source_ip: orNull(a.source_ip),
    destination_ip: orNull(a.destination_ip),
    agent_id: orNull(a.agent_id),
    source_id: orNull(a.source_id),
    description: orNull(a.description),
    doc: { techniques, entities: a.entities ?? {}, closes: a.closes ?? false, rule_author: a.rule_author ?? '', rule_references: a.rule_references ?? [] },
  };
}

export interface DeadLetterRow {
  id: string;
  stage: string;
  stream: string;
  subject: string;
  sequence: string;
  record_index: number;
  source_id: string | null;
  error: string;
  payload: string;
  failed_at: string;
}

/** Dead letters are keyed by where they came from, so a redelivered one is stored once. */
export function deadLetterRow(d: DeadLetter): DeadLetterRow {
  return {
    id: `${d.stage}:${d.stream}:${d.sequence}:${d.record_index}`,
    stage: d.stage ?? '',
    stream: d.stream ?? '',
    subject: d.subject ?? '',
    sequence: String(d.sequence ?? 0),
    record_index: d.record_index ?? -1,
    source_id: orNull(d.source_id),
    error: d.error ?? '',
    payload: Buffer.from(d.payload ?? new Uint8Array()).toString('base64'),
    failed_at: new Date(Number(d.failed_ms) || Date.now()).toISOString(),
  };
}
