// Active alert suppressions, cached per database and refreshed every few seconds, for the alert path of the store.
import type { Db } from '../core/db/index.js';
import type { AlertRow } from './core.js';

export interface ActiveSuppression {
  id: string;
  ruleId: string;
  field: string;
  value: string;
  until: number;
}

const REFRESH_MS = 5000;
const caches = new WeakMap<Db, { loadedAt: number; list: ActiveSuppression[] }>();

/** Host and user names compare without case (they are stored lowercased); addresses as written. */
export function entityValue(row: Pick<AlertRow, 'host_name' | 'user_name' | 'source_ip'>, field: string): string | null {
  if (field === 'host.name') return row.host_name?.toLowerCase() ?? null;
  if (field === 'user.name') return row.user_name?.toLowerCase() ?? null;
  if (field === 'source.ip') return row.source_ip;
  return null;
}

export function normalizeValue(field: string, value: string): string {
  return field === 'source.ip' ? value.trim() : value.trim().toLowerCase();
}

/** The suppressions in force now; read from the table at most every REFRESH_MS per database. */
export async function activeSuppressions(db: Db, nowMs = Date.now()): Promise<ActiveSuppression[]> {
  const cached = caches.get(db);
  if (cached && nowMs - cached.loadedAt < REFRESH_MS) return cached.list.filter((s) => s.until > nowMs);
  const rows = await db.selectFrom('suppressions').select(['id', 'rule_id', 'field', 'value', 'until'])
    .where('until', '>', new Date(nowMs)).execute();
  const list = rows.map((r) => ({ id: r.id, ruleId: r.rule_id, field: r.field, value: normalizeValue(r.field, r.value), until: new Date(r.until).getTime() }));
  caches.set(db, { loadedAt: nowMs, list });
  return list;
}

/** Makes the next check read the table again (after the API adds or removes a suppression in this process). */
export function invalidateSuppressions(db: Db): void {
  caches.delete(db);
}

/** The suppression that mutes this alert, if any. */
export function suppressedBy(list: readonly ActiveSuppression[], row: AlertRow, nowMs = Date.now()): ActiveSuppression | undefined {
  return list.find((s) => s.ruleId === row.rule_id && s.until > nowMs && entityValue(row, s.field) === s.value);
}
