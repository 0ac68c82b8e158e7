// Builds Alert messages from rule matches: MITRE context, entities, score, deterministic id and dedup key.
import { createHash } from 'node:crypto';
import { fieldGetter } from '../core/ecs.js';
import type { Alert, Event } from '../core/proto.js';
import { techniquesFromTags, type Technique } from './mitre/index.js';
import type { Level, SigmaRule } from './sigma/types.js';

/** Base score per level (see README: Alert score). */
export const LEVEL_SCORE: Readonly<Record<Level, number>> = { informational: 5, low: 20, medium: 40, high: 60, critical: 80 };

/** Asset criticality label values and tags, and what they add to the score. */
const CRITICALITY: Readonly<Record<string, number>> = { low: 0, medium: 5, high: 10, critical: 15 };
const CRITICAL_TAGS: Readonly<Record<string, number>> = { 'crown-jewel': 15, 'crown-jewels': 15, 'critical-asset': 15, 'high-value': 10 };
const TI_TAGS = new Set(['threat-intel', 'ti-match', 'ioc', 'malicious-ip']);

const g = {
  winUser: fieldGetter('winlog.event_data.User'),
  winTargetUser: fieldGetter('winlog.event_data.TargetUserName'),
  winSubjectUser: fieldGetter('winlog.event_data.SubjectUserName'),
  winIp: fieldGetter('winlog.event_data.IpAddress'),
  winSrcIp: fieldGetter('winlog.event_data.SourceIp'),
  winDstIp: fieldGetter('winlog.event_data.DestinationIp'),
  winComputer: fieldGetter('winlog.computer_name'),
};

function text(v: unknown): string {
  if (typeof v !== 'string') return typeof v === 'number' ? String(v) : '';
  // Windows writes '-' for "none".
  return v === '-' ? '' : v;
}

function firstOf(...values: unknown[]): string {
  for (const v of values) { const t = text(v); if (t) return t; }
  return '';
}

/** The entities of an event: who, where, from where. Windows events fall back to their EventData. */
export function eventEntities(e: Event): { host: string; user: string; sourceIp: string; destinationIp: string; agentId: string } {
  return {
    host: firstOf(e.host?.name, e.host?.hostname, g.winComputer(e)).toLowerCase(),
    user: firstOf(e.user?.name, e.process?.user_name, g.winTargetUser(e), g.winUser(e), g.winSubjectUser(e)),
    sourceIp: firstOf(e.source?.ip, g.winIp(e), g.winSrcIp(e)),
    destinationIp: firstOf(e.destination?.ip, g.winDstIp(e)),
    agentId: firstOf(e.agent?.id),
  };
}

/** Score added for the criticality of the asset: a label asset.criticality, or a tag such as crown-jewel. */
export function assetBoost(e: Event): number {
  let best = 0;
  const label = e.labels?.['asset.criticality'] ?? e.labels?.asset_criticality ?? e.labels?.criticality;
  if (label) best = CRITICALITY[label.toLowerCase()] ?? 0;
  for (const t of e.tags ?? []) best = Math.max(best, CRITICAL_TAGS[t.toLowerCase()] ?? 0);
  return best;
}

/** Score added for threat intelligence: an indicator match (10, plus up to 5 by its confidence) or a TI tag (10). */
export function threatBoost(e: Event): number {
  const indicators = e.threat?.indicators ?? [];
  if (indicators.length) {
    const conf = Math.max(0, ...indicators.map((i) => i.confidence ?? 0));
    return 10 + Math.round((Math.min(100, conf) / 100) * 5);
  }
  return (e.tags ?? []).some((t) => TI_TAGS.has(t.toLowerCase())) ? 10 : 0;
}

/** Score added for repetition: 3 per doubling of the events behind the alert, at most 10. */
export function repetitionBoost(n: number): number {
  return n <= 1 ? 0 : Math.min(10, Math.round(3 * Math.log2(n)));
}

/** The alert score, 0-100: level base + asset criticality + threat intelligence + repetition. */
export function alertScore(level: Level, e: Event, repetitions: number): number {
  return Math.max(0, Math.min(100, LEVEL_SCORE[level] + assetBoost(e) + threatBoost(e) + repetitionBoost(repetitions)));
}

/** Same rule and same events give the same id, whichever detector instance raised it. */
export function alertId(ruleId: string, eventIds: readonly string[]): string {
  return createHash('sha256').update(ruleId).update('\n').update(eventIds.join('\n')).digest('hex').slice(0, 32);
}

/** The key under which the store folds repeats: the rule and the entity values. */
export function dedupKey(ruleId: string, entities: Readonly<Record<string, string>>): string {
  const parts = Object.keys(entities).sort().filter((k) => entities[k]).map((k) => `${k}=${entities[k]!.toLowerCase()}`);
  return [ruleId, ...parts].join('|');
}

const techniqueCache = new Map<SigmaRule, Technique[]>();

function techniquesOf(rule: SigmaRule): Technique[] {
  let t = techniqueCache.get(rule);
  if (!t) { t = techniquesFromTags(rule.tags); techniqueCache.set(rule, t); }
  return t;
}

export interface AlertInput {
  rule: SigmaRule;
  /** The event that completed the match. */
  event: Event;
  eventIds: string[];
  /** RFC 3339 times of the first and last events behind the alert. */
  firstSeen: string;
  lastSeen: string;
  /** Correlations: the group-by values, which are the alert's entities. */
  group?: Record<string, string>;
  /** How many events or earlier alerts of this dedup key stand behind this one (repetition part of the score). */
  repetitions: (dedupKey: string) => number;
}

/** An event time in ms as RFC 3339 (empty when unknown). */
export function isoTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString() : '';
}

/** Builds the Alert of a rule match. */
export function buildAlert(input: AlertInput): Alert {
  const { rule, event: e } = input;
  const ent = eventEntities(e);
  const entities: Record<string, string> = {};
  if (input.group) {
    for (const [k, v] of Object.entries(input.group)) if (v) entities[k] = v;
  } else {
    if (ent.host) entities['host.name'] = ent.host;
    if (ent.user) entities['user.name'] = ent.user;
    if (ent.sourceIp) entities['source.ip'] = ent.sourceIp;
    // The indicator that matched (a C2 address, a domain): its own entity, so an incident names what was contacted
    // and contacts with two listed addresses are two incidents.
    const indicators = [...new Set((e.threat?.indicators ?? []).map((i) => i.value ?? '').filter(Boolean))].sort();
    if (indicators.length) entities['threat.indicator.value'] = indicators.slice(0, 5).join(',');
  }
  const techniques = techniquesOf(rule);
  const key = dedupKey(rule.id, entities);
  return {
    id: alertId(rule.id, input.eventIds),
    rule_id: rule.id,
    rule_title: rule.title,
    level: rule.level,
    score: alertScore(rule.level, e, input.repetitions(key)),
    dedup_key: key,
    timestamp: input.lastSeen,
    first_seen: input.firstSeen,
    event_ids: input.eventIds,
    techniques: techniques.map((t) => ({ id: t.id, name: t.name, tactics: t.tactics })),
    tags: rule.tags,
    host_name: ent.host,
    user_name: ent.user,
    source_ip: ent.sourceIp,
    destination_ip: ent.destinationIp,
    agent_id: ent.agentId,
    description: (rule.description ?? '').slice(0, 2000),
    count: 1,
    source_id: e.source_id ?? '',
    entities,
    rule_author: (rule.author ?? '').slice(0, 500),
    rule_references: rule.references.slice(0, 20),
  };
}
