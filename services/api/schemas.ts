// The JSON schemas (TypeBox) of the API's items and query strings; route types come from these.
import { Type, type TSchema } from 'typebox';
import { FILTER_MAX_YAML_BYTES, SEVERITIES } from '../core/topology.js';
import { ALERT_STATUSES, BULK_ACTIONS, CLOSE_REASONS, HISTORY_LIMIT, MAX_BULK_IDS, MAX_SEARCH_CHARS, MAX_SEARCH_TERMS } from './queries/incidents.js';
import { SUPPRESSION_FIELDS } from './queries/suppressions.js';
import { ENTITY_KINDS, NEIGHBOURS_MAX_TOP, TIMELINE_MAX_LIMIT, TIMELINE_ROLES } from './queries/timeline.js';

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Str = Type.String();
const NStr = Nullable(Type.String());
const Time = Type.String({ format: 'date-time' });

export const Limit = (max: number, def: number) => Type.Integer({ minimum: 1, maximum: max, default: def, description: `page size, at most ${max}` });
const Cursor = Type.String({ maxLength: 2000, description: 'nextCursor of the previous page' });
const When = (what: string) => Type.String({ maxLength: 64, description: `${what}: an ISO time or a duration before now (15m, 2h, 7d)` });

const Named = Type.Object({ id: Str, name: Type.String({ description: "the ATT&CK name; '' when the shipped table does not know the id" }) });

export const Incident = Type.Object({
  id: Str, dedupKey: Type.String({ description: 'the rule and entity values repeats are folded by' }), ruleId: Str, ruleTitle: Str, level: Str, score: Type.Number(), status: Str, count: Type.Integer(),
  firstSeen: Time, lastSeen: Time, techniques: Type.Array(Str), tactics: Type.Array(Str),
  mitre: Type.Object({ techniques: Type.Array(Named), tactics: Type.Array(Named) }, { description: 'techniques and tactics with their ATT&CK names, in the order of techniques and tactics' }),
  tags: Type.Array(Str),
  hostName: NStr, userName: NStr, sourceIp: NStr, destinationIp: NStr, agentId: NStr, assignee: NStr, closeReason: NStr, description: NStr,
});

const TriageState = Type.Object({ status: Str, assignee: NStr, closeReason: NStr });

export const HistoryEntry = Type.Object({
  at: Time, actor: Str, action: Str, from: Nullable(TriageState), to: Nullable(TriageState), comment: NStr,
  bulk: Type.Optional(Type.Integer({ description: 'how many alerts the same bulk change made' })),
});

export const AlertDetail = Type.Object({
  alert: Type.Intersect([Incident, Type.Object({ doc: Type.Unknown() })]),
  events: Type.Array(Type.Unknown()),
  history: Type.Array(HistoryEntry, { description: `the alert's audit rows, oldest first (at most ${HISTORY_LIMIT}): who changed what, when, with which comment` }),
});

export const IncidentFilters = {
  status: Type.Optional(Type.String({ maxLength: 100, description: `comma-separated: ${ALERT_STATUSES.join(', ')}` })),
  severity: Type.Optional(Type.String({ maxLength: 100, description: `comma-separated: ${SEVERITIES.join(', ')}` })),
  rule: Type.Optional(Type.String({ maxLength: 200 })),
  host: Type.Optional(Type.String({ maxLength: 255 })),
  technique: Type.Optional(Type.String({ maxLength: 16, description: 'MITRE ATT&CK technique (T1110 also matches T1110.001)' })),
  q: Type.Optional(Type.String({ maxLength: MAX_SEARCH_CHARS, description: `up to ${MAX_SEARCH_TERMS} words, each found (case-insensitive) in the rule title or id, host, user, source or destination address or a technique id, or the alert id` })),
  dedup: Type.Optional(Type.String({ maxLength: 1000, description: 'exactly this dedup key' })),
  since: Type.Optional(When('last seen at or after')),
  until: Type.Optional(When('first seen before')),
};

export const IncidentsQuery = Type.Object({
  ...IncidentFilters,
  sort: Type.Optional(Type.Enum(['score', 'time'], { default: 'time' })),
  limit: Limit(1000, 100),
  cursor: Type.Optional(Cursor),
}, { additionalProperties: false });

