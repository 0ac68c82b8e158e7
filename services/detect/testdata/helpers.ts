// Test-only: build rules from inline YAML or detection objects and run them on ECS documents.
import yaml from 'js-yaml';
import type { Alert } from '../../core/proto.js';
import { Detector, type DetectorOptions } from '../detector.js';
import { eventsFromDocs } from '../hunt.js';
import { loadRuleTexts } from '../sigma/loader.js';
import { formatProblem, type SigmaRule } from '../sigma/types.js';

export const RULE_ID = '00000000-0000-4000-8000-000000000001';

/** Loads rule YAML that must be free of errors (warnings allowed). */
export function rulesFrom(text: string, file = 'inline.yml'): SigmaRule[] {
  const r = loadRuleTexts({ [file]: text });
  const errors = r.problems.filter((p) => p.severity === 'error');
  if (errors.length) throw new Error(errors.map(formatProblem).join('\n'));
  return r.rules;
}

/** A one-rule YAML document around a detection section. */
export function ruleYaml(detection: Record<string, unknown>, logsource: Record<string, string> = {}, extra: Record<string, unknown> = {}): string {
  return yaml.dump({ title: 'test rule', id: RULE_ID, level: 'high', logsource, detection, ...extra });
}

/** Whether a detection section matches an ECS document. */
export function matches(detection: Record<string, unknown>, doc: Record<string, unknown>, opts: DetectorOptions = {}): boolean {
  const d = new Detector(rulesFrom(ruleYaml(detection)), opts);
  if (d.problems.length) throw new Error(d.problems.map((p) => p.message).join('\n'));
  return d.evaluate(eventsFromDocs([doc])).length > 0;
}

/** Runs YAML rules over ECS documents (in order, ids event-0, event-1, ...). */
export function run(text: string, docs: Record<string, unknown>[], opts: DetectorOptions = {}): Alert[] {
  return new Detector(rulesFrom(text), opts).evaluate(eventsFromDocs(docs));
}
