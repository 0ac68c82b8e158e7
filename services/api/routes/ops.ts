// Routes for operators: pipeline stats, rules, dead letters and users.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { NatsConnection } from '@nats-io/transport-node';
import { Type } from 'typebox';
import type { Config } from '../../core/config.js';
import type { Db } from '../../core/db/index.js';
import { ROLES, createUser, listUsers } from '../../auth/users.js';
import { authErrors, errorSchema, page } from '../../core/http.js';
import { listDeadLetters, retryDeadLetters } from '../queries/dlq.js';
import { listRules } from '../queries/rules.js';
import { stats } from '../queries/stats.js';
import { DeadLetter, Limit, RuleItem, Stats, UserItem } from '../schemas.js';
import { audit } from '../../core/audit.js';
import { requireRole } from '../../auth/plugin.js';

export function opsRoutes(deps: { db: () => Db; nc: NatsConnection; config: Config }): FastifyPluginAsyncTypebox {
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
      schema: { tags: ['operations'], summary: 'The rules of RULES_DIR with their hit counts, the rules the policy leaves out (with the reason), and load errors', response: { 200: Type.Object({ items: Type.Array(RuleItem) }), ...authErrors } },
    }, async () => listRules(db(), deps.config));

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
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }), role: Type.Enum([...ROLES]), password: Type.String({ minLength: 8, maxLength: 1024 }) }, { additionalProperties: false }),
        response: { 201: Type.Object({ name: Type.String(), role: Type.String() }), 409: errorSchema, ...authErrors },
      },
    }, async (req, reply) => {
      const user = await createUser(db(), req.body.name, req.body.role, req.body.password);
      await audit(db(), req.user!.name, 'user.create', user.name, { role: user.role });
      return reply.code(201).send(user);
    });
  };
}
