// Users, roles and their tokens: password hashing, sign-in checks, session and API tokens, the first admin.
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Db } from '../core/db/index.js';
import { audit } from '../core/audit.js';
import { ValidationError } from '../core/errors.js';
import { hashToken, newToken } from '../core/tokens.js';
import { COMMON_PASSWORDS } from './common-passwords.js';

export const ROLES = ['viewer', 'analyst', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface AuthUser {
  name: string;
  role: Role;
}

/** How long a dashboard session lasts. */
export const SESSION_TTL_MS = 12 * 3600_000;
const USER_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

// scrypt N=2^15, r=8, p=1 takes 32 MiB per hash: memory-hard, still ~100 ms on a small machine.
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, keyLen: 32 };

function scrypt(password: string, salt: Buffer, keyLen: number, opts: ScryptOptions): Promise<Buffer> {
  return new Promise((res, rej) => scryptCb(password, salt, keyLen, opts, (err, key) => (err ? rej(err) : res(key))));
}

/** A self-describing hash: scrypt$<log2 N>$<r>$<p>$<salt b64>$<key b64>. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT.keyLen, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, maxmem: 128 * SCRYPT.N * SCRYPT.r * 2 });
  return ['scrypt', Math.log2(SCRYPT.N), SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [alg, logN, r, p, salt, key] = stored.split('$');
  if (alg !== 'scrypt' || !salt || !key) return false;
  const N = 2 ** Number(logN);
  const want = Buffer.from(key, 'base64');
  const got = await scrypt(password, Buffer.from(salt, 'base64'), want.length, { N, r: Number(r), p: Number(p), maxmem: 128 * N * Number(r) * 2 });
  return timingSafeEqual(want, got);
}

/** The shortest password accepted. */
export const MIN_PASSWORD_LENGTH = 12;
const COMMON = new Set(COMMON_PASSWORDS);
const LEET: Record<string, string> = { '0': 'o', '1': 'i', '3': 'e', '4': 'a', '5': 's', '7': 't', '@': 'a', $: 's', '!': 'i' };

