// Entities (an address, host, user, process or rule) as the dashboard names them: the path of their timeline.
import { query, type EntityKind } from './api';

/** Every kind the server knows, with its label: keyed by the server's type, so a kind added there fails svelte-check here. */
export const KIND_LABELS: Record<EntityKind, string> = { ip: 'address', host: 'host', user: 'user', process: 'process', rule: 'rule' };
export const KINDS = Object.keys(KIND_LABELS) as EntityKind[];

/** A timeline window: since and until as the API takes them (an ISO time or a duration before now). */
export interface Range { since?: string; until?: string }

export function timelinePath(kind: EntityKind, value: string, range: Range = {}): string {
  return `/timeline/${kind}/${encodeURIComponent(value)}${query({ since: range.since, until: range.until })}`;
}

/** The entity of a /timeline/<kind>/<value> path (the value URL-encoded, or not, as typed); null on /timeline itself. */
export function entityOfPath(path: string): { kind: string; value: string } | null {
  const rest = path.replace(/^\/timeline\/?/, '');
  const at = rest.indexOf('/');
  if (at <= 0 || at === rest.length - 1) return null;
  const raw = rest.slice(at + 1);
  let value = raw;
  try { value = decodeURIComponent(raw); } catch { /* a stray % stays as typed: the server says what is wrong */ }
  return { kind: rest.slice(0, at), value };
}
