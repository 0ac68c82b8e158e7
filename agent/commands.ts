// Operator commands on cmd.<agentId>: decode, check against the allow-list, acknowledge at once, run, report.
import { checkCommandArgs, type CommandAction, type CommandArgs, type IntervalName } from '../services/core/commands.js';
import { errorMessage } from '../services/core/errors.js';
import { Command, CommandAck, type CommandResult, type minisoc } from '../services/core/proto.js';
import { rfc3339 } from './events.js';
import type { ProcessInfo, SocketInfo } from './snapshot.js';

/** A command the agent will not run: undecodable, unknown action, bad arguments, expired, not for us. */
export class CommandRejected extends Error {
  override name = 'CommandRejected';
  constructor(message: string, options?: ErrorOptions) { super(message, options); }
}

/** An allowed command that ran and did not do what was asked. */
export class CommandFailed extends Error {
  override name = 'CommandFailed';
  constructor(message: string, options?: ErrorOptions) { super(message, options); }
}

export type { IntervalName };

/** What commands may do to the agent and the host; injected so tests can watch it. */
export interface CommandContext {
  agentId: string;
  version: string;
  outputMaxBytes: number;
  timeoutMs: number;
  credsFile?: string;
  collectNow(): Promise<{ events: number; processes: number; sockets: number }>;
  setInterval(which: IntervalName, seconds: number): void;
  listProcesses(): Promise<ProcessInfo[]>;
  listSockets(): Promise<SocketInfo[]>;
  /** Start time (Unix ms) of the process with this pid now, undefined when there is none. */
  processStart(pid: number): Promise<number | undefined>;
  kill(pid: number, signal: NodeJS.Signals): void;
  /** Re-reads the credentials file and reconnects with it; returns what it did. */
  reloadCredentials(): Promise<string>;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Runners = { [A in CommandAction]: (args: CommandArgs<A>, ctx: CommandContext) => Promise<string> };

/** What each action of the allow-list (services/core/commands.ts) does on this host; nothing outside it ever runs. */
const RUNNERS: Runners = {
  ping: async (_a, ctx) => `pong from ${ctx.agentId} (soc-agent ${ctx.version})`,

  'collect-now': async (_a, ctx) => JSON.stringify(await ctx.collectNow()),

  'set-interval': async (a, ctx) => {
    ctx.setInterval(a.collector, a.seconds);
    return `${a.collector} interval set to ${a.seconds} s`;
  },

  'list-processes': async (a, ctx) => {
    const list = (await ctx.listProcesses()).sort((x, y) => x.pid - y.pid).slice(0, a.limit ?? 100_000);
    return JSON.stringify(list.map((p) => ({ pid: p.pid, ppid: p.ppid, name: p.name, user: p.user, start: rfc3339(p.startMs), executable: p.executable, command_line: p.commandLine })));
  },

  'list-connections': async (a, ctx) => {
    const list = (await ctx.listSockets()).filter((s) => !a.state || s.state === a.state);
    return JSON.stringify(list);
  },

  'kill-process': async (a, ctx) => {
    if (a.pid === 1 || a.pid === process.pid) throw new CommandFailed(`refused: pid ${a.pid} is ${a.pid === 1 ? 'init' : 'the agent itself'}`);
    const actual = await ctx.processStart(a.pid);
    if (actual === undefined) throw new CommandFailed(`no process with pid ${a.pid}`);
    const same = a.start.wholeSeconds ? Math.floor(actual / 1000) === Math.floor(a.start.ms / 1000) : actual === a.start.ms;
    if (!same) {
      throw new CommandFailed(`refused: pid ${a.pid} started at ${rfc3339(actual)}, not ${rfc3339(a.start.ms)}: it is another process now (pid reused)`);
    }
    ctx.kill(a.pid, a.signal);
    for (let i = 0; i < 20; i++) {
      await delay(100);
      if ((await ctx.processStart(a.pid)) !== actual) return `sent ${a.signal} to pid ${a.pid}; it has ended`;
    }
    return `sent ${a.signal} to pid ${a.pid}; it is still running`;
  },

  'rotate-credentials': async (_a, ctx) => {
    if (!ctx.credsFile) throw new CommandFailed('not configured: this agent has no credsFile');
    return ctx.reloadCredentials();
  },
};

/** Cuts output to the cap, saying how much was cut. */
export function capOutput(text: string, maxBytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return text;
  const note = `\n[output cut: ${buf.length - maxBytes} of ${buf.length} bytes omitted]`;
  // toString() drops a character cut in half as U+FFFD: strip it.
  return buf.subarray(0, Math.max(0, maxBytes - note.length)).toString('utf8').replace(/\uFFFD$/, '') + note;
}

export interface Prepared {
  /** The command id ('' when the message could not be decoded at all). */
  id: string;
  ack: Uint8Array;
  /** Runs the command (or reports why it was rejected) and gives the result to publish. */
  result(): Promise<CommandResult>;
}

function decode(data: Uint8Array, ctx: CommandContext): { id: string; run: () => Promise<string> } {
  let cmd: minisoc.Command;
  try {
    cmd = Command.decode(data);
  } catch (err) {
    throw new CommandRejected(`malformed command: not a Command message (${errorMessage(err)})`, { cause: err });
  }
  const id = cmd.id ?? '';
  const fail = (msg: string) => Object.assign(new CommandRejected(msg), { commandId: id });
  if (!id) throw fail('malformed command: no id');
  if (cmd.agent_id && cmd.agent_id !== ctx.agentId) throw fail(`command is for agent ${cmd.agent_id}, this is ${ctx.agentId}`);
  if (Number(cmd.expires_ms) > 0 && Number(cmd.expires_ms) < Date.now()) throw fail(`command expired at ${rfc3339(Number(cmd.expires_ms))}`);
  const checked = checkCommandArgs(cmd.action ?? '', cmd.args ?? {});
  if (!checked.ok) throw fail(checked.reason);
  const run = RUNNERS[checked.action] as (args: unknown, ctx: CommandContext) => Promise<string>;
  return { id, run: () => run(checked.args, ctx) };
}

/**
 * Decodes and checks a command. The ack is ready at once; result() runs it (bounded by the
 * command timeout) or, for a rejected command, reports the rejection as a failed result.
 */
export function prepare(data: Uint8Array, ctx: CommandContext): Prepared {
  const startedMs = Date.now();
  const base = { agent_id: ctx.agentId, started_ms: startedMs };
  try {
    const { id, run } = decode(data, ctx);
    return {
      id,
      ack: CommandAck.encode({ command_id: id, accepted: true }).finish(),
      result: async () => {
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), ctx.timeoutMs); });
        try {
          const out = await Promise.race([run(), timeout]);
          if (out === 'timeout') {
            return { ...base, command_id: id, status: 'timed_out', exit_code: 124, error: `no answer within ${ctx.timeoutMs} ms`, finished_ms: Date.now() };
          }
          return { ...base, command_id: id, status: 'succeeded', exit_code: 0, output: capOutput(out, ctx.outputMaxBytes), finished_ms: Date.now() };
        } catch (err) {
          return { ...base, command_id: id, status: 'failed', exit_code: 1, error: capOutput(errorMessage(err), ctx.outputMaxBytes), finished_ms: Date.now() };
        } finally {
          clearTimeout(timer);
        }
      },
    };
  } catch (err) {
    if (!(err instanceof CommandRejected)) throw err;
    const id = (err as CommandRejected & { commandId?: string }).commandId ?? '';
    const result: CommandResult = { ...base, command_id: id, status: 'failed', exit_code: 2, error: err.message, finished_ms: startedMs };
    return { id, ack: CommandAck.encode({ command_id: id, accepted: false, error: err.message }).finish(), result: async () => result };
  }
}
