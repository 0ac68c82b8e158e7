// Agent enrollment: one-time tokens (only their hash is stored), the user JWT issued for an agent's own key, and revocation.
import { fromPublic } from '@nats-io/nkeys';
import type { Db } from '../core/db/index.js';
import { ValidationError } from '../core/errors.js';
import { hashToken, newToken } from '../core/tokens.js';
import { checkToken } from '../core/topology.js';
import { DEFAULT_AGENT_LIMITS, issueAgentJwt, renewalMessage, saveAccount, type AgentCredentialLimits, type NatsAuth } from '../core/nats-accounts.js';

/** An enrollment that cannot go ahead; `statusCode` is what the HTTP API answers. */
export class EnrollError extends Error {
  override name = 'EnrollError';
  constructor(readonly statusCode: 400 | 401 | 409, message: string) { super(message); }
}

const TAG = /^[A-Za-z0-9_.:-]{1,64}$/;

export function checkTags(tags: string[]): string[] {
  for (const t of tags) if (!TAG.test(t)) throw new ValidationError(`tag ${JSON.stringify(t)}: 1-64 characters of A-Z a-z 0-9 _ . : -`);
  return tags;
}

/** A one-time token that enrolls one agent before `ttlS` seconds pass. Only its sha256 is kept. */
export async function createEnrollmentToken(db: Db, o: { ttlS: number; tags?: string[]; createdBy: string }): Promise<{ token: string; expiresAt: Date }> {
  const token = newToken('soce_');
  const expiresAt = new Date(Date.now() + o.ttlS * 1000);
  await db.insertInto('enrollment_tokens').values({
    token_hash: hashToken(token), expires_at: expiresAt, used_at: null, used_by_agent: null, tags: checkTags(o.tags ?? []), created_by: o.createdBy,
  }).execute();
  return { token, expiresAt };
}

function checkUserKey(publicKey: string): string {
  try {
    if (publicKey.startsWith('U') && fromPublic(publicKey).getPublicKey() === publicKey) return publicKey;
  } catch { /* answered below */ }
  throw new EnrollError(400, 'publicKey: expected a NATS user public key (nkey starting with U)');
}

/**
 * Spends the token and issues a user JWT for the agent's public key, allowed only the agent's own subjects.
 * Claiming the token and recording the key happen in one transaction: a token enrolls exactly one agent.
 */
export async function enroll(db: Db, auth: NatsAuth, req: { token: string; agentId: string; publicKey: string }, limits: AgentCredentialLimits = DEFAULT_AGENT_LIMITS): Promise<{ jwt: string; tags: string[] }> {
  try { checkToken('agent id', req.agentId); } catch (err) { throw new EnrollError(400, (err as Error).message); }
  const publicKey = checkUserKey(req.publicKey);
  return db.transaction().execute(async (tx): Promise<{ jwt: string; tags: string[] }> => {
    const claimed = await tx.updateTable('enrollment_tokens').set({ used_at: new Date(), used_by_agent: req.agentId })
      .where('token_hash', '=', hashToken(req.token)).where('used_at', 'is', null).where('expires_at', '>', new Date())
      .returning(['tags']).executeTakeFirst();
    if (!claimed) throw new EnrollError(401, 'enrollment token unknown, already used or expired: ask for a new one (soc agents enroll)');
    // Agents and ingest sources share the events' source id: one name may be one or the other, never both.
    const source = await tx.selectFrom('ingest_sources').select('name').where('name', '=', req.agentId).executeTakeFirst();
    if (source) throw new EnrollError(409, `${req.agentId} is the name of an ingest source: choose another agent id`);
    const active = await tx.selectFrom('agent_credentials').select('public_key').where('agent_id', '=', req.agentId).where('revoked_at', 'is', null).executeTakeFirst();
    if (active) throw new EnrollError(409, `agent ${req.agentId} is already enrolled; revoke it first (soc agents revoke ${req.agentId})`);
    const known = await tx.selectFrom('agent_credentials').select('agent_id').where('public_key', '=', publicKey).executeTakeFirst();
    if (known) throw new EnrollError(409, 'this public key was enrolled before: generate a new key pair');
    const issued = await issueAgentJwt(auth, req.agentId, publicKey, claimed.tags, limits);
    await tx.insertInto('agent_credentials').values({
      public_key: publicKey, agent_id: req.agentId, jwt_id: issued.jti, issued_at: new Date(issued.issuedAt * 1000), revoked_at: null, tags: claimed.tags,
    }).execute();
    // The agent record carries the token's tags from now on (the heartbeat monitor leaves them as they are).
    await tx.insertInto('agents').values({ id: req.agentId, tags: claimed.tags })
      .onConflict((c) => c.column('id').doUpdateSet({ tags: claimed.tags })).execute();
    return { jwt: issued.jwt, tags: claimed.tags };
  }).catch((err: unknown) => {
    // Two enrollments of one agent at the same moment: the unique index lets one through.
    if ((err as { code?: string }).code === '23505') throw new EnrollError(409, `agent ${req.agentId} is already enrolled`);
    throw err;
  });
}

