// Users, roles and tokens: password hashing, sessions, the request.user hook, role checks and the audit log.
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import cookie from '@fastify/cookie';
import type {} from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import { Type } from 'typebox';
import type { Db } from '../core/db/index.js';
import { ValidationError } from '../core/errors.js';
import { errorSchema, sendError } from './http.js';

export const ROLES = ['viewer', 'analyst', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export interface AuthUser {
  name: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in user (bearer token or soc_session cookie), null when there is none. */
    user: AuthUser | null;
  }
}

export const SESSION_COOKIE = 'soc_session';
const SESSION_TTL_MS = 12 * 3600_000;
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
  if (password.length < 8) throw new ValidationError('password: at least 8 characters');
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

function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Issues a token (only its hash is stored). ttlMs null: it never expires (API tokens until revoked). */
export async function createToken(db: Db, userName: string, kind: 'session' | 'api', ttlMs: number | null, label: string | null = null): Promise<{ token: string; expiresAt: Date | null }> {
  const token = randomBytes(32).toString('base64url');
  const expiresAt = ttlMs === null ? null : new Date(Date.now() + ttlMs);
  await db.insertInto('auth_tokens').values({ token_hash: tokenHash(token), user_name: userName, kind, label, expires_at: expiresAt, last_used_at: null }).execute();
  return { token, expiresAt };
}

export async function revokeToken(db: Db, token: string): Promise<void> {
  await db.deleteFrom('auth_tokens').where('token_hash', '=', tokenHash(token)).execute();
}

export async function userFromToken(db: Db, token: string): Promise<AuthUser | null> {
  if (!token || token.length > 200) return null;
  const hash = tokenHash(token);
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

export async function audit(db: Db, actor: string, action: string, target: string | null, detail: unknown): Promise<void> {
  await db.insertInto('audit_log').values({ actor, action, target, detail: JSON.stringify(detail ?? {}) }).execute();
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

function bearer(req: FastifyRequest): string | undefined {
  const h = req.headers.authorization;
  if (h) {
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    return m?.[1];
  }
  return req.cookies?.[SESSION_COOKIE];
}

const rank = (r: Role) => ROLES.indexOf(r);

/** A preHandler: 401 without a user, 403 when the user's role is below `role`. */
export function requireRole(role: Role): preHandlerAsyncHookHandler {
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.user) return sendError(reply, 401, 'sign in first: POST /api/login, then send the token as "Authorization: Bearer <token>" or the soc_session cookie');
    if (rank(req.user.role) < rank(role)) return sendError(reply, 403, `this needs the ${role} role; ${req.user.name} is ${req.user.role}`);
  };
}

const LoginBody = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 64 }),
  password: Type.String({ minLength: 1, maxLength: 1024 }),
}, { additionalProperties: false });
const UserSchema = Type.Object({ name: Type.String(), role: Type.Enum([...ROLES]) });

/**
 * Decorates every request of the app with `user` and serves /api/login, /api/logout and /api/me.
 * Marked skip-override (fastify-plugin semantics) so the hook covers routes of sibling plugins too.
 */
export function authPlugin(deps: { db: () => Db }): FastifyPluginAsync {
  const plugin: FastifyPluginAsync = async (root) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    if (!app.hasRequestDecorator('cookies')) await app.register(cookie);
    app.decorateRequest('user', null);
    app.addHook('onRequest', async (req) => {
      const token = bearer(req);
      req.user = token ? await userFromToken(deps.db(), token) : null;
    });

    app.post('/api/login', {
      schema: {
        tags: ['auth'], summary: 'Sign in; answers a session token and sets the soc_session cookie',
        body: LoginBody,
        response: { 200: Type.Object({ user: UserSchema, token: Type.String(), expiresAt: Type.String({ format: 'date-time' }) }), 400: errorSchema, 401: errorSchema },
      },
    }, async (req, reply) => {
      const db = deps.db();
      const user = await checkPassword(db, req.body.name, req.body.password);
      if (!user) {
        await audit(db, req.body.name, 'login.failed', null, { ip: req.ip });
        return sendError(reply, 401, 'wrong user name or password');
      }
      const { token, expiresAt } = await createToken(db, user.name, 'session', SESSION_TTL_MS);
      await audit(db, user.name, 'login', null, { ip: req.ip });
      void reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/', expires: expiresAt!, secure: req.protocol === 'https' });
      return { user, token, expiresAt: expiresAt!.toISOString() };
    });

    app.post('/api/logout', {
      schema: { tags: ['auth'], summary: 'Sign out: the session token stops working', response: { 200: Type.Object({ ok: Type.Boolean() }) } },
    }, async (req, reply) => {
      const token = bearer(req);
      if (token) await revokeToken(deps.db(), token);
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return { ok: true };
    });

    app.get('/api/me', {
      schema: { tags: ['auth'], summary: 'The signed-in user', response: { 200: Type.Object({ user: UserSchema }), 401: errorSchema } },
    }, async (req, reply) => {
      if (!req.user) return sendError(reply, 401, 'not signed in');
      return { user: req.user };
    });
  };
  (plugin as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;
  (plugin as unknown as Record<symbol, string>)[Symbol.for('fastify.display-name')] = 'minisoc-auth';
  return plugin;
}
