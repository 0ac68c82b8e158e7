// The store's fast path: a batch of events as one COPY, and its network aggregates summed in Node.
// COPY hands Postgres each row's document as jsonb text once; the statement path (json_to_recordset) made it parse
// the batch as json and then every document again, which was most of the server's work per event.
import type { EventRow } from './core.js';

/** The events columns COPY writes, in the order copyText writes them. */
export const COPY_COLUMNS = ['id', 'ts', 'source_id', 'kind', 'category', 'action', 'outcome', 'host_name', 'agent_id', 'user_name',
  'source_ip', 'source_port', 'destination_ip', 'destination_port', 'process_name', 'message', 'tags', 'doc'] as const;

// COPY's CSV format with a tab between fields and the control character \x01 as its quote: an empty field is NULL, and
// a value is written as it is unless it holds a tab, a line break or \x01 (then it is quoted, its \x01s doubled), or is
// empty (then it is quoted). A document never needs either: JSON.stringify escapes every control character. NUL, which
// no Postgres text can hold, is dropped (as the statement path drops it).
export const COPY_OPTIONS = "(FORMAT csv, DELIMITER E'\\t', QUOTE E'\\x01')";
const QUOTE = '\x01';
const NEEDS_QUOTES = /[\t\n\r\x01\0]/;

function text(v: string | null | undefined): string {
  if (v == null) return '';
  if (v === '') return '\x01\x01';
  if (!NEEDS_QUOTES.test(v)) return v;
  const clean = v.includes('\0') ? v.replaceAll('\0', '') : v;
  return `${QUOTE}${clean.replaceAll(QUOTE, QUOTE + QUOTE)}${QUOTE}`;
}

const int = (v: number | null | undefined): string => (v == null ? '' : String(Math.trunc(v)));

/** A text[] literal: every element quoted, with its quotes and backslashes escaped. */
function textArray(values: readonly string[] | null | undefined): string {
  if (!values || values.length === 0) return '{}';
  let out = '{';
  for (let i = 0; i < values.length; i++) out += `${i ? ',' : ''}"${values[i]!.replace(/[\\"]/g, '\\$&')}"`;
  return text(`${out}}`);
}

/** A document as jsonb text; `\u0000`, which jsonb refuses, is dropped as pgJson drops it. */
function jsonText(doc: Record<string, unknown>): string {
  const s = JSON.stringify(doc);
  return s.includes('\\u0000') ? s.replace(/(?<!\\)((?:\\\\)*)\\u0000/g, '$1') : s;
}

/** The rows in COPY's CSV format (COPY_OPTIONS), one line each. */
export function copyText(rows: readonly EventRow[]): string {
  let out = '';
  for (const r of rows) {
    out += `${text(r.id)}\t${text(r.ts)}\t${text(r.source_id)}\t${text(r.kind)}\t${textArray(r.category)}\t${text(r.action)}\t${text(r.outcome)}\t`
      + `${text(r.host_name)}\t${text(r.agent_id)}\t${text(r.user_name)}\t${text(r.source_ip)}\t${int(r.source_port)}\t${text(r.destination_ip)}\t`
      + `${int(r.destination_port)}\t${text(r.process_name)}\t${text(r.message)}\t${textArray(r.tags)}\t${jsonText(r.doc)}\n`;
  }
  return out;
}

/** One network_flows row: a batch's connections of one hour between two addresses, from one source. */
export interface FlowSum {
  bucket: string;
  source_ip: string;
  destination_ip: string;
  source_id: string;
  connections: number;
  bytes: number;
  source_country: string | null;
  source_asn: number | null;
  destination_country: string | null;
  destination_asn: number | null;
  source_intel: boolean;
  destination_intel: boolean;
}

/** One network_hosts row: an address a host owns, seen in that hour. */
export interface HostAddress { bucket: string; address: string; host: string }

/** The UTC hour of an event time, as the aggregates' bucket. */
function hourOf(ts: string): string {
  const iso = ts.length >= 20 && ts.endsWith('Z') && ts[10] === 'T' ? ts : new Date(ts).toISOString();
  return `${iso.slice(0, 13)}:00:00Z`;
}

const larger = <T extends string | number>(a: T | null, b: T | null | undefined): T | null => (b == null ? a : a == null || b > a ? b : a);

/**
 * What a batch adds to the network map: its connections summed per hour, address pair and source (a batch of one
 * busy pair becomes one row), and the addresses its hosts own. The statement path sums the same in SQL.
 */
export function networkOf(rows: readonly EventRow[]): { flows: FlowSum[]; hosts: HostAddress[] } {
  const flows = new Map<string, FlowSum>();
  const hosts = new Map<string, HostAddress>();
  for (const r of rows) {
    const bucket = hourOf(r.ts);
    if (r.source_ip && r.destination_ip) {
      const key = `${bucket} ${r.source_ip} ${r.destination_ip} ${r.source_id}`;
      const f = flows.get(key);
      if (!f) {
        flows.set(key, {
          bucket, source_ip: r.source_ip, destination_ip: r.destination_ip, source_id: r.source_id, connections: 1, bytes: r.flow_bytes ?? 0,
          source_country: r.source_country ?? null, source_asn: r.source_asn ?? null, destination_country: r.destination_country ?? null,
          destination_asn: r.destination_asn ?? null, source_intel: r.source_intel ?? false, destination_intel: r.destination_intel ?? false,
        });
      } else {
        f.connections++;
        f.bytes += r.flow_bytes ?? 0;
        f.source_country = larger(f.source_country, r.source_country);
        f.source_asn = larger(f.source_asn, r.source_asn);
        f.destination_country = larger(f.destination_country, r.destination_country);
        f.destination_asn = larger(f.destination_asn, r.destination_asn);
        f.source_intel ||= r.source_intel ?? false;
        f.destination_intel ||= r.destination_intel ?? false;
      }
    }
    if (r.host_name) for (const address of r.host_addresses ?? []) hosts.set(`${bucket} ${address} ${r.host_name}`, { bucket, address, host: r.host_name });
  }
  return { flows: [...flows.values()], hosts: [...hosts.values()] };
}
