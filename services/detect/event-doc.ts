// Turns an ECS document (a rule's test event, a hunted record) into a normalized Event.
import { ecsField, setPath } from '../core/ecs.js';
import { ValidationError } from '../core/errors.js';
import type { Event } from '../core/proto.js';
import { isPrototypeKey, prototypeKeyReason } from '../core/untrusted.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

/** Sets a nested value in objects without prototypes (the path's keys were checked by the caller). */
function setNested(doc: Obj, path: string[], value: unknown): void {
  let o = doc;
  for (let i = 0; i < path.length - 1; i++) {
    const p = path[i]!;
    if (!Object.hasOwn(o, p) || !isObj(o[p])) o[p] = Object.create(null) as Obj;
    o = o[p] as Obj;
  }
  o[path[path.length - 1]!] = value;
}

/** Text of any value from a document: objects as JSON (String() throws on one whose toString is not a function). */
function text(v: unknown): string {
  return v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function convert(kind: string, v: unknown): unknown {
  switch (kind) {
    case 'number': case 'port': return typeof v === 'number' ? v : Number(text(v));
    case 'strings': case 'ips': return (Array.isArray(v) ? v : [v]).map(text);
    case 'bool': return v === true || v === 'true';
    default: return typeof v === 'string' ? v : text(v);
  }
}

/**
 * Builds an Event from an ECS document with nested or dotted keys. Fields with a typed home go there;
 * labels and threat indicators to theirs; everything else (winlog.event_data, ...) into extra_json.
 * A key naming a prototype (`__proto__`, `constructor`, `prototype`, alone or as a dotted segment) is
 * refused with a ValidationError: documents come from files and stored events, both from outside.
 */
export function eventFromDoc(doc: Readonly<Obj>): Event {
  const e: Event = {};
  const extra: Obj = Object.create(null) as Obj;
  const walk = (o: Readonly<Obj>, prefix: string[]): void => {
    for (const [k, v] of Object.entries(o)) {
      const parts = k.split('.');
      if (parts.some(isPrototypeKey)) throw new ValidationError(prototypeKeyReason([...prefix, k].join('.'), 'the document'));
      const path = [...prefix, ...parts];
      const name = path.join('.');
      if (v === undefined || v === null) continue;
      if (name === 'labels' && isObj(v)) {
        e.labels = Object.fromEntries(Object.entries(v).map(([lk, lv]) => [lk, text(lv)]));
        continue;
      }
      if ((name === 'threat.indicator' || name === 'threat.indicators') && (Array.isArray(v) || isObj(v))) {
        e.threat = {
          indicators: (Array.isArray(v) ? v : [v]).filter(isObj).map((i) => ({
            type: text(i.type ?? ''), value: text(i.value ?? ''), feed: text(i.feed ?? i.provider ?? ''),
            confidence: Number(text(i.confidence ?? 0)), description: text(i.description ?? ''), field: text(i.field ?? i.matched_field ?? ''),
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
