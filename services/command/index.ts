// The command service: delivers queued commands to online agents as requests on cmd.<id>, stores the
// results agents publish on cmdres.<id> (a stream, so none is lost while this service is down), and
// expires what could not be delivered in time.
import type { NatsConnection } from '@nats-io/transport-node';
import { sql } from 'kysely';
import type { Db } from '../core/db/index.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { commandMetrics } from '../core/metrics.js';
import { Command, CommandAck, CommandResult } from '../core/proto.js';
import { decoder, type Stage } from '../core/runner.js';
import { startStages, type RunningService, type ServiceContext } from '../core/service.js';
import { lastToken, subjects } from '../core/topology.js';
import { expireCommands, recordResult } from './core.js';
import { audit } from '../core/audit.js';

/** How long an agent has to acknowledge a command before it is tried again later. */
const ACK_TIMEOUT_MS = 5000;
/** Commands delivered per pass; the next pass takes the rest. */
const BATCH = 50;

/**
 * One delivery pass: queued commands of agents the heartbeat monitor calls online (or degraded), oldest
 * first, each agent's in order. The rows stay locked while their requests are out, so several command
 * services never deliver one command twice, and a result arriving at once waits for the ack to be stored.
 */
export async function deliverQueued(db: Db, nc: NatsConnection, log: Logger): Promise<number> {
  return db.transaction().execute(async (tx) => {
    const { rows } = await sql<{ id: string; agent_id: string; action: string; args: Record<string, string>; issued_by: string; issued_at: Date; expires_at: Date }>`
      SELECT c.id, c.agent_id, c.action, c.args, c.issued_by, c.issued_at, c.expires_at FROM commands c JOIN agents a ON a.id = c.agent_id
      WHERE c.status = 'queued' AND c.expires_at > now() AND a.status IN ('online', 'degraded')
      ORDER BY c.issued_at, c.id LIMIT ${BATCH} FOR UPDATE OF c SKIP LOCKED`.execute(tx);
    const byAgent = new Map<string, typeof rows>();
    for (const r of rows) byAgent.set(r.agent_id, [...(byAgent.get(r.agent_id) ?? []), r]);
    let delivered = 0;
    await Promise.all([...byAgent.values()].map(async (cmds) => {
      for (const c of cmds) {
        const data = Command.encode({
          id: c.id, agent_id: c.agent_id, action: c.action, args: c.args, issued_by: c.issued_by,
          issued_ms: new Date(c.issued_at).getTime(), expires_ms: new Date(c.expires_at).getTime(),
        }).finish();
        let ack: ReturnType<typeof CommandAck.decode>;
        try {
          ack = CommandAck.decode((await nc.request(subjects.command(c.agent_id), data, { timeout: ACK_TIMEOUT_MS })).data);
        } catch (err) {
          // No responder or no answer: the agent is not really there yet; the command stays queued.
          log.debug({ command: c.id, agent: c.agent_id, err: errorMessage(err) }, 'command not acknowledged, will retry');
          return;
        }
        if (ack.accepted) {
          await tx.updateTable('commands').set({ status: 'running', delivered_at: new Date() }).where('id', '=', c.id).execute();
          commandMetrics.byOutcome.inc({ status: 'delivered' });
          delivered++;
        } else {
          await tx.updateTable('commands').set({ status: 'refused', delivered_at: new Date(), finished_at: new Date(), exit_code: 2, error: ack.error || 'refused by the agent' })
            .where('id', '=', c.id).execute();
          commandMetrics.byOutcome.inc({ status: 'refused' });
        }
        await audit(tx, 'system', ack.accepted ? 'command.delivered' : 'command.refused', `command:${c.id}`, { agent: c.agent_id, error: ack.error || undefined });
      }
    }));
    return delivered;
  });
}

export async function startCommand(ctx: ServiceContext): Promise<RunningService> {
  const { log, nc } = ctx;
  const db = ctx.db();
  const results: Stage<ReturnType<typeof CommandResult.decode>> = {
    name: 'command', stream: 'COMMAND_RESULTS',
    decode: decoder((b) => CommandResult.decode(b), 'CommandResult'),
    handle: async (r, meta) => {
      const stored = await recordResult(db, lastToken(meta.subject), r);
      if (stored) commandMetrics.byOutcome.inc({ status: r.status || 'failed' });
      else meta.log.info({ command: r.command_id, subject: meta.subject }, 'result for no pending command of this agent (repeat or unknown), kept in the stream only');
      return [];
    },
  };
  const stages = await startStages(ctx, [results]);

  let busy = false;
  const pass = async () => {
    if (busy) return;
    busy = true;
    try {
      for (const c of await expireCommands(db, ctx.config.COMMAND_RESULT_TIMEOUT_MS)) commandMetrics.byOutcome.inc({ status: c.status });
      while ((await deliverQueued(db, nc, log)) >= BATCH) { /* more are waiting */ }
    } catch (err) {
      log.warn({ err: errorMessage(err) }, 'command delivery pass failed, will retry');
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void pass(), 1000);
  // An agent coming online gets its queue at once rather than at the next pass.
  const statusSub = nc.subscribe(subjects.all.agentStatus, { callback: () => void pass() });
  return {
    stop: async () => {
      clearInterval(timer);
      statusSub.unsubscribe();
      while (busy) await new Promise((r) => setTimeout(r, 20));
      await stages.stop();
    },
  };
}
