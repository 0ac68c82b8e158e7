// HTTP routes for agents and their commands: list agents with their health, send a command, follow it.
import fp from 'fastify-plugin';
import { audit } from '../core/audit.js';
import { Type } from 'typebox';
import type { Config } from '../core/config.js';
import type { Db } from '../core/db/index.js';
import { ValidationError } from '../core/errors.js';
import { authErrors, errorSchema, sendError } from '../core/http.js';
import { COMMAND_STATUSES, MAX_EXPIRY_S, UnknownAgent, createCommand, getAgent, getCommand, listAgents, listCommands } from './core.js';
import { requireRole } from '../auth/plugin.js';
import { AgentSchema, CommandSchema } from './schemas.js';

const AgentId = Type.Object({ id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }) });

export function commandRoutes(deps: { db: () => Db; config: Config }) {
  return fp(async (app) => {
    app.get<{ Querystring: { status?: string } }>('/api/agents', {
      preHandler: requireRole('viewer'),
      schema: {
        tags: ['agents'], summary: 'Agents with their health as the heartbeat monitor sees it',
        querystring: Type.Object({ status: Type.Optional(Type.Enum(['online', 'degraded', 'offline', 'stopped', 'unknown'])) }, { additionalProperties: false }),
        response: { 200: Type.Object({ items: Type.Array(AgentSchema) }), ...authErrors },
      },
    }, async (req) => ({ items: await listAgents(deps.db(), { status: req.query.status }) }));

    app.get<{ Params: { id: string } }>('/api/agents/:id', {
      preHandler: requireRole('viewer'),
      schema: {
        tags: ['agents'], summary: 'One agent and its latest commands', params: AgentId,
        response: { 200: Type.Object({ agent: AgentSchema, commands: Type.Array(CommandSchema) }), 404: errorSchema, ...authErrors },
      },
    }, async (req, reply) => {
      const agent = await getAgent(deps.db(), req.params.id);
      if (!agent) return sendError(reply, 404, `no agent ${JSON.stringify(req.params.id)}`);
      return { agent, commands: await listCommands(deps.db(), { agentId: agent.id, limit: 50 }) };
    });

    app.post<{ Params: { id: string }; Body: { action: string; args?: Record<string, string | number>; expiresInS?: number } }>('/api/agents/:id/commands', {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['agents'], summary: 'Send a command; it is queued until the agent is online, then delivered', params: AgentId,
        body: Type.Object({
          action: Type.String({ minLength: 1, maxLength: 64 }),
          args: Type.Optional(Type.Record(Type.String({ maxLength: 64 }), Type.Union([Type.String({ maxLength: 4096 }), Type.Number()]))),
          expiresInS: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_EXPIRY_S })),
        }, { additionalProperties: false }),
        response: { 202: CommandSchema, 404: errorSchema, ...authErrors },
      },
    }, async (req, reply) => {
      try {
        const cmd = await createCommand(deps.db(), {
          agentId: req.params.id, action: req.body.action, args: req.body.args ?? {}, issuedBy: req.user!.name,
          expiresInS: req.body.expiresInS ?? deps.config.COMMAND_DEFAULT_EXPIRY_S,
        });
        return reply.code(202).send(cmd);
      } catch (err) {
        if (err instanceof UnknownAgent) return sendError(reply, 404, err.message);
        if (err instanceof ValidationError) {
          // A command the allow-list or its argument rules refuse is worth an operator's eye: who tried what.
          await audit(deps.db(), req.user!.name, 'command.refused', `agent:${req.params.id}`, { action: req.body.action.slice(0, 64), reason: err.message.slice(0, 500) });
          return sendError(reply, 400, err.message);
        }
        throw err;
      }
    });

    app.get<{ Querystring: { agent?: string; status?: string; limit: number } }>('/api/commands', {
      preHandler: requireRole('viewer'),
      schema: {
        tags: ['agents'], summary: 'Commands, newest first',
        querystring: Type.Object({
          agent: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' })),
          status: Type.Optional(Type.Enum([...COMMAND_STATUSES])),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
        }, { additionalProperties: false }),
        response: { 200: Type.Object({ items: Type.Array(CommandSchema) }), ...authErrors },
      },
    }, async (req) => ({ items: await listCommands(deps.db(), { agentId: req.query.agent, status: req.query.status, limit: req.query.limit }) }));

    app.get<{ Params: { id: string } }>('/api/commands/:id', {
      preHandler: requireRole('viewer'),
      schema: {
        tags: ['agents'], summary: 'One command with its outcome', params: Type.Object({ id: Type.String({ maxLength: 100 }) }),
        response: { 200: CommandSchema, 404: errorSchema, ...authErrors },
      },
    }, async (req, reply) => {
      const cmd = await getCommand(deps.db(), req.params.id);
      return cmd ?? sendError(reply, 404, `no command ${JSON.stringify(req.params.id)}`);
    });
  }, { name: 'minisoc-commands', dependencies: ['minisoc-auth'], encapsulate: true });
}
