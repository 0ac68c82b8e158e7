// Optional detection on the host with the same Sigma engine as the detect service: alerts travel as events.
import { Detector, formatProblem, loadRules } from '../services/detect/index.js';
import type { Alert, Event } from '../services/core/proto.js';
import type { Stamp } from './events.js';

/**
 * The agent may publish only on its own subjects, so a local detection is shipped as an event of kind
 * `alert` in its telemetry: the backend stores it, and rules or analysts can act on it.
 */
export function alertEvent(a: Alert, stamp: Stamp): Event {
  return {
    timestamp: a.timestamp || new Date().toISOString(),
    event: { kind: 'alert', category: ['intrusion_detection'], type: ['info'], action: 'local-detection', module: 'agent', dataset: 'agent.detection', risk_score: a.score ?? 0 },
    host: { name: stamp.hostName, hostname: stamp.hostName },
    agent: { id: stamp.agentId, type: 'soc-agent', version: stamp.version },
    message: `${a.rule_title} (${a.level})`,
    tags: ['local-detection', ...(a.tags ?? [])],
    labels: { rule_id: a.rule_id ?? '', rule_level: a.level ?? '', matched_events: String(a.event_ids?.length ?? 0) },
  };
}

export class LocalRules {
  private constructor(private readonly detector: Detector) {}

  /** Loads the rules directory; rule problems are returned as file:line messages, the good rules still run. */
  static load(dir: string): { rules: LocalRules; problems: string[] } {
    const { rules, problems } = loadRules([dir]);
    const detector = new Detector(rules);
    return { rules: new LocalRules(detector), problems: [...problems, ...detector.problems].map(formatProblem) };
  }

  /** Alert events for what these events match (correlations included, in event time). */
  evaluate(events: readonly Event[], stamp: Stamp): Event[] {
    if (events.length === 0) return [];
    return this.detector.evaluate(events).map((a) => alertEvent(a, stamp));
  }
}
