// The parsed form of Sigma documents: what the loader produces and the compiler consumes.

export const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'] as const;
export type Level = (typeof LEVELS)[number];

/** Where a rule or one of its parts was written, for messages a rule author can act on. */
export interface SourceRef {
  file: string;
  line: number;
}

export interface Logsource {
  product?: string;
  category?: string;
  service?: string;
}

/** One piece of a Sigma string after escapes are resolved. */
export type Part =
  | { k: 'lit'; s: string }
  | { k: 'star' }
  | { k: 'one' }
  /** One character out of a set (windash). */
  | { k: 'cls'; chars: string }
  /** A %placeholder% left for `expand`, resolved when the rule is compiled. */
  | { k: 'ph'; name: string };

export type CompareOp = 'gt' | 'gte' | 'lt' | 'lte';
export type TimeUnit = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year';

/** One value of a field test after the transformation modifiers ran. */
export type Value =
  | { t: 'pattern'; parts: Part[] }
  | { t: 're'; source: string; flags: string }
  | { t: 'cidr'; cidr: string }
  | { t: 'num'; op: CompareOp | 'eq'; n: number }
  | { t: 'time'; unit: TimeUnit; op: CompareOp | 'eq'; n: number }
  | { t: 'null' }
  | { t: 'exists'; exists: boolean }
  | { t: 'fieldref'; field: string; mode: 'eq' | 'contains' | 'startswith' | 'endswith' };

/**
 * The values written for one field. Each group is one written value; a group holds more than one
 * alternative when a modifier expanded it (windash, base64offset, expand). Alternatives are OR-ed;
 * groups are OR-ed, or AND-ed under `all`.
 */
export interface FieldTest {
  /** The Sigma field name, or '' for a keyword search over the whole event. */
  field: string;
  modifiers: string[];
  groups: Value[][];
  all: boolean;
  cased: boolean;
  neq: boolean;
  line: number;
}

/** A search identifier: one or more maps of field tests (maps OR-ed, tests inside a map AND-ed). */
export interface Search {
  name: string;
  maps: FieldTest[][];
  line: number;
}

export type ConditionNode =
  | { op: 'and' | 'or'; args: ConditionNode[] }
  | { op: 'not'; arg: ConditionNode }
  | { op: 'ref'; name: string }
  | { op: 'of'; count: number | 'all'; pattern: string; names: string[] };

export interface RuleTest {
  name: string;
  /** Events as ECS documents (nested or dotted keys), in stream order. */
  events: Record<string, unknown>[];
  /** true: the rule must fire; false: it must not; a number: exactly that many alerts. */
  expect: boolean | number;
  line: number;
}

interface RuleBase {
  id: string;
  title: string;
  name?: string;
  description?: string;
  status?: string;
  author?: string;
  references: string[];
  /** Written and last modified (YYYY-MM-DD as in the rule). */
  date?: string;
  modified?: string;
  level: Level;
  tags: string[];
  falsepositives: string[];
  tests: RuleTest[];
  source: SourceRef;
}

export interface DetectionRule extends RuleBase {
  kind: 'detection';
  logsource: Logsource;
  taxonomy: string;
  searches: Map<string, Search>;
  condition: ConditionNode;
  /**
   * A Sigma filter (a `filter:` document): the rules (ids or names) whose matches it suppresses when its own
   * logsource and condition hold. A filter raises no alert of its own.
   */
  filter?: string[];
}

export const CORRELATION_TYPES = ['event_count', 'value_count', 'temporal', 'temporal_ordered', 'value_sum', 'value_avg'] as const;
export type CorrelationType = (typeof CORRELATION_TYPES)[number];

/** A count condition: every bound given must hold (gt 100 and lte 200 is a range). */
export interface CountCondition {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  eq?: number;
  neq?: number;
}

export interface CorrelationRule extends RuleBase {
  kind: 'correlation';
  type: CorrelationType;
  /** Referenced rules, by id or name, in the written order (the order matters for temporal_ordered). */
  rules: string[];
  groupBy: string[];
  timespanMs: number;
  condition: CountCondition | undefined;
  /** The field of value_count / value_sum / value_avg. */
  field: string | undefined;
  /** alias -> rule name or id -> field in that rule's events. */
  aliases: Record<string, Record<string, string>>;
  /** Whether the referenced rules also raise their own alerts. */
  generate: boolean;
}

export type SigmaRule = DetectionRule | CorrelationRule;

/** A problem found while loading: the rule it concerns is skipped, the others load. */
export interface LoadProblem {
  file: string;
  line: number;
  message: string;
  /** Warnings do not stop the rule from loading. */
  severity: 'error' | 'warning';
}

export function formatProblem(p: LoadProblem): string {
  return `${p.file}:${p.line}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;
}
