// Hostile input generators (fast-check) shared by every fuzz target: prototype keys, deep nesting, huge tokens, broken UTF-8, control characters, unclosed markup, numeric edges.
import fc from 'fast-check';

/** Keys that reach Object.prototype from a plain object or through a path walk. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** Markup and syntax fragments the log formats give meaning to, often left unclosed. */
export const MARKUP = [
  '<', '>', '&', '"', "'", '\\', '|', '=', '[', ']', '{', '}', ':', ';', ',', ' ', '-', '/', '\t', '\r\n',
  '<Event>', '<Event ', '</Event>', '<Events>', '</Events>', '<?xml version="1.0"?>', '<?xml ', '<!--', '-->', '<![CDATA[', ']]>', '<!DOCTYPE x [<!ENTITY a "b">]>',
  '&amp;', '&lt;', '&#0;', '&#x110000;', '&#55296;', '&nope;', '&', '\\"', '\\x22', '\\|', '\\=', '\\n', 'CEF:0|', 'CEF:', '<13>', '<999>', '<13>1 ',
  '{"', '":', '[[[[', ']]]]', '{"__proto__":', '"constructor":{"prototype":', ' from ', ' port ', ' for ', ' ssh2', ' [preauth]', 'rhost=', 'user=', '(pam_unix)',
] as const;

/** Prototype keys in each format's own key syntax, for mutations to splice into real records. */
export const PROTOTYPE_FRAGMENTS = [
  ' __proto__=x', ' constructor=1', ' a.prototype=1', '__proto__=', '[__proto__ a="1"]', '[m constructor="1"]', ' __PROTO__=x ; ', ' ; CONSTRUCTOR=1 ; ',
  '<Data Name="__proto__">x</Data>', '<Data Name="constructor">x</Data>', '<__proto__>x</__proto__>', '<prototype/>', '"__proto__":{"polluted":1},',
  '"constructor":{"prototype":{"polluted":1}},', '"labels.__proto__":"x",', ' rhost=x __proto__=1', 'prototype',
] as const;

/** Characters that break naive text handling: C0 controls, DEL, lone surrogates, BOM, non-characters, line separators, combining marks, RTL override. */
export const AWKWARD_CHARS = [
  ...Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)), '\x7f', '\u0085',
  '\ud800', '\udbff', '\udc00', '\udfff', '\ufeff', '\ufffe', '\uffff', '\ufffd', '\u2028', '\u2029', '\u0301', '\u202e', '\u00a0', '\u3000',
  '\u00e9', '\u6771', '\u{1f600}',
] as const;

/** Numbers as logs write them, at the edges of what parsers convert. */
export const NUMERIC_EDGES = [
  '0', '-0', '00', '+1', '-1', '1e308', '1e309', '-1e309', '1e-400', '5e-324', 'NaN', 'Infinity', '-Infinity', '0x1f', '0X', '0b1', '1_000',
  '9007199254740991', '9007199254740993', '18446744073709551616', '4294967295', '4294967296', '65535', '65536', '99999', '2147483648',
  '1.7976931348623157e308', '.5', '5.', '1e', '', ' 1', '1 ', '١٢٣', '0xffffffffffffffff', '1795392000000', '1795392000000000000', '99999999999999999999',
] as const;

const char = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom(...AWKWARD_CHARS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
);

/** Short text mixing printable ASCII, awkward characters and syntax fragments. */
export function hostileText(maxLength = 80): fc.Arbitrary<string> {
  return fc.array(fc.oneof({ weight: 4, arbitrary: char }, { weight: 1, arbitrary: fc.constantFrom(...MARKUP) }), { maxLength }).map((parts) => parts.join(''));
}

/** Bytes that are not valid UTF-8 (overlong forms, lone continuation bytes, truncated sequences, surrogates), decoded as a receiver would. */
export const invalidUtf8: fc.Arbitrary<string> = fc.array(
  fc.oneof(
    fc.constantFrom([0xc0, 0x80], [0xe0, 0x80, 0x80], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80], [0xbf], [0xc3], [0xe2, 0x82], [0xff], [0xfe]),
    fc.uint8Array({ maxLength: 4 }).map((b) => [...b]),
    fc.string({ unit: 'grapheme-ascii', maxLength: 6 }).map((s) => [...Buffer.from(s)]),
  ),
  { maxLength: 24 },
).map((chunks) => Buffer.from(chunks.flat()).toString('utf8'));

/** A long run of one character (past MAX_FIELD_CHARS at times): the shape of most super-linear matches. */
export const hugeToken: fc.Arbitrary<string> = fc.tuple(
  fc.constantFrom('A', ' ', ':', '=', '<', '&', '\\', '"', '[', '{', 'a b', ' from x port 1', '\n', '0', '<Event>', '<!--'),
  fc.constantFrom(1_000, 20_000, 66_000),
).map(([unit, n]) => unit.repeat(Math.ceil(n / unit.length)));

