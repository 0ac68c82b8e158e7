// Windows events (from event XML, evtx_dump JSON or Winlogbeat JSON) to normalized events: the record every rendering is read into, and the event built from it.
import { ValidationError } from '../../core/errors.js';
import type { Event } from '../../core/proto.js';
import { checkFieldSize } from './guard.js';
import { SECURITY, PROVIDERS, SYSMON, applySource, applyWho, type Mapping } from './windows-map.js';
import { braced, parseWinInt, windowsTime } from './windows-fields.js';
import { normalizeHost } from './util.js';
import { windowsMessage } from './windows-message.js';

export { parseWinInt, windowsTime } from './windows-fields.js';

/** The fields of one Windows event, whatever it was rendered as. */
export interface WinRecord {
  channel?: string;
  provider?: string;
  providerGuid?: string;
  eventId?: number;
  level?: number;
  /** Hex mask as rendered in XML ("0x8010000000000000"), or keyword names as Winlogbeat writes them. */
  keywords?: string | string[];
  timeCreated?: string;
  recordId?: number;
  activityId?: string;
  processId?: number;
  threadId?: number;
  computer?: string;
  userSid?: string;
  /** Every EventData / UserData value, verbatim, by name (null prototype: names come from the input). */
  eventData: Record<string, string>;
  message?: string;
}

const AUDIT_FAILURE = 0x10000000000000n;
const AUDIT_SUCCESS = 0x20000000000000n;
const KEYWORDS_HEX = /^0x[0-9a-fA-F]{1,16}$/;

/** Security events say success or failure in their keywords (audit success / audit failure). */
function auditOutcome(keywords: string | string[] | undefined): 'success' | 'failure' | undefined {
  if (keywords === undefined) return undefined;
  if (Array.isArray(keywords)) {
    if (keywords.includes('Audit Failure')) return 'failure';
    if (keywords.includes('Audit Success')) return 'success';
    return undefined;
  }
  if (!KEYWORDS_HEX.test(keywords)) return undefined;
  const k = BigInt(keywords);
  if (k & AUDIT_FAILURE) return 'failure';
  if (k & AUDIT_SUCCESS) return 'success';
  return undefined;
}

/** The Windows record as an Event. The winlog.* part of extra_json is the contract the detection engine reads. */
export function winEvent(rec: WinRecord, raw: string): Event {
  const id = rec.eventId!;
  const sysmon = rec.provider === 'Microsoft-Windows-Sysmon';
  const meta: NonNullable<Event['event']> = { kind: 'event', code: String(id), module: sysmon ? 'sysmon' : 'windows' };
  if (rec.provider) meta.provider = rec.provider;
  if (rec.level !== undefined && rec.level <= 0x7fffffff) meta.severity = rec.level;
  const e: Event = { event: meta, raw };
  if (rec.timeCreated) {
    const t = windowsTime(rec.timeCreated);
    if (!t) throw new ValidationError(`TimeCreated SystemTime ${JSON.stringify(rec.timeCreated.slice(0, 40))} is not a time`);
    e.timestamp = t;
  }
  const host = normalizeHost(rec.computer);
  if (host) e.host = { name: host };
  if (rec.message) {
    checkFieldSize('message', rec.message);
    e.message = rec.message;
  }
  const d = rec.eventData;
  let m: Mapping | undefined;
  if (sysmon) m = SYSMON[id];
  else if (rec.channel === 'Security') m = SECURITY[id];
  else if (rec.provider) m = PROVIDERS[rec.provider]?.[id];
  if (m) {
    meta.category = m.category.slice();
    meta.type = m.type.slice();
    meta.action = m.action;
    if (m.outcome) meta.outcome = m.outcome;
    else if (m.status) {
      const status = parseWinInt(d.Status);
      if (status !== undefined) meta.outcome = status === 0 ? 'success' : 'failure';
      if (meta.outcome === 'failure') meta.type = ['info'];
    }
    if (m.who) {
      applyWho(e, d, m.who);
      if (meta.category[0] === 'authentication' || meta.category[0] === 'session') applySource(e, d);
    }
    if (m.map) m.map(e, d);
  }
  if (!meta.outcome && rec.channel === 'Security') {
    const o = auditOutcome(rec.keywords);
    if (o) meta.outcome = o;
  }
  // Without a rendered message, one is written from what the event says, so text search finds it.
  if (!e.message) e.message = windowsMessage(e, d, id, rec.provider);

  const winlog: Record<string, unknown> = {};
  if (rec.channel !== undefined) winlog.channel = rec.channel;
  if (rec.provider !== undefined) winlog.provider_name = rec.provider;
  const guid = braced(rec.providerGuid);
  if (guid) winlog.provider_guid = guid;
  winlog.event_id = id;
  if (rec.computer !== undefined) winlog.computer_name = rec.computer;
  if (rec.recordId !== undefined) winlog.record_id = rec.recordId;
  if (rec.keywords !== undefined && rec.keywords !== '') winlog.keywords = rec.keywords;
  const activity = braced(rec.activityId);
  if (activity) winlog.activity_id = activity;
  if (rec.userSid) winlog.user = { identifier: rec.userSid };
  if (rec.processId !== undefined || rec.threadId !== undefined) {
    const p: Record<string, unknown> = {};
    if (rec.processId !== undefined) p.pid = rec.processId;
    if (rec.threadId !== undefined) p.thread = { id: rec.threadId };
    winlog.process = p;
  }
  winlog.event_data = d;
  e.extra_json = JSON.stringify({ winlog });
  return e;
}
