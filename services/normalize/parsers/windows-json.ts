// Windows events rendered as JSON (evtx_dump, Winlogbeat) read into the Windows record.
import { ValidationError } from '../../core/errors.js';
import type { Event } from '../../core/proto.js';
import { checkFieldSize, dict, freeName } from './guard.js';
import { type Data, parseWinInt } from './windows-fields.js';
import { type WinRecord, winEvent } from './windows.js';

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Which Windows JSON rendering a parsed document is, if any. */
export function windowsJsonShape(doc: Obj): 'evtx' | 'winlogbeat' | undefined {
  const ev = doc.Event;
  if (isObj(ev) && isObj(ev.System)) return 'evtx';
  const w = doc.winlog;
  if (isObj(w) && (w.event_id !== undefined || typeof w.channel === 'string')) return 'winlogbeat';
  return undefined;
}

/** evtx_dump writes attributes as "#attributes" inside the element, or as "<Name>_attributes" beside it. */
function attrsOf(parent: Obj, name: string): Obj | undefined {
  const node = parent[name];
  if (isObj(node) && isObj(node['#attributes'])) return node['#attributes'];
  const beside = parent[`${name}_attributes`];
  return isObj(beside) ? beside : undefined;
}

function textOf(v: unknown): unknown {
  return isObj(v) && '#text' in v ? v['#text'] : v;
}

/** A JSON value as the string Windows would have rendered (numbers as digits, nothing as ""). */
function str(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  const t = textOf(v);
  if (t !== v) return str(t);
  return JSON.stringify(v);
}

function optStr(v: unknown): string | undefined {
  const t = textOf(v);
  return t === undefined || t === null ? undefined : str(t);
}

const MAX_JSON_DEPTH = 32;

/** Windows events carry tens of fields; past this many the record is not one (the same cap as for event XML). */
const MAX_EVENT_FIELDS = 1024;
// Fields put into the record being read: records are read one at a time, start to end, without awaiting.
let fields = 0;

function putData(out: Data, key: string, value: string): void {
  if (++fields > MAX_EVENT_FIELDS) throw new ValidationError(`the event has more than ${MAX_EVENT_FIELDS} EventData / UserData fields; Windows events carry far fewer`);
  checkFieldSize(`EventData ${key}`, value);
  out[key] = value;
}

function flattenJson(o: Obj, prefix: string, out: Data, depth: number, next = new Map<string, number>()): void {
  if (depth > MAX_JSON_DEPTH) throw new ValidationError(`UserData nests deeper than ${MAX_JSON_DEPTH} levels`);
  for (const k of Object.keys(o)) {
    if (k === '#attributes' || k.endsWith('_attributes')) continue;
    const v = o[k];
    const key = prefix ? `${prefix}.${k}` : k;
    if (isObj(v) && !('#text' in v)) { flattenJson(v, key, out, depth + 1, next); continue; }
    putData(out, freeName(out, key, next), str(v));
  }
}

function evtxEventData(ed: unknown, out: Data): void {
  if (!isObj(ed)) return;
  let unnamed = 0;
  for (const k of Object.keys(ed)) {
    if (k === '#attributes') continue;
    const v = ed[k];
    if (k === 'Data') {
      // Data elements without a Name attribute: evtx_dump gives a value, an array or {"#text": [...]}.
      const t = textOf(v);
      for (const item of Array.isArray(t) ? t : [t]) putData(out, `Data${++unnamed}`, str(item));
      continue;
    }
    putData(out, k, k === 'Binary' ? str(v).trim() : str(v));
  }
}

