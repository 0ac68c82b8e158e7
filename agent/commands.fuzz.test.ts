// Property-based fuzzing (fast-check) of the agent's command handler: any bytes on cmd.<agentId>, and any
// Command message with hostile actions and arguments, end in an ack and a result with a reason; nothing outside
// the allow-list runs and Object.prototype stays as it was.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { Command, CommandAck } from '../services/core/proto.js';
import { COMMAND_ACTIONS } from '../services/core/commands.js';
import { PROTOTYPE_KEYS, fuzzParameters, hostileKey, hostileText, invalidUtf8 } from '../test/fuzz/arbitraries.js';
import { prepare, type CommandContext } from './commands.js';

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).length;

// Plain checks, not expect(): they run ten thousand times per property.
function check(ok: boolean, problem: () => string): void {
  if (!ok) throw new Error(problem());
}

/** What the handler did to the host: recorded, never done (no process is killed, no interval changed). */
const effects: string[] = [];
const ctx: CommandContext = {
  agentId: 'fuzz-agent', version: '0.0.0-fuzz', outputMaxBytes: 4096, timeoutMs: 1000,
  collectNow: async () => ({ events: 0, processes: 0, sockets: 0 }),
  setInterval: (which, seconds) => { effects.push(`interval ${which} ${seconds}`); },
  listProcesses: async () => [],
  listSockets: async () => [],
  processStart: async () => undefined,
  kill: (pid, signal) => { effects.push(`kill ${pid} ${signal}`); },
  reloadCredentials: async () => 'reloaded',
};

const wellFormed = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');
const text = fc.oneof(hostileText(40), invalidUtf8, fc.constantFrom(...PROTOTYPE_KEYS)).map(wellFormed);
const action = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...COMMAND_ACTIONS) }, { weight: 2, arbitrary: text });
const argValue = fc.oneof(text, fc.integer().map(String), fc.constantFrom('0', '-1', '1e9', 'NaN', 'Infinity', '99999999999999999999', 'SIGKILL', 'heartbeat', '2026-12-02T10:00:00Z'));
const args = fc.array(fc.tuple(fc.oneof(hostileKey, fc.constantFrom('pid', 'start', 'signal', 'collector', 'seconds', 'limit', 'state')).map(wellFormed), argValue), { maxLength: 5 })
  .map((entries) => {
    const o: Record<string, string> = {};
    for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
    return o;
  });
const command = fc.record({
  id: fc.oneof(fc.constant(''), text), agent_id: fc.oneof(fc.constant(''), fc.constant('fuzz-agent'), text), action, args,
  expires_ms: fc.oneof(fc.constant(0), fc.constant(Date.now() + 3_600_000), fc.nat()),
}).map((c) => Command.encode(c).finish());
const bytes = fc.oneof({ weight: 4, arbitrary: command }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) });

describe('fuzzing the agent command handler with fast-check', () => {
  it('answers any message with an ack and a result with a reason, and runs nothing outside the allow-list', async () => {
    const seen = { accepted: 0, refused: 0 };
    await fc.assert(fc.asyncProperty(bytes, async (data) => {
      effects.length = 0;
      const p = prepare(data, ctx);
      const ack = CommandAck.decode(p.ack);
      const result = await p.result();
      check(ack.command_id === p.id && result.command_id === p.id, () => 'ack, result and prepared ids differ');
      check(['succeeded', 'failed', 'timed_out'].includes(result.status ?? ''), () => `result status ${result.status}`);
      seen[ack.accepted ? 'accepted' : 'refused']++;
      if (!ack.accepted) {
        check(Boolean(ack.error) && result.status === 'failed' && result.exit_code === 2, () => `a refusal without its reason: ${JSON.stringify(ack)}`);
        check(effects.length === 0, () => `a refused command acted: ${effects.join(', ')}`);
      } else {
        const cmd = Command.decode(data);
        check((COMMAND_ACTIONS as string[]).includes(cmd.action ?? ''), () => `accepted an action outside the allow-list: ${cmd.action}`);
        if (result.status === 'failed') check(Boolean(result.error), () => 'a failure without its reason');
      }
      // processStart finds no process, so kill-process never reaches kill().
      check(!effects.some((e) => e.startsWith('kill')), () => `killed: ${effects.join(', ')}`);
      check(Object.getOwnPropertyNames(Object.prototype).length === PROTOTYPE_NAMES && ({} as Record<string, unknown>).polluted === undefined, () => 'Object.prototype was changed');
    }), fuzzParameters(10_000));
    // Both paths were taken many times, not only the refusal of garbage.
    check(seen.accepted > 100 && seen.refused > 100, () => `accepted ${seen.accepted}, refused ${seen.refused}`);
  }, 300_000);
});
