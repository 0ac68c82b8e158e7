// The API's item types, derived from its TypeBox schemas: the one contract the server validates against and
// the dashboard compiles against (web/src/lib/api.ts imports these as types only, so nothing of the server ships).
import type { Static } from 'typebox';
import type { AgentSchema, CommandSchema } from '../command/schemas.js';
import type { AlertDetail, AuditItem, BulkRefused, BulkTriage, DeadLetter, EventItem, FilterPreview, Graph, GraphEdge, GraphNode, HistoryEntry, Incident, RuleItem, SavedFilter, Stats, Timeline, TimelineItem, Triage, UserItem } from './schemas.js';

export type IncidentT = Static<typeof Incident>;
export type AlertDetailT = Static<typeof AlertDetail>;
export type HistoryEntryT = Static<typeof HistoryEntry>;
export type TriageT = Static<typeof Triage>;
export type BulkTriageT = Static<typeof BulkTriage>;
export type BulkRefusedT = Static<typeof BulkRefused>;
export type EventItemT = Static<typeof EventItem>;
export type GraphNodeT = Static<typeof GraphNode>;
export type GraphEdgeT = Static<typeof GraphEdge>;
export type GraphT = Static<typeof Graph>;
export type StatsT = Static<typeof Stats>;
export type RuleItemT = Static<typeof RuleItem>;
export type DeadLetterT = Static<typeof DeadLetter>;
export type UserItemT = Static<typeof UserItem>;
export type AuditItemT = Static<typeof AuditItem>;
export type AgentT = Static<typeof AgentSchema>;
export type CommandT = Static<typeof CommandSchema>;
export type FilterPreviewT = Static<typeof FilterPreview>;
export type SavedFilterT = Static<typeof SavedFilter>;
export type TimelineT = Static<typeof Timeline>;
export type TimelineItemT = Static<typeof TimelineItem>;
export type EntityKindT = TimelineT['entity']['kind'];