/** Why a password is refused (too short, commonly used, the user's name), or null when it is acceptable. */
export function passwordProblem(password: string, userName?: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `password: at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > 1024) return 'password: at most 1024 characters';
  const lower = password.toLowerCase();
  const unleet = (t: string) => [...t].map((c) => LEET[c] ?? c).join('');
  // Letters written as digits (p4ssw0rd), with a trailing run of digits and marks kept as typed (p4ssw0rd1234).
  const [, body = '', tail = ''] = /^(.*?)([\d!@#$%^&*.]*)$/.exec(lower) ?? [];
  if (COMMON.has(lower) || COMMON.has(unleet(lower)) || COMMON.has(unleet(body) + tail)) return 'password: this is a commonly used password; choose another';
  if (new Set(lower).size < 4) return 'password: too few different characters';
  if (userName && lower === userName.toLowerCase()) return 'password: must not be the user name';
  return null;
}

export function checkPasswordPolicy(password: string, userName?: string): void {
  const problem = passwordProblem(password, userName);
  if (problem) throw new ValidationError(problem);
}

export function isRole(v: string): v is Role {
  return (ROLES as readonly string[]).includes(v);
}

export function checkUserName(name: string): string {
  if (!USER_NAME.test(name)) throw new ValidationError(`user name ${JSON.stringify(name)}: expected 1-64 lowercase letters, digits, '.', '_' or '-'`);
  return name;
}

export async function createUser(db: Db, name: string, role: Role, password: string): Promise<AuthUser> {
  checkUserName(name);
  if (!isRole(role)) throw new ValidationError(`role ${JSON.stringify(role)}: expected one of ${ROLES.join(', ')}`);
  checkPasswordPolicy(password, name);
  const res = await db.insertInto('users').values({ name, role, password_hash: await hashPassword(password) })
    .onConflict((oc) => oc.column('name').doNothing()).executeTakeFirst();
  if (Number(res.numInsertedOrUpdatedRows ?? 0) === 0) throw new ValidationError(`user ${JSON.stringify(name)} already exists`);
  return { name, role };
}

export async function listUsers(db: Db): Promise<{ name: string; role: string; createdAt: string; disabled: boolean }[]> {
  const rows = await db.selectFrom('users').select(['name', 'role', 'created_at', 'disabled']).orderBy('name').execute();
  return rows.map((r) => ({ name: r.name, role: r.role, createdAt: new Date(r.created_at).toISOString(), disabled: r.disabled }));
}

/** The user a name and password belong to, or null (unknown user, disabled, wrong password). */
export async function checkPassword(db: Db, name: string, password: string): Promise<AuthUser | null> {
  const row = await db.selectFrom('users').select(['name', 'role', 'password_hash', 'disabled']).where('name', '=', name).executeTakeFirst();
  // Hash even for an unknown user, so the answer takes as long either way.
  const ok = await verifyPassword(password, row?.password_hash ?? 'scrypt$15$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=');
  if (!row || !ok || row.disabled || !isRole(row.role)) return null;
  return { name: row.name, role: row.role };
}

/** Thrown when a user named by an operator does not exist. */
export class UnknownUserError extends ValidationError {
  override name = 'UnknownUserError';
}

async function updateUser(db: Db, name: string, set: { disabled?: boolean; role?: Role; password_hash?: string }): Promise<void> {
  const res = await db.updateTable('users').set(set).where('name', '=', name).executeTakeFirst();
  if (Number(res.numUpdatedRows) === 0) throw new UnknownUserError(`no user ${JSON.stringify(name)}`);
}

/** Ends every session and API token of a user; answers how many. */
export async function endSessions(db: Db, name: string): Promise<number> {
  const res = await db.deleteFrom('auth_tokens').where('user_name', '=', name).executeTakeFirst();
  return Number(res.numDeletedRows);
}

/** Disables (or enables) a user; disabling ends their sessions at once. */
export async function setDisabled(db: Db, name: string, disabled: boolean): Promise<void> {
  await updateUser(db, name, { disabled });
  if (disabled) await endSessions(db, name);
}

/** Sets a new password (the policy applies) and ends the user's sessions. */
export async function resetPassword(db: Db, name: string, password: string): Promise<void> {
  checkPasswordPolicy(password, name);
  await updateUser(db, name, { password_hash: await hashPassword(password) });
  await endSessions(db, name);
}

/** Changes a user's role; their sessions end so no session carries the old role. */
export async function setRole(db: Db, name: string, role: string): Promise<void> {
  if (!isRole(role)) throw new ValidationError(`role ${JSON.stringify(role)}: expected one of ${ROLES.join(', ')}`);
  await updateUser(db, name, { role });
  await endSessions(db, name);
}

/** Issues a token (only its hash is stored). ttlMs null: it never expires (API tokens until revoked). */
export async function createToken(db: Db, userName: string, kind: 'session' | 'api', ttlMs: number | null, label: string | null = null): Promise<{ token: string; expiresAt: Date | null }> {
  const token = newToken();
  const expiresAt = ttlMs === null ? null : new Date(Date.now() + ttlMs);
  await db.insertInto('auth_tokens').values({ token_hash: hashToken(token), user_name: userName, kind, label, expires_at: expiresAt, last_used_at: null }).execute();
  return { token, expiresAt };
}

export async function revokeToken(db: Db, token: string): Promise<void> {
  await db.deleteFrom('auth_tokens').where('token_hash', '=', hashToken(token)).execute();
}

export async function userFromToken(db: Db, token: string): Promise<AuthUser | null> {
  if (!token || token.length > 200) return null;
  const hash = hashToken(token);
  const row = await db.selectFrom('auth_tokens as t').innerJoin('users as u', 'u.name', 't.user_name')
    .select(['u.name', 'u.role', 't.last_used_at'])
    .where('t.token_hash', '=', hash).where('u.disabled', '=', false)
    .where((eb) => eb.or([eb('t.expires_at', 'is', null), eb('t.expires_at', '>', new Date())]))
    .executeTakeFirst();
  if (!row || !isRole(row.role)) return null;
  // last_used_at is for the operator's eyes; once a minute is precise enough and saves a write per request.
  if (!row.last_used_at || Date.now() - new Date(row.last_used_at).getTime() > 60_000) {
    await db.updateTable('auth_tokens').set({ last_used_at: new Date() }).where('token_hash', '=', hash).execute();
  }
  return { name: row.name, role: row.role };
}

/**
 * A fresh installation gets one admin with a random password, written 0600 to DATA_DIR/admin-password.
 * Returns the password when it created the user, null when users existed.
 */
export async function ensureFirstAdmin(db: Db, dataDir: string): Promise<string | null> {
  const { n } = await db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  if (Number(n) > 0) return null;
  const password = randomBytes(18).toString('base64url');
  try {
    await createUser(db, 'admin', 'admin', password);
  } catch (err) {
    // Another process created it first.
    if (err instanceof ValidationError) return null;
    throw err;
  }
  writeFileSync(join(resolve(dataDir), 'admin-password'), `${password}\n`, { mode: 0o600 });
  await audit(db, 'system', 'user.create', 'admin', { role: 'admin', reason: 'first start' });
  return password;
}