/** Every revoked key with the time before which its JWTs are refused (unix seconds), for the account JWT. */
export async function revocations(db: Db): Promise<Record<string, number>> {
  const rows = await db.selectFrom('agent_credentials').select(['public_key', 'revoked_at']).where('revoked_at', 'is not', null).execute();
  return Object.fromEntries(rows.map((r) => [r.public_key, Math.ceil(new Date(r.revoked_at!).getTime() / 1000)]));
}

/** How far the renewal's time may be from the server's. */
export const RENEW_CLOCK_SKEW_MS = 5 * 60_000;

/**
 * A fresh user JWT for the key an agent already holds: the agent proves it holds the seed by signing
 * renewalMessage(agentId, atMs). Only an active (not revoked) key whose current credentials have not expired is
 * renewed, so an expired or revoked agent must be enrolled again.
 */
export async function renew(db: Db, auth: NatsAuth, req: { agentId: string; publicKey: string; atMs: number; signature: string }, limits: AgentCredentialLimits = DEFAULT_AGENT_LIMITS, nowMs = Date.now()): Promise<{ jwt: string; expiresAt: number }> {
  const publicKey = checkUserKey(req.publicKey);
  if (Math.abs(nowMs - req.atMs) > RENEW_CLOCK_SKEW_MS) throw new EnrollError(401, 'the renewal is too old or from the future: check the agent\'s clock');
  let valid: boolean;
  try { valid = fromPublic(publicKey).verify(new TextEncoder().encode(renewalMessage(req.agentId, req.atMs)), Buffer.from(req.signature, 'base64url')); } catch { valid = false; }
  if (!valid) throw new EnrollError(401, 'the signature does not match the public key');
  return db.transaction().execute(async (tx) => {
    const row = await tx.selectFrom('agent_credentials').select(['tags', 'issued_at']).where('public_key', '=', publicKey).where('agent_id', '=', req.agentId)
      .where('revoked_at', 'is', null).forUpdate().executeTakeFirst();
    if (!row) throw new EnrollError(401, `no active credentials of agent ${req.agentId} for this key: enroll again`);
    if (new Date(row.issued_at).getTime() + limits.ttlS * 1000 <= nowMs) throw new EnrollError(401, 'the credentials have expired: enroll again');
    const issued = await issueAgentJwt(auth, req.agentId, publicKey, row.tags, limits);
    await tx.updateTable('agent_credentials').set({ jwt_id: issued.jti, issued_at: new Date(issued.issuedAt * 1000) }).where('public_key', '=', publicKey).execute();
    return { jwt: issued.jwt, expiresAt: issued.expiresAt };
  });
}

/**
 * Revokes the agent's credential: marks it in the database and re-signs the account JWT with every revoked key.
 * Returns the revoked public keys (none when the agent had no active credential) and the account JWT, which
 * pushAccountJwt hands to a running server (it then drops the agent's connections).
 */
export async function revokeAgent(db: Db, auth: NatsAuth, agentId: string): Promise<{ revoked: string[]; accountJwt: string | null }> {
  // Rounded up: a JWT issued within this second (iat is in whole seconds) is covered too.
  const at = new Date(Math.ceil(Date.now() / 1000) * 1000);
  const rows = await db.updateTable('agent_credentials').set({ revoked_at: at })
    .where('agent_id', '=', agentId).where('revoked_at', 'is', null).returning('public_key').execute();
  if (!rows.length) return { revoked: [], accountJwt: null };
  return { revoked: rows.map((r) => r.public_key), accountJwt: await saveAccount(auth, await revocations(db)) };
}

export interface AgentCredentialView { agentId: string; publicKey: string; issuedAt: string; revokedAt: string | null; tags: string[] }

export async function listCredentials(db: Db): Promise<AgentCredentialView[]> {
  const rows = await db.selectFrom('agent_credentials').selectAll().orderBy('agent_id').orderBy('issued_at').execute();
  return rows.map((r) => ({
    agentId: r.agent_id, publicKey: r.public_key, issuedAt: new Date(r.issued_at).toISOString(),
    revokedAt: r.revoked_at ? new Date(r.revoked_at).toISOString() : null, tags: r.tags,
  }));
}
