// Turns an ECS document (a rule's test event, a hunted record) into a normalized Event.
import { ecsField, setPath } from '../core/ecs.js';
import type { Event } from '../core/proto.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

function setNested(doc: Obj, path: string[], value: unknown): void {
  let o = doc;
  for (let i = 0; i < path.length - 1; i++) {
    const p = path[i]!;
    if (!isObj(o[p])) o[p] = {};
    o = o[p] as Obj;
  }
  o[path[path.length - 1]!] = value;
}

function convert(kind: string, v: unknown): unknown {
  switch (kind) {
    case 'number': case 'port': return typeof v === 'number' ? v : Number(v);
    case 'strings': case 'ips': return (Array.isArray(v) ? v : [v]).map(String);
    case 'bool': return v === true || v === 'true';
    default: return typeof v === 'string' ? v : String(v);
  }
}

/**
 * Builds an Event from an ECS document with nested or dotted keys. Fields with a typed home go there;
 * labels and threat indicators to theirs; everything else (winlog.event_data, ...) into extra_json.
 */
export function eventFromDoc(doc: Readonly<Obj>): Event {
  const e: Event = {};
  const extra: Obj = {};
  const walk = (o: Readonly<Obj>, prefix: string[]): void => {
    for (const [k, v] of Object.entries(o)) {
      const path = [...prefix, ...k.split('.')];
      const name = path.join('.');
      if (v === undefined || v === null) continue;
      if (name === 'labels' && isObj(v)) {
        e.labels = Object.fromEntries(Object.entries(v).map(([lk, lv]) => [lk, String(lv)]));
        continue;
      }
      if ((name === 'threat.indicator' || name === 'threat.indicators') && (Array.isArray(v) || isObj(v))) {
        e.threat = {
          indicators: (Array.isArray(v) ? v : [v]).filter(isObj).map((i) => ({
            type: String(i.type ?? ''), value: String(i.value ?? ''), feed: String(i.feed ?? i.provider ?? ''),
            confidence: Number(i.confidence ?? 0), description: String(i.description ?? ''), field: String(i.field ?? i.matched_field ?? ''),
          })),
        };
        continue;
      }
      const f = ecsField(name);
      if (f) { setPath(e, f.proto, convert(f.kind, v)); continue; }
      if (isObj(v)) { walk(v, path); continue; }
      setNested(extra, path, v);
    }
  };
  walk(doc, []);
  if (Object.keys(extra).length) e.extra_json = JSON.stringify(extra);
  return e;
}
