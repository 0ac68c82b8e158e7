// Property-based fuzzing (fast-check) of the ECS mapping: toEcs, mergeMissing and fieldGetter on hostile events, and the round trip through the JSON parser.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzParameters, hostileKey, hostileText, invalidUtf8, jsonValue } from '../../test/fuzz/arbitraries.js';
import { parseJson } from '../normalize/parsers/json.js';
import { fieldGetter, mergeMissing, toEcs } from './ecs.js';
import { Event } from './proto.js';

const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).length;

// Plain checks, not expect(): they run ten thousand times per property, and expect() cost more than the code under test.
function check(ok: boolean, problem: () => string): void {
  if (!ok) throw new Error(problem());
}

function unpolluted(): void {
  check(Object.getOwnPropertyNames(Object.prototype).length === PROTOTYPE_NAMES, () => `Object.prototype was changed: ${Object.getOwnPropertyNames(Object.prototype).join(', ')}`);
}

const wellFormed = (s: string): string => Buffer.from(s, 'utf8').toString('utf8');
// Well-formed: a lone surrogate cannot cross the wire (protobuf strings are UTF-8; decoding refuses it, which the runner dead-letters).
const text = fc.oneof(hostileText(20), invalidUtf8).map(wellFormed);
const labels = fc.array(fc.tuple(hostileKey.map(wellFormed), text), { maxLength: 4 }).map((entries) => {
  const o: Record<string, string> = {};
  for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
});
const extraJson = fc.oneof(
  { weight: 4, arbitrary: jsonValue(4).map((v) => wellFormed(JSON.stringify(v))) },
  { weight: 1, arbitrary: text },
  { weight: 1, arbitrary: fc.constantFrom('{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"polluted":1}}}', '{"host":{"__proto__":{"polluted":1}}}', '[1]', 'null', '{') },
);

/** Events as a hostile publisher could put them on the stream (encoded and decoded, as stages see them). */
const hostileEvent = fc.record({
  message: text, host: fc.record({ name: text, ip: fc.array(text, { maxLength: 2 }) }, { requiredKeys: [] }),
  user: fc.record({ name: text }, { requiredKeys: [] }), tags: fc.array(text, { maxLength: 3 }), labels, extra_json: extraJson,
  process: fc.record({ pid: fc.nat(), exit_code: fc.integer() }, { requiredKeys: [] }),
  source: fc.record({ ip: text, port: fc.nat({ max: 70000 }) }, { requiredKeys: [] }),
}, { requiredKeys: [] }).map((o) => Event.decode(Event.encode(o as Event).finish()));

describe('fuzzing the ECS mapping with fast-check', () => {
  it('toEcs builds a serializable document from any event, typed fields winning, Object.prototype untouched', () => {
    fc.assert(fc.property(hostileEvent, (e) => {
      const doc = toEcs(e);
      check(Object.getPrototypeOf(doc) === Object.prototype, () => 'the document lost its prototype');
      const again = JSON.parse(JSON.stringify(doc)) as Record<string, any>;
      check(!e.message || again.message === e.message, () => `message ${JSON.stringify(again.message)} instead of ${JSON.stringify(e.message)}`);
      check(!e.user?.name || again.user.name === e.user.name, () => 'user.name lost');
      check(e.process?.pid == null || again.process.pid === e.process.pid, () => 'process.pid lost');
      unpolluted();
    }), fuzzParameters());
  });

  it('mergeMissing adds every own key it lacks and overwrites none', () => {
    const obj = jsonValue(3).filter((v): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v));
    fc.assert(fc.property(obj, obj, (to, from) => {
      const beforeKeys = Object.keys(to);
      const scalars = beforeKeys.filter((k) => to[k] === null || typeof to[k] !== 'object').map((k) => [k, to[k]] as const);
      mergeMissing(to, from);
      for (const k of Object.keys(from)) check(Object.hasOwn(to, k), () => `key ${JSON.stringify(k)} not merged`);
      // Keys that were there stay, and (at the top) keep their scalar values.
      for (const k of beforeKeys) check(Object.hasOwn(to, k), () => `key ${JSON.stringify(k)} lost`);
      for (const [k, v] of scalars) check(Object.is(to[k], v), () => `key ${JSON.stringify(k)} overwritten`);
      unpolluted();
    }), fuzzParameters());
  });

  it('fieldGetter reads only own properties, whatever the name', () => {
    fc.assert(fc.property(hostileEvent, fc.array(hostileKey, { minLength: 1, maxLength: 3 }), (e, parts) => {
      const name = parts.join('.');
      const v = fieldGetter(name)(e);
      check(typeof v !== 'function', () => `${JSON.stringify(name)} read a function from a prototype`);
      unpolluted();
    }), fuzzParameters());
  });

  it('the JSON parser reads back the typed fields toEcs wrote', () => {
    const roundTrip = fc.record({
      message: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }), user: fc.record({ name: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }) }),
      event: fc.record({ action: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 20 }), category: fc.array(fc.constantFrom('authentication', 'network', 'process'), { minLength: 1, maxLength: 2 }) }),
      source: fc.record({ port: fc.integer({ min: 1, max: 65535 }) }), tags: fc.array(fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 3 }),
    });
    fc.assert(fc.property(roundTrip, (e) => {
      const [back] = parseJson(JSON.stringify(toEcs(e)), { sourceId: 'x', receivedMs: 0 });
      expect(back).toMatchObject({ message: e.message, user: { name: e.user.name }, event: { action: e.event.action, category: e.event.category }, source: { port: e.source.port }, tags: e.tags });
    }), fuzzParameters());
  });
});