export const Triage = Type.Object({
  status: Type.Optional(Type.Enum([...ALERT_STATUSES])),
  closeReason: Type.Optional(Type.Enum([...CLOSE_REASONS])),
  assignee: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 64 }))),
  comment: Type.Optional(Type.String({ minLength: 1, maxLength: 4000 })),
}, { additionalProperties: false });

export const BulkTriage = Type.Object({
  ids: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { minItems: 1, maxItems: MAX_BULK_IDS, uniqueItems: true }),
  action: Type.Enum([...BULK_ACTIONS], { description: 'ack (acknowledge), close (needs closeReason) or assign (needs assignee)' }),
  closeReason: Type.Optional(Type.Enum([...CLOSE_REASONS])),
  assignee: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 64, description: 'ack: assign too; assign: the assignee (null unassigns)' }))),
  comment: Type.Optional(Type.String({ minLength: 1, maxLength: 4000, description: "kept in each alert's audit row" })),
}, { additionalProperties: false });

export const BulkRefused = Type.Object({
  statusCode: Type.Integer(), error: Str, message: Str,
  refused: Type.Array(Type.Object({ id: Str, reason: Str }), { description: 'the ids that could not be changed and why; nothing was changed' }),
});

export const Suppression = Type.Object({
  id: Str, ruleId: Str, field: Str, value: Str, until: Time, reason: Str, createdBy: Str, createdAt: Time, hits: Type.Integer(), active: Type.Boolean(),
});

export const NewSuppression = Type.Object({
  ruleId: Type.String({ minLength: 1, maxLength: 200 }),
  field: Type.Enum([...SUPPRESSION_FIELDS]),
  value: Type.String({ minLength: 1, maxLength: 255 }),
  until: Type.String({ minLength: 1, maxLength: 64, description: 'an ISO time or a duration from now (8h, 7d)' }),
  reason: Type.String({ minLength: 1, maxLength: 1000 }),
}, { additionalProperties: false });

export const FilterField = Type.Object({
  field: Str, value: Type.Union([Str, Type.Number()]), selected: Type.Boolean({ description: 'whether the proposed selection uses it' }),
});

const FilterFile = Type.String({ description: 'where the filter is stored: kv:RULE_FILTERS/<key> (the loader names it in file:line reasons)' });
const FilterKey = Type.String({ description: 'its key in the KV bucket RULE_FILTERS' });

export const FilterPreview = Type.Object({
  alertId: Str, ruleId: Str, ruleTitle: Str,
  file: FilterFile,
  key: FilterKey,
  exists: Type.Boolean({ description: 'a filter was saved for this alert already' }),
  yaml: Type.String({ description: 'the Sigma filter document: the rule\'s logsource, rules: [<rule id>], a selection of the chosen fields' }),
  candidates: Type.Array(FilterField),
  matchesEvent: Nullable(Type.Boolean({ description: 'whether it drops the rule\'s match of the alert\'s event; null when the rule alone does not match the stored event' })),
});

export const FilterQuery = Type.Object({
  fields: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: 'comma-separated ECS fields of the event to select on (default: host, user, source address and process)' })),
}, { additionalProperties: false });

export const NewFilter = Type.Object({
  yaml: Type.String({ minLength: 1, maxLength: FILTER_MAX_YAML_BYTES, description: `the Sigma filter document (the preview's, edited or not), at most ${FILTER_MAX_YAML_BYTES} bytes` }),
  comment: Type.Optional(Type.String({ minLength: 1, maxLength: 4000 })),
}, { additionalProperties: false });

export const SavedFilter = Type.Object({ id: Str, title: Str, file: FilterFile, key: FilterKey, ruleId: Str, matchesEvent: Nullable(Type.Boolean()) });

export const SavedFilterItem = Type.Object({
  alertId: Nullable(Type.String({ description: 'the alert it was saved for; null for a key written by hand' })),
  key: FilterKey, file: FilterFile, revision: Type.Integer(), savedAt: Type.String({ format: 'date-time' }),
  id: Nullable(Str), title: Nullable(Str), rules: Type.Array(Str, { description: 'the rules it names' }),
  error: Type.Optional(Type.String({ description: 'why the detect service skips it: the loader\'s file:line reasons' })),
  yaml: Type.String({ description: 'the saved document' }),
});

