// The auth plugin: who a request is (session cookie or bearer token), role checks, sign-in and sign-out routes.
import cookie from '@fastify/cookie';
import type {} from '@fastify/swagger';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import { Type } from 'typebox';
import { audit } from '../core/audit.js';
import type { Db } from '../core/db/index.js';
import { errorSchema, sendError } from '../core/http.js';
import { ROLES, SESSION_TTL_MS, checkPassword, createToken, revokeToken, userFromToken, type AuthUser, type Role } from './users.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in user (bearer token or soc_session cookie), null when there is none. */
    user: AuthUser | null;
  }
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
export function authPlugin(deps: { db: () => Db }) {
  return fp(async (root) => {
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
  }, { name: 'minisoc-auth' });
}
