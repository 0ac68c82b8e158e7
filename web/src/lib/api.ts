// The HTTP API as the dashboard uses it: typed items of the shared contract and one fetch wrapper. The item
// types come from the server's TypeBox schemas (services/api/types.ts), so a change there fails svelte-check here.
import type { AgentT, AuditItemT, CommandT, EntityKindT, EventItemT, FilterPreviewT, GraphEdgeT, GraphNodeT, IncidentT, RuleItemT, SavedFilterT, StatsT, TimelineItemT, TimelineT, UserItemT } from '../../../services/api/types';

export type Role = 'viewer' | 'analyst' | 'admin';
export interface User { name: string; role: Role }

export type Incident = IncidentT;

/** `malicious` is set by the dashboard on live events. */
export type EventItem = Omit<EventItemT, 'doc'> & { doc?: Record<string, unknown>; malicious?: boolean };

export type Agent = AgentT;
export type Command = CommandT;

export type Rule = RuleItemT;

/** The Sigma filter proposed for a false positive, and the answer to saving one. */
export type FilterPreview = FilterPreviewT;
export type SavedFilter = SavedFilterT;

export type NetNode = GraphNodeT;
export type NetEdge = GraphEdgeT;

export type Stats = StatsT;

/** An investigation timeline (GET /api/timeline): one entity's events and alerts, and its neighbours. */
export type Timeline = TimelineT;
export type TimelineItem = TimelineItemT;
export type EntityKind = EntityKindT;

export interface Page<T> { items: T[]; nextCursor: string | null }

export type UserItem = Omit<UserItemT, 'role'> & { role: Role };
export type AuditItem = AuditItemT;

export class ApiError extends Error {
  constructor(readonly status: number, message: string) { super(message); }
}

/** Called when the server says the session is gone, so the app can show the login page. */
let onUnauthorized: () => void = () => undefined;
export function whenUnauthorized(f: () => void): void { onUnauthorized = f; }

export async function api<T>(path: string, init: { method?: string; body?: unknown } = {}): Promise<T> {
  const res = await fetch(path, {
    method: init.method ?? 'GET',
    credentials: 'same-origin',
    // The server refuses state-changing requests without this header: a page of another origin cannot send it (CSRF).
    headers: init.body === undefined ? { 'x-minisoc-request': '1' } : { 'content-type': 'application/json', 'x-minisoc-request': '1' },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  let data: unknown = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    if (res.status === 401 && path !== '/api/login') onUnauthorized();
    const message = (data as { message?: string } | null)?.message ?? `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, message);
  }
  return data as T;
}

/** A query string of the non-empty values (repeated keys for arrays). */
export function query(params: Record<string, string | number | string[] | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    for (const one of Array.isArray(v) ? v : [v]) if (one !== '') q.append(k, String(one));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}
