// HTTP ingest sources: each has a declared format and one API token (only its hash is stored), created and revoked by the CLI.
import type { Db } from '../core/db/index.js';
import { ValidationError } from '../core/errors.js';
import { checkToken } from '../core/topology.js';
import { BODY_FORMATS, type BodyFormat } from './core.js';
import { iso } from '../core/time.js';
import { hashToken, newToken } from '../core/tokens.js';
import { SOURCE_KINDS, isSourceKind, type SourceKind } from '../core/source-kinds.js';

export interface IngestSource { name: string; format: BodyFormat; kind: SourceKind | ''; host: string }

export function checkFormat(format: string): BodyFormat {
  if (!(BODY_FORMATS as readonly string[]).includes(format)) throw new ValidationError(`format ${JSON.stringify(format)}: expected one of ${BODY_FORMATS.join(', ')}`);
  return format as BodyFormat;
}

/** A host name as events carry it (lowercase; letters, digits, '.', '-' and '_'; at most 253), or '' for none. */
export function checkHost(host: string): string {
  const h = host.trim().toLowerCase();
  if (h !== '' && (h.length > 253 || !/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/.test(h))) {
    throw new ValidationError(`host ${JSON.stringify(host)}: expected a host name (letters, digits, '.', '-', '_'; at most 253 characters)`);
  }
  return h;
}

export function checkKind(kind: string): SourceKind | '' {
  if (kind !== '' && !isSourceKind(kind)) throw new ValidationError(`kind ${JSON.stringify(kind)}: expected one of ${SOURCE_KINDS.join(', ')}`);
  return kind;
}

/**
 * Creates the source with a new token, or gives a revoked source (or, with `rotate`, an active one) a new token:
 * the old token stops working at once. Returns the token, shown once.
 */
export async function addSource(db: Db, o: { name: string; format: string; kind?: string; host?: string; createdBy: string; rotate?: boolean }): Promise<string> {
  checkToken('source name', o.name);
  const format = checkFormat(o.format);
  const kind = checkKind(o.kind ?? '');
  const host = checkHost(o.host ?? '');
  // Agents and ingest sources share the events' source id: one name may be one or the other, never both.
  const agent = await db.selectFrom('agent_credentials').select('agent_id').where('agent_id', '=', o.name).executeTakeFirst();
  if (agent) throw new ValidationError(`${JSON.stringify(o.name)} is the id of an enrolled agent: choose another source name`);
  const token = newToken('socs_');
  const values = { format, kind, host, token_hash: hashToken(token), created_by: o.createdBy, created_at: new Date(), revoked_at: null, last_used_at: null };
  const res = await db.insertInto('ingest_sources').values({ name: o.name, ...values })
    .onConflict((oc) => {
      const update = oc.column('name').doUpdateSet(values);
      return o.rotate ? update : update.where('ingest_sources.revoked_at', 'is not', null);
    }).executeTakeFirst();
  if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) throw new ValidationError(`source ${JSON.stringify(o.name)} already exists: revoke it first or pass --rotate for a new token`);
  return token;
}

/** Revokes the source's token; false when there was no active source of that name. */
export async function revokeSource(db: Db, name: string): Promise<boolean> {
  const res = await db.updateTable('ingest_sources').set({ revoked_at: new Date() }).where('name', '=', name).where('revoked_at', 'is', null).executeTakeFirst();
  return Number(res.numUpdatedRows) > 0;
}

export async function listSources(db: Db): Promise<{ name: string; format: string; kind: string; host: string; createdAt: string; createdBy: string; revokedAt: string | null; lastUsedAt: string | null }[]> {
  const rows = await db.selectFrom('ingest_sources').selectAll().orderBy('name').execute();
  return rows.map((r) => ({ name: r.name, format: r.format, kind: r.kind, host: r.host, createdAt: iso(r.created_at)!, createdBy: r.created_by, revokedAt: iso(r.revoked_at), lastUsedAt: iso(r.last_used_at) }));
}

/** The active source a token belongs to, or null. */
export async function sourceForToken(db: Db, token: string): Promise<IngestSource | null> {
  if (!token || token.length > 200) return null;
  const hash = hashToken(token);
  const row = await db.selectFrom('ingest_sources').select(['name', 'format', 'kind', 'host', 'last_used_at'])
    .where('token_hash', '=', hash).where('revoked_at', 'is', null).executeTakeFirst();
  if (!row) return null;
  // For the operator's eyes: once a minute is precise enough and saves a write per request.
  if (!row.last_used_at || Date.now() - new Date(row.last_used_at).getTime() > 60_000) {
    await db.updateTable('ingest_sources').set({ last_used_at: new Date() }).where('token_hash', '=', hash).execute();
  }
  return { name: row.name, format: row.format as BodyFormat, kind: isSourceKind(row.kind) ? row.kind : '', host: row.host };
}
