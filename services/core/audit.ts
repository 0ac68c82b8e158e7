// The audit log: who did what to which target, written by every part that changes state.
import type { Db } from './db/index.js';

export async function audit(db: Db, actor: string, action: string, target: string | null, detail: unknown): Promise<void> {
  await db.insertInto('audit_log').values({ actor, action, target, detail: JSON.stringify(detail ?? {}) }).execute();
}

/** One row per target in one statement: a change made to many targets at once is in the history of each. */
export async function auditEach(db: Db, actor: string, action: string, rows: readonly { target: string; detail: unknown }[]): Promise<void> {
  if (rows.length === 0) return;
  await db.insertInto('audit_log').values(rows.map((r) => ({ actor, action, target: r.target, detail: JSON.stringify(r.detail ?? {}) }))).execute();
}
