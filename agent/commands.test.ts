// Command handling without NATS: the allow-list, argument checks, timeouts, output caps, the pid-reuse guard.
import { describe, expect, it } from 'vitest';
import { Command, CommandAck } from '../services/core/proto.js';
import { capOutput, prepare, type CommandContext } from './commands.js';

const START = Date.parse('2026-11-22T10:00:00.120Z');

function context(o: Partial<CommandContext> = {}): CommandContext & { killed: [number, string][] } {
  const killed: [number, string][] = [];
  let alive = true;
  return {
    agentId: 'a1', version: '0.1.0', outputMaxBytes: 1024, timeoutMs: 1000,
    collectNow: async () => ({ events: 3, processes: 2, sockets: 1 }),
    setInterval: () => undefined,
    listProcesses: async () => [],
    listSockets: async () => [],
    processStart: async (pid) => (pid === 4242 && alive ? START : undefined),
    kill: (pid, signal) => { killed.push([pid, signal]); alive = false; },
    reloadCredentials: async () => 'reloaded',
    killed,
    ...o,
  };
}

async function run(ctx: CommandContext, cmd: Parameters<typeof Command.encode>[0]) {
  const p = prepare(Command.encode(cmd).finish(), ctx);
  return { ack: CommandAck.decode(p.ack), result: await p.result() };
}

describe('commands', () => {
  it('reports a command that runs past its time limit as timed_out', async () => {
    const ctx = context({ timeoutMs: 100, collectNow: () => new Promise(() => undefined) });
    const { ack, result } = await run(ctx, { id: 'slow', action: 'collect-now' });
    expect(ack.accepted).toBe(true);
    expect(result).toMatchObject({ command_id: 'slow', status: 'timed_out', exit_code: 124, error: 'no answer within 100 ms' });
  });

  it('cuts long output to the cap and says how much it cut', async () => {
    const ctx = context({ listProcesses: async () => Array.from({ length: 100 }, (_, i) => ({ pid: i + 2, ppid: 1, name: 'x'.repeat(50), executable: '', commandLine: '', args: [], user: 'root', startMs: START, cpu: 0, memoryRss: 0, kernel: false })) });
    const { result } = await run(ctx, { id: 'big', action: 'list-processes' });
    expect(result.status).toBe('succeeded');
    expect(Buffer.byteLength(result.output!)).toBeLessThanOrEqual(1024);
    expect(result.output).toMatch(/\[output cut: \d+ of \d+ bytes omitted\]$/);
    expect(capOutput('short', 1024)).toBe('short');
    expect(capOutput('é'.repeat(1000), 1024)).not.toContain('\uFFFD');
  });

  it('kills only the process that started at the given time, to the millisecond or to the second', async () => {
    const wrong = context();
    const refused = await run(wrong, { id: 'k1', action: 'kill-process', args: { pid: '4242', start: '2026-11-22T10:00:00.121Z' } });
    expect(refused.result).toMatchObject({ status: 'failed', error: expect.stringContaining('refused: pid 4242 started at 2026-11-22T10:00:00.120Z') });
    expect(wrong.killed).toEqual([]);
    const otherSecond = await run(wrong, { id: 'k2', action: 'kill-process', args: { pid: '4242', start: '2026-11-22T10:00:01Z' } });
    expect(otherSecond.result.status).toBe('failed');
    expect(wrong.killed).toEqual([]);

    const bySecond = context();
    expect((await run(bySecond, { id: 'k3', action: 'kill-process', args: { pid: '4242', start: '2026-11-22T10:00:00Z', signal: 'SIGKILL' } })).result)
      .toMatchObject({ status: 'succeeded', output: 'sent SIGKILL to pid 4242; it has ended' });
    expect(bySecond.killed).toEqual([[4242, 'SIGKILL']]);

    const byMs = context();
    expect((await run(byMs, { id: 'k4', action: 'kill-process', args: { pid: '4242', start: String(START) } })).result.status).toBe('succeeded');
    expect(byMs.killed).toEqual([[4242, 'SIGTERM']]);
  });

  it('says so when there is no process with the pid, and never signals pid 1', async () => {
    const ctx = context();
    expect((await run(ctx, { id: 'k5', action: 'kill-process', args: { pid: '999', start: String(START) } })).result.error).toBe('no process with pid 999');
    expect((await run(ctx, { id: 'k6', action: 'kill-process', args: { pid: '1', start: String(START) } })).result.error).toContain('refused: pid 1 is init');
    expect(ctx.killed).toEqual([]);
  });

  it('rejects bad arguments in the ack, before anything runs', async () => {
    const ctx = context();
    for (const [args, why] of [
      [{ pid: 'abc', start: String(START) }, 'pid: must be a whole number'],
      [{ pid: '4242', start: 'yesterday' }, 'start: must be an RFC 3339 time or Unix milliseconds'],
      [{ pid: '4242', start: String(START), signal: 'SIGSTOP' }, 'signal'],
    ] as const) {
      const { ack, result } = await run(ctx, { id: 'bad', action: 'kill-process', args });
      expect(ack).toMatchObject({ accepted: false, error: expect.stringContaining(why) });
      expect(result).toMatchObject({ status: 'failed', exit_code: 2 });
    }
    expect((await run(ctx, { id: 'hb', action: 'set-interval', args: { seconds: '600', collector: 'heartbeat' } })).ack.error).toContain('heartbeat: 1-300');
    expect(ctx.killed).toEqual([]);
  });

  it('hands interval changes to the agent', async () => {
    const calls: unknown[] = [];
    const ctx = context({ setInterval: (w, s) => { calls.push([w, s]); } });
    expect((await run(ctx, { id: 'i', action: 'set-interval', args: { seconds: '30', collector: 'resources' } })).result.output).toBe('resources interval set to 30 s');
    expect(calls).toEqual([['resources', 30]]);
  });
});
