// The auth plugin: who a request is (session cookie or bearer token), role checks, sign-in and sign-out routes.
import cookie from '@fastify/cookie';
import type {} from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { EventEmitter } from 'node:events';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import { audit } from '../core/audit.js';
import type { Db } from '../core/db/index.js';
import { errorSchema, sendError } from '../core/http.js';
import type { Config } from '../core/config.js';
import { DEFAULT_THROTTLE, LoginThrottle } from './throttle.js';
import { ROLES, SESSION_TTL_MS, checkPassword, createToken, revokeToken, userFromToken, type AuthUser, type Role } from './users.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in user (bearer token or soc_session cookie), null when there is none. */
    user: AuthUser | null;
  }
  interface FastifyInstance {
    /** Emits 'changed' when sessions may have ended (logout, a user disabled, a role changed): the gateway re-checks its sockets. */
    sessionEvents: EventEmitter;
  }
  interface FastifyContextConfig {
    /** false: the route is for machine clients without a session (agent enrollment) and needs no CSRF header. */
    csrf?: boolean;
  }
}

/**
 * The header every state-changing request with the session cookie must carry. A page of another origin cannot
 * send it without a CORS preflight, which only the origins in CORS_ORIGINS pass; a form cannot send it at all.
 */
export const CSRF_HEADER = 'x-minisoc-request';
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** The origins allowed besides the app's own: CORS_ORIGINS. */
export function configuredOrigins(corsOrigins: string | undefined): string[] {
  return corsOrigins?.split(',').map((s) => s.trim().replace(/\/$/, '')).filter(Boolean) ?? [];
}

/** True when a request has no Origin (not a browser) or an Origin that is the app's own or a configured one. */
export function originAllowed(req: FastifyRequest, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  return origin === `${req.protocol}://${req.host}` || allowed.includes(origin);
}

/** An attempted user name as the audit log keeps it: at most 64 printable ASCII characters, the rest replaced. */
export function attemptedName(name: string): string {
  return name.slice(0, 64).replace(/[^\x21-\x7e]/g, '?');
}

/** The name of the dashboard's session cookie. */
export const SESSION_COOKIE = 'soc_session';

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
 * Not encapsulated, so the hook covers the routes of the sibling plugins that declare it as a dependency.
 */
export function authPlugin(deps: { db: () => Db; config?: Pick<Config, 'CORS_ORIGINS' | 'LOGIN_MAX_FAILURES_PER_ACCOUNT' | 'LOGIN_MAX_FAILURES_PER_ADDRESS' | 'LOGIN_LOCKOUT_MS'> }) {
  return fp(async (root) => {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    if (!app.hasRequestDecorator('cookies')) await app.register(cookie);
    const origins = configuredOrigins(deps.config?.CORS_ORIGINS);
    const c = deps.config;
    const throttle = new LoginThrottle(c ? {
      ...DEFAULT_THROTTLE, perAccount: c.LOGIN_MAX_FAILURES_PER_ACCOUNT, perAddress: c.LOGIN_MAX_FAILURES_PER_ADDRESS, windowMs: c.LOGIN_LOCKOUT_MS, lockoutMs: c.LOGIN_LOCKOUT_MS,
    } : DEFAULT_THROTTLE);
    app.decorate('sessionEvents', new EventEmitter());
    app.decorateRequest('user', null);
    app.addHook('onRequest', async (req, reply) => {
      const token = bearer(req);
      req.user = token ? await userFromToken(deps.db(), token) : null;
      // CSRF: a foreign Origin is refused on every route. A state-changing request that carries the session cookie
      // and no Authorization header (which a browser only sends when a script of an allowed origin sets it) needs
      // the header, and so does sign-in (else a page could sign a victim in as the attacker).
      // WebSocket upgrades are checked by the gateway in its preValidation hook, where a refusal also ends the socket.
      if (req.headers.upgrade?.toLowerCase() !== 'websocket' && !originAllowed(req, origins)) return sendError(reply, 403, `origin ${JSON.stringify(req.headers.origin)} is not allowed: the app's own origin or CORS_ORIGINS only`);
      const ambient = req.cookies?.[SESSION_COOKIE] !== undefined || req.routeOptions.url === '/api/login';
      if (STATE_CHANGING.has(req.method) && ambient && !req.headers.authorization && req.routeOptions.config?.csrf !== false && req.headers[CSRF_HEADER] !== '1') {
        return sendError(reply, 403, `state-changing requests need the header "${CSRF_HEADER}: 1" (or an Authorization header)`);
      }
    });
    // Denials are audited when someone signed in was refused: who tried what.
    app.addHook('onResponse', async (req, reply) => {
      if (reply.statusCode !== 403 || !req.user) return;
      await audit(deps.db(), req.user.name, 'http.forbidden', `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`, { ip: req.ip, origin: req.headers.origin ?? null })
        .catch((err: unknown) => req.log.error({ err }, 'cannot audit a denial'));
    });

    app.post('/api/login', {
      schema: {
        tags: ['auth'], summary: 'Sign in: sets the soc_session cookie (HttpOnly); API clients may send its value as a Bearer token',
        description: `Failed sign-ins are counted per account and per address; past the limit both are locked for a while (429 with Retry-After).`,
        body: LoginBody,
        response: { 200: Type.Object({ user: UserSchema, expiresAt: Type.String({ format: 'date-time' }) }), 400: errorSchema, 401: errorSchema, 429: errorSchema },
      },
    }, async (req, reply) => {
      const db = deps.db();
      const name = req.body.name;
      const locked = throttle.lockedFor(name, req.ip);
      if (locked > 0) {
        void reply.header('retry-after', Math.ceil(locked / 1000));
        return sendError(reply, 429, 'too many failed sign-ins for this account or address: try again later');
      }
      const user = await checkPassword(db, name, req.body.password);
      if (!user) {
        // Rows stay bounded: an address is locked after a few failures, and nothing is written while it is.
        const { accountLocked, addressLocked } = throttle.fail(name, req.ip);
        await audit(db, 'anonymous', 'login.failed', attemptedName(name), { ip: req.ip });
        if (accountLocked || addressLocked) await audit(db, 'system', 'login.locked', attemptedName(name), { ip: req.ip, account: accountLocked, address: addressLocked, lockoutMs: throttle.limits.lockoutMs });
        return sendError(reply, 401, 'wrong user name or password');
      }
      throttle.succeed(name);
      const { token, expiresAt } = await createToken(db, user.name, 'session', SESSION_TTL_MS);
      await audit(db, user.name, 'login', null, { ip: req.ip });
      void reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/', expires: expiresAt!, secure: req.protocol === 'https' });
      return { user, expiresAt: expiresAt!.toISOString() };
    });

    app.post('/api/logout', {
      schema: { tags: ['auth'], summary: 'Sign out: the session token stops working', response: { 200: Type.Object({ ok: Type.Boolean() }) } },
    }, async (req, reply) => {
      const token = bearer(req);
      if (token) await revokeToken(deps.db(), token);
      if (req.user) await audit(deps.db(), req.user.name, 'logout', null, { ip: req.ip });
      app.sessionEvents.emit('changed');
      void reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return { ok: true };
    });

    app.get('/api/me', {
      schema: { tags: ['auth'], summary: 'The signed-in user', response: { 200: Type.Object({ user: UserSchema }), 401: errorSchema } },
    }, async (req, reply) => {
      if (!req.user) return sendError(reply, 401, 'not signed in');
      return { user: req.user };
    });
  }, { name: 'minisoc-auth' });
}
