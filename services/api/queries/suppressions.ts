// Suppressions: mute one rule for one entity until a time; the store counts the muted matches (hits).
import { randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import type { Db } from '../../core/db/index.js';
import { invalidateSuppressions, normalizeValue } from '../../store/suppressions.js';
import { ApiError, parseTime } from '../../core/http.js';
import { audit } from '../../core/audit.js';
import { durationMs, iso } from '../../core/time.js';

export const SUPPRESSION_FIELDS = ['host.name', 'user.name', 'source.ip'] as const;
export type SuppressionField = (typeof SUPPRESSION_FIELDS)[number];

export interface Suppression {
  id: string;
  ruleId: string;
  field: string;
  value: string;
  until: string;
  reason: string;
  createdBy: string;
  createdAt: string;
  hits: number;
  active: boolean;
}

export interface NewSuppression {
  ruleId: string;
  field: SuppressionField;
  value: string;
  /** An ISO time, or a duration from now (8h, 7d). */
  until: string;
  reason: string;
}

/** '8h' from now or an ISO time in the future. */
function untilTime(v: string, nowMs: number): Date {
  const d = durationMs(v);
  const t = d !== undefined ? new Date(nowMs + d) : parseTime('until', v, nowMs);
  if (t.getTime() <= nowMs) throw new ApiError(400, `until ${JSON.stringify(v)} is in the past`);
  return t;
}

export async function listSuppressions(db: Db, opts: { all?: boolean } = {}): Promise<Suppression[]> {
  let q = db.selectFrom('suppressions').selectAll();
  if (!opts.all) q = q.where('until', '>', new Date());
  const rows = await q.orderBy('created_at', 'desc').orderBy('id').execute();
  const now = Date.now();
  return rows.map((r) => ({
    id: r.id, ruleId: r.rule_id, field: r.field, value: r.value, until: iso(r.until)!, reason: r.reason,
    createdBy: r.created_by, createdAt: iso(r.created_at)!, hits: Number(r.hits), active: new Date(r.until).getTime() > now,
  }));
}

export async function createSuppression(db: Db, s: NewSuppression, actor: string, nowMs = Date.now()): Promise<Suppression> {
  if (!(SUPPRESSION_FIELDS as readonly string[]).includes(s.field)) throw new ApiError(400, `field ${JSON.stringify(s.field)}: expected one of ${SUPPRESSION_FIELDS.join(', ')}`);
  if (s.field === 'source.ip' && !isIP(s.value.trim())) throw new ApiError(400, `value ${JSON.stringify(s.value)}: expected an IP address for source.ip`);
  if (!s.value.trim()) throw new ApiError(400, 'value: the entity to mute must not be empty');
  if (!s.reason.trim()) throw new ApiError(400, 'reason: say why the rule is muted');
  const until = untilTime(s.until, nowMs);
  const row = {
    id: randomUUID(), rule_id: s.ruleId, field: s.field, value: normalizeValue(s.field, s.value), until, reason: s.reason.trim(), created_by: actor,
  };
  await db.transaction().execute(async (tx) => {
    await tx.insertInto('suppressions').values(row).execute();
    await audit(tx, actor, 'suppression.create', row.id, { ruleId: row.rule_id, field: row.field, value: row.value, until: until.toISOString(), reason: row.reason });
  });
  invalidateSuppressions(db);
  return {
    id: row.id, ruleId: row.rule_id, field: row.field, value: row.value, until: until.toISOString(), reason: row.reason,
    createdBy: actor, createdAt: new Date(nowMs).toISOString(), hits: 0, active: true,
  };
}

export async function deleteSuppression(db: Db, id: string, actor: string): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const row = await tx.deleteFrom('suppressions').where('id', '=', id).returningAll().executeTakeFirst();
    if (!row) throw new ApiError(404, `no suppression ${JSON.stringify(id)}`);
    await audit(tx, actor, 'suppression.delete', id, { ruleId: row.rule_id, field: row.field, value: row.value, hits: Number(row.hits) });
  });
  invalidateSuppressions(db);
}
