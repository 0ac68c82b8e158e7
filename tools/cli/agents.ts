// `soc agents` and `soc cmd`: agents with their health, and commands sent to them, straight from the database.
import { ConfigError, ValidationError } from '../../services/core/errors.js';
import { parseDurationMs } from '../../services/core/time.js';
import { FINAL, UnknownAgent, createCommand, getCommand, listAgents, listCommands, type CommandView } from '../../services/command/core.js';
import { cliActor, withDb } from './incidents.js';
import { table, terminalSafe } from './output.js';

function ago(iso: string, nowMs = Date.now()): string {
  const s = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  return s < 120 ? `${s}s ago` : s < 7200 ? `${Math.round(s / 60)}m ago` : s < 172_800 ? `${Math.round(s / 3600)}h ago` : `${Math.round(s / 86_400)}d ago`;
}


/** 'key=value' words into command arguments. */
export function parseArgs(words: string[]): Record<string, string> {
  const args: Record<string, string> = {};
  for (const w of words) {
    const i = w.indexOf('=');
    if (i <= 0) throw new ConfigError(`argument ${JSON.stringify(w)}: expected key=value (for example pid=4242)`);
    args[w.slice(0, i)] = w.slice(i + 1);
  }
  return args;
}

function printCommand(c: CommandView, json: boolean | undefined): void {
  if (json) { process.stdout.write(`${JSON.stringify(c)}\n`); return; }
  const lines = [
    `command   ${c.id}`, `agent     ${c.agentId}`, `action    ${c.action} ${Object.entries(c.args).map(([k, v]) => `${k}=${v}`).join(' ')}`.trimEnd(),
    `status    ${c.status}${c.exitCode === null ? '' : ` (exit ${c.exitCode})`}`, `issued    ${c.issuedAt} by ${c.issuedBy}, expires ${c.expiresAt}`,
  ];
  if (c.deliveredAt) lines.push(`delivered ${c.deliveredAt}`);
  if (c.finishedAt) lines.push(`finished  ${c.finishedAt}`);
  if (c.error) lines.push(`error     ${c.error}`);
  if (c.output) lines.push('output:', c.output);
  process.stdout.write(`${lines.map(terminalSafe).join('\n')}\n`);
}

export async function agentsList(o: { status?: string; json?: boolean }): Promise<void> {
  const agents = await withDb((db) => listAgents(db, { status: o.status }));
  if (o.json) { for (const a of agents) process.stdout.write(`${JSON.stringify(a)}\n`); return; }
  if (agents.length === 0) { process.stdout.write('no agents have sent a heartbeat yet\n'); return; }
  process.stdout.write(table(['AGENT', 'STATUS', 'LAST SEEN', 'HOST', 'VERSION', 'SPOOL', 'REASON'],
    agents.map((a) => [a.id, a.status, ago(a.lastSeen), a.hostname ?? '', a.version ?? '', String(a.spoolDepth), a.statusReason ?? ''])));
}

export async function cmdSend(agent: string, action: string, words: string[], o: { expires: string; wait?: string | boolean; json?: boolean }): Promise<void> {
  const args = parseArgs(words);
  const expiresInS = Math.ceil(parseDurationMs('--expires', o.expires) / 1000);
  const waitS = typeof o.wait === 'string' ? Math.ceil(parseDurationMs('--wait', o.wait) / 1000) : o.wait ? 60 : 0;
  const final = await withDb(async (db) => {
    let c: CommandView;
    try {
      c = await createCommand(db, { agentId: agent, action, args, expiresInS, issuedBy: cliActor() });
    } catch (err) {
      if (err instanceof UnknownAgent || err instanceof ValidationError) throw new ConfigError(err.message);
      throw err;
    }
    const until = Date.now() + waitS * 1000;
    while (Date.now() < until && !([...FINAL, 'timed_out', 'expired'] as string[]).includes(c.status)) {
      await new Promise((r) => setTimeout(r, 250));
      c = (await getCommand(db, c.id)) ?? c;
    }
    return c;
  });
  printCommand(final, o.json);
  if (waitS > 0 && final.status !== 'succeeded') {
    // Say why the wait ended without success (with --json the status and error are in the JSON).
    const why = final.status === 'queued'
      ? `still queued after ${waitS} s: agent ${agent} has not been online to take it (soc agents shows its status); it stays queued until ${final.expiresAt}`
      : final.status === 'running'
        ? `delivered, no result after ${waitS} s: the agent is still working on it (soc cmd show ${final.id})`
        : `${final.status}${final.error ? `: ${final.error}` : ''}`;
    if (!o.json) process.stderr.write(`soc cmd send: ${why}\n`);
    process.exitCode = 1;
  }
}

export async function cmdList(o: { agent?: string; status?: string; limit: string; json?: boolean }): Promise<void> {
  const limit = Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new ConfigError(`--limit ${JSON.stringify(o.limit)}: expected a whole number from 1 to 10000`);
  const list = await withDb((db) => listCommands(db, { agentId: o.agent, status: o.status, limit }));
  if (o.json) { for (const c of list) process.stdout.write(`${JSON.stringify(c)}\n`); return; }
  process.stdout.write(table(['COMMAND', 'AGENT', 'ACTION', 'STATUS', 'ISSUED', 'BY'],
    list.map((c) => [c.id, c.agentId, c.action, c.status, ago(c.issuedAt), c.issuedBy])));
}

export async function cmdShow(id: string, o: { json?: boolean }): Promise<void> {
  const c = await withDb((db) => getCommand(db, id));
  if (!c) throw new ConfigError(`no command ${JSON.stringify(id)}`);
  printCommand(c, o.json);
}
