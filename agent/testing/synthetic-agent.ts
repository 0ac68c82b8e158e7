// A test entry (dist/agent/testing/synthetic-agent.js): the agent without collectors, fed numbered events.
// SOC_AGENT_* configure it; SYNTH_RUN names the run, SYNTH_EVENTS_PER_TICK and SYNTH_TICK_MS set the rate.
import { createLogger } from '../../services/core/log.js';
import { Agent } from '../agent.js';
import { loadAgentConfig } from '../config.js';
import { syntheticEvents } from './synthetic.js';

const run = process.env.SYNTH_RUN ?? 'run';
const perTick = Number(process.env.SYNTH_EVENTS_PER_TICK ?? '0');
const tickMs = Number(process.env.SYNTH_TICK_MS ?? '50');
const config = loadAgentConfig();
const agent = new Agent({ config, log: createLogger('synthetic-agent', { level: config.logLevel, stderr: true }), collect: false });
await agent.start();
let next = 0;
let ticker: NodeJS.Timeout | undefined;
if (perTick > 0) {
  ticker = setInterval(() => {
    agent.emit(syntheticEvents(run, next, perTick));
    next += perTick;
  }, tickMs);
}
process.on('SIGTERM', () => {
  // Nothing is made after the count is told: tests compare what arrived with what was made.
  clearInterval(ticker);
  process.stderr.write(`synthetic-agent emitted ${next}\n`);
  void agent.stop().then(() => process.exit(0));
});
