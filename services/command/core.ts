// Commands to agents: checking a request against the agent's allow-list, and the rows of the commands
// table through their lifecycle. The HTTP routes, the `soc` CLI and the command service share these.
import { randomUUID } from 'node:crypto';
import { sql, type Selectable } from 'kysely';
import { checkCommandArgs } from '../core/commands.js';
import type { Db } from '../core/db/index.js';
import type { AgentsTable, CommandsTable } from '../core/db/schema.js';
import { ValidationError } from '../core/errors.js';
import type { minisoc } from '../core/proto.js';
import { checkToken } from '../core/topology.js';
import { audit } from '../core/audit.js';
import { iso } from '../core/time.js';

import { COMMAND_STATUSES, type CommandStatus } from './states.js';

export { COMMAND_STATUSES, type CommandStatus };
/** States a command never leaves (a late result may still replace timed_out or expired: it is the truth). */
export const FINAL: readonly CommandStatus[] = ['succeeded', 'failed', 'refused'];

export const MAX_EXPIRY_S = 7 * 86_400;

/** Thrown when a command names an agent never seen. */
export class UnknownAgent extends Error {
  override name = 'UnknownAgent';
}

export interface CommandView {
  id: string;
  agentId: string;
  action: string;
  args: Record<string, string>;
  status: string;
  issuedBy: string;
  issuedAt: string;
  expiresAt: string;
  deliveredAt: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  exitCode: number | null;
  output: string | null;
  error: string | null;
}

export interface AgentView {
  id: string;
  hostname: string | null;
  os: string | null;
  version: string | null;
  ips: string[];
  tags: string[];
  status: string;
  statusReason: string | null;
  firstSeen: string;
  lastSeen: string;
  queueDepth: number;
  spoolDepth: number;
  drops: number;
  clockSkewMs: number;
  lastError: string | null;
  heartbeatIntervalS: number | null;
}

/**
 * Checks an action and its arguments with the agent's own allow-list and argument rules, so a bad
 * command is refused here with the reason instead of travelling to the agent first.
 */
export function checkCommand(action: string, args: Record<string, unknown>): Record<string, string> {
  const strings: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(args)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') throw new ValidationError(`argument ${k}: expected a string or a number`);
    strings[k] = String(v);
  }
  const checked = checkCommandArgs(action, strings);
  if (!checked.ok) throw new ValidationError(checked.reason);
  return { ...strings };
}

/** Records a command as queued (the command service delivers it when the agent is online) and audits it. */
export async function createCommand(db: Db, o: { agentId: string; action: string; args: Record<string, unknown>; issuedBy: string; expiresInS: number }): Promise<CommandView> {
  checkToken('agent id', o.agentId);
  const args = checkCommand(o.action, o.args);
  if (!Number.isInteger(o.expiresInS) || o.expiresInS < 1 || o.expiresInS > MAX_EXPIRY_S) {
    throw new ValidationError(`expiry must be 1 to ${MAX_EXPIRY_S} seconds, not ${o.expiresInS}`);
  }
  const agent = await db.selectFrom('agents').select('id').where('id', '=', o.agentId).executeTakeFirst();
  if (!agent) throw new UnknownAgent(`no agent ${JSON.stringify(o.agentId)} has ever sent a heartbeat`);
  const now = new Date();
  const row = await db.insertInto('commands').values({
    id: `cmd-${now.getTime().toString(36)}-${randomUUID().slice(0, 8)}`, agent_id: o.agentId, action: o.action, args: JSON.stringify(args),
    status: 'queued', issued_by: o.issuedBy, issued_at: now, expires_at: new Date(now.getTime() + o.expiresInS * 1000),
    delivered_at: null, started_at: null, finished_at: null, exit_code: null, output: null, error: null,
  }).returningAll().executeTakeFirstOrThrow();
  await audit(db, o.issuedBy, 'command.create', `agent:${o.agentId}`, { command: row.id, action: o.action, args, expiresAt: iso(row.expires_at) });
  return commandView(row);
}

type CommandRow = Selectable<CommandsTable>;

export function commandView(r: CommandRow): CommandView {
  return {
    id: r.id, agentId: r.agent_id, action: r.action, args: (r.args ?? {}) as Record<string, string>, status: r.status, issuedBy: r.issued_by,
    issuedAt: iso(r.issued_at)!, expiresAt: iso(r.expires_at)!, deliveredAt: iso(r.delivered_at), startedAt: iso(r.started_at),
    finishedAt: iso(r.finished_at), exitCode: r.exit_code, output: r.output, error: r.error,
  };
}

