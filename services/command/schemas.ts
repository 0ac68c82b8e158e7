// The shapes of agents and commands as the API serves them: validated by the routes, compiled against by the dashboard.
import { Type } from 'typebox';
import { COMMAND_STATUSES } from './states.js';

const nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);

export const AgentSchema = Type.Object({
  id: Type.String(), hostname: nullable(Type.String()), os: nullable(Type.String()), version: nullable(Type.String()),
  ips: Type.Array(Type.String()), tags: Type.Array(Type.String()),
  status: Type.String({ description: 'online, degraded, offline, stopped (said goodbye), unknown (enrolled, or before the first assessment)' }),
  statusReason: nullable(Type.String()), firstSeen: Type.String(), lastSeen: Type.String(),
  queueDepth: Type.Integer(), spoolDepth: Type.Integer(), drops: Type.Integer(), clockSkewMs: Type.Number(),
  lastError: nullable(Type.String()), heartbeatIntervalS: Type.Union([Type.Number(), Type.Null()]),
});

export const CommandSchema = Type.Object({
  id: Type.String(), agentId: Type.String(), action: Type.String(), args: Type.Record(Type.String(), Type.String()),
  status: Type.String({ description: COMMAND_STATUSES.join(', ') }), issuedBy: Type.String(), issuedAt: Type.String(), expiresAt: Type.String(),
  deliveredAt: nullable(Type.String()), startedAt: nullable(Type.String()), finishedAt: nullable(Type.String()),
  exitCode: Type.Union([Type.Integer(), Type.Null()]), output: nullable(Type.String()), error: nullable(Type.String()),
});