function evtxRecord(doc: Obj): WinRecord {
  const ev = doc.Event as Obj;
  const sys = ev.System as Obj;
  const rec: WinRecord = { eventData: dict<string>() };
  fields = 0;
  const provider = attrsOf(sys, 'Provider');
  if (provider) {
    rec.provider = optStr(provider.Name ?? provider.EventSourceName);
    rec.providerGuid = optStr(provider.Guid);
  }
  const rawId = textOf(sys.EventID);
  rec.eventId = parseWinInt(typeof rawId === 'string' ? rawId.trim() : rawId);
  if (rec.eventId === undefined || rec.eventId > 0xffffffff) {
    throw new ValidationError(`Event.System.EventID ${JSON.stringify(rawId ?? null).slice(0, 40)} is not an event ID`);
  }
  rec.level = parseWinInt(textOf(sys.Level));
  rec.keywords = optStr(sys.Keywords);
  const time = attrsOf(sys, 'TimeCreated');
  if (time) rec.timeCreated = optStr(time.SystemTime);
  rec.recordId = parseWinInt(textOf(sys.EventRecordID));
  const corr = attrsOf(sys, 'Correlation');
  if (corr) rec.activityId = optStr(corr.ActivityID);
  const exec = attrsOf(sys, 'Execution');
  if (exec) { rec.processId = parseWinInt(exec.ProcessID); rec.threadId = parseWinInt(exec.ThreadID); }
  rec.channel = optStr(sys.Channel);
  rec.computer = optStr(sys.Computer);
  const sec = attrsOf(sys, 'Security');
  if (sec) rec.userSid = optStr(sec.UserID);
  evtxEventData(ev.EventData, rec.eventData);
  if (isObj(ev.UserData)) flattenUserData(ev.UserData, rec.eventData);
  return rec;
}

/** UserData holds one provider-defined element whose leaves become event_data fields. */
function flattenUserData(ud: Obj, out: Data): void {
  for (const k of Object.keys(ud)) {
    if (k === '#attributes') continue;
    const wrapper = ud[k];
    if (isObj(wrapper)) flattenJson(wrapper, '', out, 1);
    else putData(out, k, str(wrapper));
  }
}

/** An evtx_dump document {"Event": {"System": ..., "EventData": ...}} to an event. */
export function windowsFromEvtxJson(doc: Obj, record: string): Event {
  return winEvent(evtxRecord(doc), record);
}

function winlogbeatRecord(doc: Obj): WinRecord {
  const w = doc.winlog as Obj;
  const rec: WinRecord = { eventData: dict<string>() };
  fields = 0;
  rec.channel = optStr(w.channel);
  rec.provider = optStr(w.provider_name);
  rec.providerGuid = optStr(w.provider_guid);
  rec.eventId = parseWinInt(typeof w.event_id === 'string' ? w.event_id.trim() : w.event_id);
  if (rec.eventId === undefined || rec.eventId > 0xffffffff) {
    throw new ValidationError(`winlog.event_id ${JSON.stringify(w.event_id ?? null).slice(0, 40)} is not an event ID`);
  }
  const host = isObj(doc.host) ? doc.host : undefined;
  rec.computer = optStr(w.computer_name) ?? optStr(host?.name);
  rec.recordId = parseWinInt(w.record_id);
  if (Array.isArray(w.keywords)) rec.keywords = w.keywords.map(str);
  else rec.keywords = optStr(w.keywords);
  rec.activityId = optStr(w.activity_id);
  if (isObj(w.process)) {
    rec.processId = parseWinInt(w.process.pid);
    if (isObj(w.process.thread)) rec.threadId = parseWinInt(w.process.thread.id);
  }
  if (isObj(w.user)) rec.userSid = optStr(w.user.identifier);
  rec.timeCreated = optStr(doc['@timestamp']);
  rec.message = typeof doc.message === 'string' ? doc.message : undefined;
  if (isObj(w.event_data)) for (const k of Object.keys(w.event_data)) putData(rec.eventData, k, str(w.event_data[k]));
  if (isObj(w.user_data)) flattenJson(w.user_data, '', rec.eventData, 1);
  return rec;
}

/**
 * A Winlogbeat document to an event: the Windows mapping over `base`, which the JSON parser built from
 * the document's other fields (agent, host, tags...), so nothing Winlogbeat added is lost.
 */
export function windowsFromWinlogbeat(doc: Obj, record: string, base: Event): Event {
  const win = winEvent(winlogbeatRecord(doc), record);
  const target = base as Obj;
  for (const [k, v] of Object.entries(win)) {
    if (k === 'extra_json') continue;
    const cur = target[k];
    if (isObj(v) && isObj(cur)) Object.assign(cur, v);
    else target[k] = v;
  }
  const extra: Obj = base.extra_json ? (JSON.parse(base.extra_json) as Obj) : {};
  extra.winlog = (JSON.parse(win.extra_json!) as Obj).winlog;
  base.extra_json = JSON.stringify(extra);
  return base;
}