export const RemovedFilter = Type.Object({ alertId: Str, key: FilterKey, file: FilterFile, id: Nullable(Str), title: Nullable(Str) });

export const EventFilters = {
  since: Type.Optional(When('at or after')),
  until: Type.Optional(When('before')),
  host: Type.Optional(Type.String({ maxLength: 255 })),
  agent: Type.Optional(Type.String({ maxLength: 128 })),
  source: Type.Optional(Type.String({ maxLength: 128, description: 'log source id' })),
  category: Type.Optional(Type.String({ maxLength: 64 })),
  action: Type.Optional(Type.String({ maxLength: 255 })),
  outcome: Type.Optional(Type.String({ maxLength: 64 })),
  sourceIp: Type.Optional(Type.String({ maxLength: 64, description: 'an address or a CIDR range' })),
  destinationIp: Type.Optional(Type.String({ maxLength: 64, description: 'an address or a CIDR range' })),
  user: Type.Optional(Type.String({ maxLength: 255 })),
  q: Type.Optional(Type.String({ maxLength: 500, description: 'text the message contains (case-insensitive)' })),
  filter: Type.Optional(Type.Array(Type.String({ maxLength: 1000 }), { maxItems: 20, description: 'field=value or field~prefix on the ECS document; repeatable' })),
};

export const EventsQuery = Type.Object({ ...EventFilters, limit: Limit(1000, 100), cursor: Type.Optional(Cursor) }, { additionalProperties: false });

export const EventItem = Type.Object({
  id: Str, ts: Time, sourceId: Str, hostName: NStr, agentId: NStr, category: Type.Array(Str), action: NStr, outcome: NStr,
  sourceIp: NStr, destinationIp: NStr, userName: NStr, message: NStr, doc: Type.Unknown(),
});

export const TimelineQuery = Type.Object({
  entity: Type.String({ minLength: 1, maxLength: 1100, description: `<kind>:<value>, the kind one of ${ENTITY_KINDS.join(', ')} (ip:10.0.0.5, host:web-1, user:alice, process:sshd or its executable path, rule:<rule id>)` }),
  since: Type.Optional(When('from (default: a day before until)')),
  until: Type.Optional(When('before (default: now); the window is at most 31 days')),
  cursor: Type.Optional(Cursor),
  limit: Limit(TIMELINE_MAX_LIMIT, 100),
  top: Type.Integer({ minimum: 1, maximum: NEIGHBOURS_MAX_TOP, default: 5, description: 'neighbours per kind' }),
}, { additionalProperties: false });

export const EntityKind = Type.Enum([...ENTITY_KINDS]);

export const TimelineItem = Type.Object({
  type: Type.Enum(['event', 'alert']), id: Str,
  time: Type.String({ format: 'date-time', description: 'an event\'s time; an alert\'s last match' }),
  source: Type.Union([Str, Type.Null()], { description: 'log source or agent (an alert: of the event that raised it)' }),
  summary: Type.String({ description: 'an event\'s message on one line; an alert\'s rule title and severity' }),
  role: Type.Enum([...TIMELINE_ROLES], { description: 'the entity\'s part: source, destination or both for an address; host, user, process; rule (its alert) or evidence (an event its alert names)' }),
  severity: Type.Union([Str, Type.Null()], { description: 'alerts: the level' }),
  hostName: NStr, userName: NStr, sourceIp: NStr, destinationIp: NStr, processName: NStr, ruleId: NStr,
  count: Type.Integer({ description: 'an alert\'s folded matches; 1 for an event' }),
  status: Type.Union([Str, Type.Null()], { description: 'alerts: open, acknowledged or closed' }),
});

export const Neighbour = Type.Object({ kind: EntityKind, value: Str, count: Type.Integer({ description: 'items of the timeline it shares' }) });

export const Timeline = Type.Object({
  entity: Type.Object({ kind: EntityKind, value: Str }),
  since: Time, until: Time,
  items: Type.Array(TimelineItem),
  nextCursor: Nullable(Str),
  neighbours: Nullable(Type.Object({
    items: Type.Array(Neighbour),
    events: Type.Integer({ description: 'events counted' }),
    alerts: Type.Integer({ description: 'alerts counted' }),
    complete: Type.Boolean({ description: 'false when only the newest 10,000 events or alerts of the window were counted' }),
  }, { description: 'on the first page only (null with a cursor)' })),
});