/** Object keys: ordinary names, dotted names, prototype keys alone or as a dotted segment, blanks and odd characters. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('message', 'host', 'user', 'src_ip', 'source.ip', '@timestamp', 'labels.env', 'winlog', 'event_data', 'a', 'a.b', 'tags') },
  { weight: 2, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
  { weight: 1, arbitrary: fc.constantFrom('a.__proto__', '__proto__.polluted', 'constructor.prototype.polluted', 'labels.__proto__', 'x.prototype') },
  { weight: 2, arbitrary: hostileText(12) },
  { weight: 1, arbitrary: fc.constantFrom('', '.', '..', ' ', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', '#text', '#attributes', 'Data_attributes') },
);

const scalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.constantFrom(...NUMERIC_EDGES), hostileText(30), invalidUtf8,
  fc.constantFrom('2026-11-22T10:00:00Z', '10.0.0.1', '::ffff:10.0.0.1', '999.1.1.1', '-', 'Nov 22 2026 10:00:00 GMT', '1795392000'),
);

/** JSON values whose object keys come from hostileKey, nested up to `maxDepth`. */
export function jsonValue(maxDepth = 6): fc.Arbitrary<unknown> {
  const { value } = fc.letrec((tie) => ({
    value: fc.oneof({ depthSize: 'small', maxDepth }, scalar, tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 5 }),
    // Built by defineProperty so "__proto__" is an own key, as JSON.parse makes it.
    object: fc.array(fc.tuple(hostileKey, tie('value')), { maxLength: 6 }).map((entries) => {
      const o: Record<string, unknown> = {};
      for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      return o;
    }),
  }));
  return value;
}

/** A JSON object as text, now and then with prototype keys or deep nesting (hundreds to thousands of levels). */
export const jsonRecord: fc.Arbitrary<string> = fc.oneof(
  { weight: 8, arbitrary: jsonValue().map((v) => JSON.stringify(v && typeof v === 'object' && !Array.isArray(v) ? v : { value: v })) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('{"a":', '[', '{"__proto__":'), fc.integer({ min: 30, max: 5000 })).map(([open, n]) => `${open.repeat(n)}1${(open.startsWith('[') ? ']' : '}').repeat(n)}`) },
  { weight: 1, arbitrary: fc.tuple(hostileText(40), fc.constantFrom('{"m":"', '{"a":{"b":[')).map(([t, head]) => head + t) },
);

/** A string mutated from `seeds` (real records): cut, spliced, with hostile fragments, huge tokens or broken UTF-8 inserted. */
export function mutated(seeds: readonly string[]): fc.Arbitrary<string> {
  const edit = fc.oneof(
    { weight: 3, arbitrary: fc.tuple(fc.constant('insert' as const), fc.nat(), hostileText(20)) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('insert' as const), fc.nat(), fc.oneof(invalidUtf8, fc.constantFrom(...NUMERIC_EDGES), fc.constantFrom(...PROTOTYPE_KEYS))) },
    { weight: 2, arbitrary: fc.tuple(fc.constant('insert' as const), fc.nat(), fc.constantFrom(...PROTOTYPE_FRAGMENTS)) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('cut' as const), fc.nat(), fc.constant('')) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('delete' as const), fc.nat(), fc.nat({ max: 40 }).map(String)) },
    { weight: 1, arbitrary: fc.tuple(fc.constant('repeat' as const), fc.nat(), fc.nat({ max: 30 }).map(String)) },
  );
  const small = fc.tuple(fc.constantFrom(...seeds), fc.array(edit, { minLength: 1, maxLength: 4 })).map(([seed, edits]) => {
    let s = seed;
    for (const [op, at, arg] of edits) {
      const i = at % (s.length + 1);
      if (op === 'insert') s = s.slice(0, i) + arg + s.slice(i);
      else if (op === 'cut') s = s.slice(0, i);
      else if (op === 'delete') s = s.slice(0, i) + s.slice(i + Number(arg));
      else s = s.slice(0, i) + s.slice(i, i + 8).repeat(Number(arg)) + s.slice(i);
    }
    return s;
  });
  const huge = fc.tuple(fc.constantFrom(...seeds), fc.nat(), hugeToken).map(([seed, at, token]) => {
    const i = at % (seed.length + 1);
    return seed.slice(0, i) + token + seed.slice(i);
  });
  return fc.oneof({ weight: 40, arbitrary: small }, { weight: 1, arbitrary: huge });
}

/** Records of any kind: mutated seeds, random hostile text, broken UTF-8, JSON records. */
export function hostileRecord(seeds: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof({ weight: 6, arbitrary: mutated(seeds) }, { weight: 2, arbitrary: hostileText(200) }, { weight: 1, arbitrary: invalidUtf8 }, { weight: 1, arbitrary: jsonRecord });
}

/**
 * fc.assert parameters: FUZZ_SEED and FUZZ_RUNS (npm run fuzz) override the fixed seed and the run count
 * of `npm test`; FUZZ_TIME_LIMIT_MS bounds a target's whole run, an interrupted run failing.
 */
export function fuzzParameters<T>(defaultRuns = 10_000): fc.Parameters<T> {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : 20261122;
  const numRuns = process.env.FUZZ_RUNS ? Number(process.env.FUZZ_RUNS) : defaultRuns;
  const limit = Number(process.env.FUZZ_TIME_LIMIT_MS ?? 600_000);
  return { seed, numRuns, plugins: [fc.interruptAfterTimeLimit(limit, { failOnInterrupt: true })], endOnFailure: process.env.FUZZ_SHRINK !== '1' };
}
