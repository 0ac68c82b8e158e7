// The audit log: who did what to which target, written by every part that changes state.
import type { Db } from './db/index.js';

export async function audit(db: Db, actor: string, action: string, target: string | null, detail: unknown): Promise<void> {
  await db.insertInto('audit_log').values({ actor, action, target, detail: JSON.stringify(detail ?? {}) }).execute();
}
