// Numbered synthetic events for tests: labels carry a run name and a sequence, so loss and duplicates are countable.
import type { Event } from '../../services/core/proto.js';

export function syntheticEvents(run: string, from: number, count: number, nowMs = Date.now()): Event[] {
  const out: Event[] = [];
  for (let i = from; i < from + count; i++) {
    out.push({
      timestamp: new Date(nowMs).toISOString(),
      event: { kind: 'event', category: ['host'], type: ['info'], action: 'synthetic', module: 'agent', dataset: 'agent.synthetic' },
      message: `synthetic event ${i} of run ${run}`,
      labels: { synthetic_run: run, synthetic_seq: String(i) },
    });
  }
  return out;
}