export const GraphNode = Type.Object({
  id: Type.String({ description: 'host:<name>, ip:<address> or net:<network> (a group: expand it with expand=<id>)' }),
  kind: Type.Enum(['host', 'ip', 'group']), label: Str,
  geo: Type.Optional(Type.Object({ country: NStr, asn: Nullable(Type.Integer()) }, { description: 'of the address, or of one address of the group' })),
  alerts: Type.Integer({ description: 'alerts of the range naming it' }),
  malicious: Type.Boolean({ description: 'a threat-intel hit in the range, or a high or critical alert naming the address' }),
});
export const GraphEdge = Type.Object({ source: Str, target: Str, connections: Type.Integer(), bytes: Type.Number() });
export const GraphQuery = Type.Object({
  since: Type.Optional(When('connections at or after')),
  until: Type.Optional(When('connections before')),
  limit: Type.Integer({ minimum: 1, maximum: 5000, default: 500, description: 'most nodes drawn, at most 5000' }),
  severity: Type.Optional(Type.Enum([...SEVERITIES], { description: 'only the entities of alerts of this level or above, and their connections' })),
  source: Type.Optional(Type.String({ maxLength: 200, description: 'only connections seen in events of this source' })),
  expand: Type.Optional(Type.String({ maxLength: 6000, description: 'comma-separated groups to show address by address (net:203.0.113.0/24)' })),
}, { additionalProperties: false });
export const Graph = Type.Object({
  nodes: Type.Array(GraphNode), edges: Type.Array(GraphEdge),
  truncated: Type.Boolean({ description: 'some connection of the range is not drawn (the node limit)' }),
  from: Type.String({ format: 'date-time', description: 'start of what was read (the range widened to whole hours)' }),
  to: Type.String({ format: 'date-time', description: 'end of what was read' }),
});

export const Stats = Type.Object({
  stages: Type.Array(Type.Object({ stream: Str, consumer: Str, pending: Type.Integer(), ackPending: Type.Integer() })),
  sources: Type.Array(Type.Object({ sourceId: Str, lastEventAt: Time, eventsPerSecond: Type.Number() })),
  dlq: Type.Object({ count: Type.Integer() }),
  agents: Type.Object({ online: Type.Integer(), degraded: Type.Integer(), offline: Type.Integer(), stopped: Type.Integer({ description: 'said goodbye (shut down on purpose)' }), unknown: Type.Integer({ description: 'enrolled, not assessed yet' }) }),
  eventsPerSecond: Type.Number(),
  services: Type.Union([Type.Array(Type.Object({ name: Str, state: Str, since: Time, restarts: Type.Integer(), lastExit: Type.Union([Str, Type.Null()]) })), Type.Null()]),
});

export const RuleItem = Type.Object({
  id: Str, title: Str, level: Str, kind: Type.String({ description: 'detection, correlation, or filter (a Sigma filter document)' }), techniques: Type.Array(Str),
  hits: Type.Integer({ description: 'matches stored: alert counts summed, folded repeats included' }),
  alerts: Type.Integer({ description: 'alerts the rule opened' }),
  alerts24h: Type.Integer({ description: 'alerts opened in the last 24 hours (by when they were stored)' }),
  alerts7d: Type.Integer({ description: 'alerts opened in the last 7 days' }),
  falsePositives: Type.Integer({ description: 'its alerts closed as false_positive' }),
  filters: Type.Integer({ description: 'loaded Sigma filters naming the rule' }),
  file: Str, error: Type.Optional(Str),
  status: Type.Optional(Str), author: Type.Optional(Str), logsource: Type.Optional(Str),
  excluded: Type.Optional(Type.String({ description: 'why the rules policy leaves the rule out' })),
});

export const DeadLetter = Type.Object({
  id: Str, stage: Str, stream: Str, subject: Str, sequence: Str, recordIndex: Type.Integer(), sourceId: NStr, error: Str,
  preview: Str, bytes: Type.Integer(), failedAt: Time, retriedAt: Nullable(Time),
});

export const UserItem = Type.Object({ name: Str, role: Str, createdAt: Time, disabled: Type.Boolean() });

export const AuditItem = Type.Object({ id: Str, at: Str, actor: Str, action: Str, target: Nullable(Str), detail: Type.Unknown() });