export async function listCommands(db: Db, f: { agentId?: string; status?: string; limit: number }): Promise<CommandView[]> {
  let q = db.selectFrom('commands').selectAll();
  if (f.agentId) q = q.where('agent_id', '=', f.agentId);
  if (f.status) q = q.where('status', '=', f.status);
  const rows = await q.orderBy('issued_at', 'desc').orderBy('id', 'desc').limit(f.limit).execute();
  return rows.map(commandView);
}

export async function getCommand(db: Db, id: string): Promise<CommandView | undefined> {
  const row = await db.selectFrom('commands').selectAll().where('id', '=', id).executeTakeFirst();
  return row && commandView(row);
}

type AgentRow = Selectable<AgentsTable>;

function agentView(r: AgentRow): AgentView {
  const d = (r.doc ?? {}) as Record<string, unknown>;
  const n = (v: unknown) => (typeof v === 'number' ? v : 0);
  return {
    id: r.id, hostname: r.hostname, os: r.os, version: r.version, ips: r.ips, tags: r.tags, status: r.status, statusReason: r.status_reason,
    firstSeen: iso(r.first_seen)!, lastSeen: iso(r.last_seen)!, queueDepth: n(d.queueDepth), spoolDepth: n(d.spoolDepth), drops: n(d.dropped),
    clockSkewMs: n(d.clockSkewMs), lastError: typeof d.lastError === 'string' && d.lastError ? d.lastError : null,
    heartbeatIntervalS: typeof d.intervalS === 'number' ? d.intervalS : null,
  };
}

export async function listAgents(db: Db, f: { status?: string } = {}): Promise<AgentView[]> {
  let q = db.selectFrom('agents').selectAll();
  if (f.status) q = q.where('status', '=', f.status);
  return (await q.orderBy('id').execute()).map(agentView);
}

export async function getAgent(db: Db, id: string): Promise<AgentView | undefined> {
  const row = await db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
  return row && agentView(row);
}

/** Stores an agent's result unless the command already has one; false when nothing matched (unknown or repeated). */
export async function recordResult(db: Db, agentId: string, r: minisoc.ICommandResult): Promise<boolean> {
  const status = ['succeeded', 'failed', 'timed_out'].includes(r.status ?? '') ? r.status! : 'failed';
  const ms = (v: unknown) => (Number(v) > 0 ? new Date(Number(v)) : null);
  // The agent id comes from the subject the result arrived on: an agent reports on its own commands only.
  const res = await db.updateTable('commands').set({
    status, exit_code: r.exit_code ?? null, output: r.output || null, error: r.error || null,
    started_at: ms(r.started_ms), finished_at: ms(r.finished_ms) ?? new Date(),
    delivered_at: sql`coalesce(delivered_at, ${ms(r.started_ms) ?? new Date()})`,
  }).where('id', '=', r.command_id ?? '').where('agent_id', '=', agentId).where('status', 'not in', [...FINAL]).executeTakeFirst();
  if (Number(res.numUpdatedRows) === 0) return false;
  await audit(db, `agent:${agentId}`, 'command.result', `command:${r.command_id}`, { status, exitCode: r.exit_code ?? null, error: r.error || undefined });
  return true;
}

/** Queued commands past their expiry become expired; running ones without a result in time, timed_out. */
export async function expireCommands(db: Db, resultTimeoutMs: number): Promise<{ id: string; status: string }[]> {
  const expired = await db.updateTable('commands')
    .set({ status: 'expired', finished_at: new Date(), error: sql`'not delivered before ' || to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') || ': the agent was not online'` })
    .where('status', '=', 'queued').where('expires_at', '<=', new Date()).returning(['id', 'agent_id', 'status']).execute();
  const timedOut = await db.updateTable('commands')
    .set({ status: 'timed_out', finished_at: new Date(), error: `no result from the agent within ${Math.round(resultTimeoutMs / 1000)} s of delivery` })
    .where('status', '=', 'running').where('delivered_at', '<=', new Date(Date.now() - resultTimeoutMs)).returning(['id', 'agent_id', 'status']).execute();
  const all = [...expired, ...timedOut];
  for (const c of all) await audit(db, 'system', `command.${c.status}`, `command:${c.id}`, { agent: c.agent_id });
  return all.map((c) => ({ id: c.id, status: c.status }));
}
