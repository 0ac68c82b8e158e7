// Routes for operators: pipeline stats, rules, dead letters and users.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { NatsConnection } from '@nats-io/transport-node';
import { Type } from 'typebox';
import type { Config } from '../../core/config.js';
import type { Db } from '../../core/db/index.js';
import type { FilterStore } from '../../detect/filter-store.js';
import { ROLES, createUser, endSessions, listUsers, resetPassword, setDisabled, setRole, MIN_PASSWORD_LENGTH, UnknownUserError } from '../../auth/users.js';
import { ApiError } from '../../core/http.js';
import { listAudit } from '../queries/audit.js';
import { authErrors, errorSchema, page } from '../../core/http.js';
import { listDeadLetters, retryDeadLetters } from '../queries/dlq.js';
import { listRules } from '../queries/rules.js';
import { stats } from '../queries/stats.js';
import { AuditItem, DeadLetter, Limit, RuleItem, Stats, UserItem } from '../schemas.js';
import { audit } from '../../core/audit.js';
import { requireRole } from '../../auth/plugin.js';

export function opsRoutes(deps: { db: () => Db; nc: NatsConnection; config: Config; filterStore: () => Promise<FilterStore> }): FastifyPluginAsyncTypebox {
  const { db } = deps;
  return async (app) => {
    const viewer = requireRole('viewer');
    const admin = requireRole('admin');
    const Retried = Type.Object({ retried: Type.Array(Type.String()) });

    app.get('/api/stats', {
      preHandler: viewer,
      schema: { tags: ['operations'], summary: 'Lag per stage, events per second per source, DLQ size, agents by status', response: { 200: Stats, ...authErrors } },
    }, async () => stats(db(), deps.nc, deps.config.DETECT_SHARDS));

    app.get('/api/rules', {
      preHandler: viewer,
      schema: { tags: ['operations'], summary: 'The rules of RULES_DIR and the saved filters with their hit counts, the rules the policy leaves out (with the reason), and load errors', response: { 200: Type.Object({ items: Type.Array(RuleItem) }), ...authErrors } },
    }, async () => listRules(db(), deps.config, deps.filterStore));

    app.get('/api/dlq', {
      preHandler: viewer,
      schema: {
        tags: ['operations'], summary: 'Dead letters, newest first, with the reason',
        querystring: Type.Object({
          stage: Type.Optional(Type.String({ maxLength: 64 })), pending: Type.Optional(Type.Boolean({ description: 'only those not retried yet' })),
          limit: Limit(1000, 100), cursor: Type.Optional(Type.String({ maxLength: 2000 })),
        }, { additionalProperties: false }),
        response: { 200: page(DeadLetter), ...authErrors },
      },
    }, async (req) => {
      const { limit, cursor, ...q } = req.query;
      return listDeadLetters(db(), q, { limit, cursor });
    });

    app.post('/api/dlq/:id/retry', {
      preHandler: admin,
      schema: {
        tags: ['operations'], summary: 'Republish one dead letter to the subject it failed on', params: Type.Object({ id: Type.String({ maxLength: 300 }) }),
        response: { 200: Retried, 404: errorSchema, 409: errorSchema, ...authErrors },
      },
    }, async (req) => retryDeadLetters(db(), deps.nc, [req.params.id], req.user!.name));

    app.post('/api/dlq/retry', {
      preHandler: admin,
      schema: { tags: ['operations'], summary: 'Republish every dead letter not retried yet', response: { 200: Retried, 409: errorSchema, ...authErrors } },
    }, async (req) => retryDeadLetters(db(), deps.nc, 'all', req.user!.name));

    app.get('/api/users', {
      preHandler: admin,
      schema: { tags: ['users'], summary: 'Users and their roles', response: { 200: Type.Object({ items: Type.Array(UserItem) }), ...authErrors } },
    }, async () => ({ items: await listUsers(db()) }));

    app.post('/api/users', {
      preHandler: admin,
      schema: {
        tags: ['users'], summary: 'Add a user',
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }), role: Type.Enum([...ROLES]), password: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024 }) }, { additionalProperties: false }),
        response: { 201: Type.Object({ name: Type.String(), role: Type.String() }), 409: errorSchema, ...authErrors },
      },
    }, async (req, reply) => {
      const user = await createUser(db(), req.body.name, req.body.role, req.body.password);
      await audit(db(), req.user!.name, 'user.create', user.name, { role: user.role });
      return reply.code(201).send(user);
    });

    // The lifecycle of a user: each change ends the user's sessions, and open live views close within seconds.
    const UserName = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) });
    const changed = (name: string) => {
      app.sessionEvents.emit('changed');
      return { name };
    };
    const known = async <T>(work: () => Promise<T>): Promise<T> => {
      try { return await work(); } catch (err) {
        if (err instanceof UnknownUserError) throw new ApiError(404, err.message);
        throw err;
      }
    };
    app.patch('/api/users/:name', {
      preHandler: admin,
      schema: {
        tags: ['users'], summary: 'Disable or enable a user, or change their role (their sessions end)', params: UserName,
        body: Type.Object({ disabled: Type.Optional(Type.Boolean()), role: Type.Optional(Type.Enum([...ROLES])) }, { additionalProperties: false, minProperties: 1 }),
        response: { 200: Type.Object({ name: Type.String() }), 404: errorSchema, 409: errorSchema, ...authErrors },
      },
    }, async (req) => {
      const { name } = req.params;
      if (name === req.user!.name && (req.body.disabled || (req.body.role && req.body.role !== 'admin'))) throw new ApiError(409, 'an admin cannot disable or demote themselves; ask another admin');
      await known(async () => {
        if (req.body.disabled !== undefined) await setDisabled(db(), name, req.body.disabled);
        if (req.body.role !== undefined) await setRole(db(), name, req.body.role);
      });
      await audit(db(), req.user!.name, 'user.update', name, req.body);
      return changed(name);
    });
    app.post('/api/users/:name/password', {
      preHandler: admin,
      schema: {
        tags: ['users'], summary: 'Set a new password (the password policy applies; the user\'s sessions end)', params: UserName,
        body: Type.Object({ password: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ name: Type.String() }), 404: errorSchema, ...authErrors },
      },
    }, async (req) => {
      await known(() => resetPassword(db(), req.params.name, req.body.password));
      await audit(db(), req.user!.name, 'user.password-reset', req.params.name, {});
      return changed(req.params.name);
    });
    app.delete('/api/users/:name/sessions', {
      preHandler: admin,
      schema: {
        tags: ['users'], summary: 'End every session and API token of a user', params: UserName,
        response: { 200: Type.Object({ name: Type.String(), ended: Type.Integer() }), ...authErrors },
      },
    }, async (req) => {
      const ended = await endSessions(db(), req.params.name);
      await audit(db(), req.user!.name, 'user.sessions-end', req.params.name, { ended });
      return { ...changed(req.params.name), ended };
    });

    app.get('/api/audit', {
      preHandler: admin,
      schema: {
        tags: ['operations'], summary: 'The audit log, newest first: who did what to which target, sign-ins and denials included',
        querystring: Type.Object({
          actor: Type.Optional(Type.String({ maxLength: 200 })),
          action: Type.Optional(Type.String({ maxLength: 64, description: 'an action, or a family such as login.*' })),
          since: Type.Optional(Type.String({ maxLength: 64, description: 'an ISO time or a duration before now (15m, 2h, 7d)' })),
          until: Type.Optional(Type.String({ maxLength: 64 })),
          limit: Limit(1000, 100), cursor: Type.Optional(Type.String({ maxLength: 200 })),
        }, { additionalProperties: false }),
        response: {
          200: page(AuditItem),
          ...authErrors,
        },
      },
    }, async (req) => {
      const { limit, cursor, ...q } = req.query;
      return listAudit(db(), q, { limit, cursor });
    });
  };
}
