// Sigma values and modifiers: wildcard strings with escapes, and the modifier chain applied to them.
import { isIP } from 'node:net';
import type { CompareOp, FieldTest, Part, TimeUnit, Value } from './types.js';
import { compileRe2 } from './linear.js';

/** A value or modifier that cannot be used; the loader adds file:line. */
export class ValueError extends Error {
  override name = 'ValueError';
}

/** Every modifier of the Sigma modifiers appendix (v2.1), plus the `re` flags i, m, s. */
export const MODIFIERS = new Set([
  'contains', 'startswith', 'endswith', 'all', 'exists', 'cased', 'neq', 'windash', 're', 'i', 'm', 's',
  'base64', 'base64offset', 'utf16le', 'utf16be', 'utf16', 'wide', 'lt', 'lte', 'gt', 'gte',
  'minute', 'hour', 'day', 'week', 'month', 'year', 'cidr', 'expand', 'fieldref',
]);
const COMPARE = new Set<string>(['gt', 'gte', 'lt', 'lte']);
const TIME_UNITS = new Set<string>(['minute', 'hour', 'day', 'week', 'month', 'year']);
const RE_FLAGS = new Set(['i', 'm', 's']);
const ENCODINGS = new Set(['base64', 'base64offset', 'utf16le', 'utf16be', 'utf16', 'wide']);
const POSITION = new Set(['contains', 'startswith', 'endswith']);
/** Characters Windows programs accept as the start of a command-line flag. */
export const WINDASH_CHARS = '-/\u2013\u2014\u2015';

/**
 * Reads a Sigma string: `*` and `?` are wildcards; a backslash escapes `*`, `?` and itself and is a
 * plain backslash before anything else. With `placeholders`, `%name%` is a placeholder and `\%` a
 * plain percent sign.
 */
export function parseSigmaString(s: string, placeholders = false): Part[] {
  const parts: Part[] = [];
  let lit = '';
  const flush = (): void => { if (lit) { parts.push({ k: 'lit', s: lit }); lit = ''; } };
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\') {
      const n = s[i + 1];
      if (n === '*' || n === '?' || n === '\\' || (placeholders && n === '%')) { lit += n; i++; } else lit += c;
    } else if (c === '*') { flush(); if (parts.at(-1)?.k !== 'star') parts.push({ k: 'star' }); }
    else if (c === '?') { flush(); parts.push({ k: 'one' }); }
    else if (c === '%' && placeholders) {
      const end = s.indexOf('%', i + 1);
      if (end > i + 1) { flush(); parts.push({ k: 'ph', name: s.slice(i + 1, end) }); i = end; } else lit += c;
    } else lit += c;
  }
  flush();
  return parts;
}

function scalarText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v instanceof Date) return v.toISOString();
  throw new ValueError(`value ${JSON.stringify(v)} is not a string, number or boolean`);
}

/** A value during the transformation chain: text, or bytes (one char per byte) after utf16*. */
interface Work {
  parts: Part[];
  bytes: boolean;
}

function literalOf(w: Work, modifier: string): string {
  let out = '';
  for (const p of w.parts) {
    if (p.k !== 'lit') throw new ValueError(`'${modifier}' needs a plain value: wildcards and placeholders cannot be encoded (put contains/startswith/endswith after '${modifier}')`);
    out += p.s;
  }
  return out;
}

function toBuffer(w: Work, modifier: string): Buffer {
  const s = literalOf(w, modifier);
  return Buffer.from(s, w.bytes ? 'latin1' : 'utf8');
}

function mapLiterals(w: Work, f: (s: string) => string): Part[] {
  return w.parts.map((p) => (p.k === 'lit' ? { k: 'lit', s: f(p.s) } : p));
}

function utf16(s: string, bigEndian: boolean): string {
  const le = Buffer.from(s, 'utf16le');
  if (bigEndian) le.swap16();
  return le.toString('latin1');
}

/** The three base64 renderings of a value at byte offsets 0, 1 and 2, cut to the characters that do not depend on its neighbours. */
export function base64Offsets(data: Buffer): string[] {
  const out: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const enc = Buffer.concat([Buffer.alloc(shift), data]).toString('base64');
    const head = [0, 2, 3][shift]!;
    const tail = [0, 3, 2][(shift + data.length) % 3]!;
    out.push(enc.slice(head, enc.length - tail));
  }
  return out;
}

/** Marks the flag dashes of a value (a dash-like character after a non-word character, before a word character). */
function windash(parts: Part[]): Part[] {
  const out: Part[] = [];
  const isWord = (c: string | undefined): boolean => c !== undefined && /\w/.test(c);
  for (const p of parts) {
    if (p.k !== 'lit') { out.push(p); continue; }
    let lit = '';
    for (let i = 0; i < p.s.length; i++) {
      const c = p.s[i]!;
      // At the edge of a literal (start of the value or next to a wildcard) the neighbour counts as a non-word character.
      const prev = i > 0 ? p.s[i - 1] : undefined;
      const next = i + 1 < p.s.length ? p.s[i + 1] : undefined;
      if (WINDASH_CHARS.includes(c) && !isWord(prev) && isWord(next)) {
        if (lit) { out.push({ k: 'lit', s: lit }); lit = ''; }
        out.push({ k: 'cls', chars: WINDASH_CHARS });
      } else lit += c;
    }
    if (lit) out.push({ k: 'lit', s: lit });
  }
  return out;
}

function checkRegex(source: string, flags: string): { source: string; flags: string } {
  // PCRE's leading inline flags have no JavaScript form before ES2025; they become RegExp flags.
  let src = source;
  let fl = flags;
  const inline = /^\(\?([ims]+)\)/.exec(src);
  if (inline) {
    src = src.slice(inline[0].length);
    for (const f of inline[1]!) if (!fl.includes(f)) fl += f;
  }
  try {
    compileRe2(src, fl);
  } catch (err) {
    // RE2 runs in linear time; what it refuses (lookaround, backreferences) could stall the stage.
    throw new ValueError(`invalid regular expression ${JSON.stringify(source)} for the linear-time engine (RE2 syntax: no lookaround, no backreferences): ${(err as Error).message}`);
  }
  return { source: src, flags: fl };
}

export function checkCidr(s: string): void {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s.trim());
  const kind = m ? isIP(m[1]!) : isIP(s.trim());
  if (!kind) throw new ValueError(`'${s}' is not a CIDR network (10.0.0.0/8, fd00::/8)`);
  if (m && Number(m[2]) > (kind === 4 ? 32 : 128)) throw new ValueError(`'${s}' has a prefix longer than the address`);
}

function toNumber(v: unknown, modifier: string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  if (!Number.isFinite(n)) throw new ValueError(`'${modifier}' needs a number, not ${JSON.stringify(v)}`);
  return n;
}

/**
 * Builds the field test of one detection map entry (`Field|mod1|mod2: value or list`).
 * `key` is the map key as written; a key that is empty or starts with '|' is a keyword search.
 */
export function parseFieldTest(key: string, raw: unknown, line: number): FieldTest {
  const [fieldName, ...mods] = key.split('|');
  const field = fieldName!.trim();
  for (const m of mods) {
    if (!MODIFIERS.has(m)) throw new ValueError(`unknown modifier '${m}' in '${key}'`);
  }
  if (mods.includes('exists') && mods.length > 1) throw new ValueError(`'exists' cannot be combined with other modifiers in '${key}'`);
  const has = (m: string): boolean => mods.includes(m);
  const isRe = has('re');
  const compare = mods.filter((m) => COMPARE.has(m));
  const timeUnit = mods.find((m) => TIME_UNITS.has(m)) as TimeUnit | undefined;
  if (compare.length > 1) throw new ValueError(`only one of gt, gte, lt, lte can be used in '${key}'`);
  for (const m of mods) {
    if (RE_FLAGS.has(m) && !isRe) throw new ValueError(`'${m}' is a flag of 're' and needs it before: '${field}|re|${m}'`);
  }
  const typed = [isRe && 're', has('cidr') && 'cidr', has('fieldref') && 'fieldref', (compare.length > 0 || timeUnit) && 'comparison', has('exists') && 'exists']
    .filter(Boolean);
  if (typed.length > 1) throw new ValueError(`modifiers ${typed.join(' and ')} cannot be combined in '${key}'`);
  if (typed.length === 1) {
    const clash = mods.filter((m) => ENCODINGS.has(m) || m === 'windash' || m === 'expand' || (POSITION.has(m) && !has('fieldref')));
    if (clash.length) throw new ValueError(`'${clash[0]}' cannot be combined with '${typed[0]}' in '${key}'`);
  }

  const values = Array.isArray(raw) ? raw : [raw];
  if (values.length === 0) throw new ValueError(`'${key}' has an empty list of values`);
  const groups: Value[][] = [];
  for (const v of values) {
    if (Array.isArray(v) || (v !== null && typeof v === 'object' && !(v instanceof Date))) {
      throw new ValueError(`'${key}' has a nested list or map as a value; values are strings, numbers, booleans or null`);
    }
    groups.push(valueAlternatives(key, field, mods, v));
  }
  if (values.length > 1 && values.some((v) => v === null)) {
    throw new ValueError(`'${key}': null cannot be part of a list of values; use a separate selection with 'Field: null'`);
  }
  return { field, modifiers: mods, groups, all: has('all'), cased: has('cased'), neq: has('neq'), line };
}

function valueAlternatives(key: string, field: string, mods: string[], v: unknown): Value[] {
  const has = (m: string): boolean => mods.includes(m);
  if (has('exists')) {
    const b = v === true || v === 'true' ? true : v === false || v === 'false' ? false : undefined;
    if (b === undefined) throw new ValueError(`'exists' needs true or false, not ${JSON.stringify(v)}`);
    return [{ t: 'exists', exists: b }];
  }
  if (v === null || v === undefined) {
    if (mods.some((m) => m !== 'neq' && m !== 'cased')) throw new ValueError(`null cannot be used with modifiers in '${key}'`);
    return [{ t: 'null' }];
  }
  if (has('re')) {
    if (typeof v !== 'string') throw new ValueError(`'re' needs a string, not ${JSON.stringify(v)}`);
    const flags = mods.filter((m) => RE_FLAGS.has(m)).join('');
    return [{ t: 're', ...checkRegex(v, flags) }];
  }
  if (has('cidr')) {
    const s = scalarText(v);
    checkCidr(s);
    return [{ t: 'cidr', cidr: s.trim() }];
  }
  const compare = mods.find((m) => COMPARE.has(m)) as CompareOp | undefined;
  const unit = mods.find((m) => TIME_UNITS.has(m)) as TimeUnit | undefined;
  if (unit) return [{ t: 'time', unit, op: compare ?? 'eq', n: toNumber(v, unit) }];
  if (compare) return [{ t: 'num', op: compare, n: toNumber(v, compare) }];
  if (has('fieldref')) {
    if (typeof v !== 'string' || !v.trim()) throw new ValueError(`'fieldref' needs a field name, not ${JSON.stringify(v)}`);
    const mode = has('contains') ? 'contains' : has('startswith') ? 'startswith' : has('endswith') ? 'endswith' : 'eq';
    return [{ t: 'fieldref', field: v.trim(), mode }];
  }

  // A string pattern: run the transformation modifiers in the order written.
  const text = scalarText(v);
  let work: Work[] = [{ parts: typeof v === 'string' ? parseSigmaString(text, has('expand')) : [{ k: 'lit', s: text }], bytes: false }];
  const keyword = field === '';
  for (const m of mods) {
    switch (m) {
      case 'contains':
        work = work.map((w) => ({ ...w, parts: wrap(w.parts, true, true) }));
        break;
      case 'startswith':
        work = work.map((w) => ({ ...w, parts: wrap(w.parts, false, true) }));
        break;
      case 'endswith':
        work = work.map((w) => ({ ...w, parts: wrap(w.parts, true, false) }));
        break;
      case 'windash':
        work = work.map((w) => ({ ...w, parts: windash(w.parts) }));
        break;
      case 'base64':
        work = work.map((w) => ({ parts: [{ k: 'lit', s: toBuffer(w, m).toString('base64') }], bytes: false }));
        break;
      case 'base64offset':
        work = work.flatMap((w) => base64Offsets(toBuffer(w, m)).map((s): Work => ({ parts: [{ k: 'lit', s }], bytes: false })));
        break;
      case 'utf16le': case 'wide':
        work = work.map((w) => ({ parts: mapLiterals(w, (s) => utf16(s, false)), bytes: true }));
        break;
      case 'utf16be':
        work = work.map((w) => ({ parts: mapLiterals(w, (s) => utf16(s, true)), bytes: true }));
        break;
      case 'utf16':
        work = work.map((w) => {
          if (w.parts[0]?.k !== 'lit') throw new ValueError(`'utf16' needs a value that starts with plain text to put the byte order mark before`);
          const parts = mapLiterals(w, (s) => utf16(s, false));
          (parts[0] as { s: string }).s = '\xff\xfe' + (parts[0] as { s: string }).s;
          return { parts, bytes: true };
        });
        break;
      default:
        // all, cased, neq and expand act when matching or compiling, not on the value.
        break;
    }
  }
  // Keywords search the whole text of the event, so they match anywhere in it.
  if (keyword) work = work.map((w) => ({ ...w, parts: wrap(w.parts, true, true) }));
  return work.map((w) => ({ t: 'pattern', parts: mergeLiterals(w.parts) }));
}

function wrap(parts: Part[], before: boolean, after: boolean): Part[] {
  const out = parts.slice();
  if (before && out[0]?.k !== 'star') out.unshift({ k: 'star' });
  if (after && out.at(-1)?.k !== 'star') out.push({ k: 'star' });
  return out;
}

function mergeLiterals(parts: Part[]): Part[] {
  const out: Part[] = [];
  for (const p of parts) {
    const last = out.at(-1);
    if (p.k === 'lit' && last?.k === 'lit') out[out.length - 1] = { k: 'lit', s: last.s + p.s };
    else if (p.k === 'star' && last?.k === 'star') continue;
    else out.push(p);
  }
  return out;
}

/** Replaces placeholders by the configured values: one alternative per combination (values may hold wildcards). */
export function expandPlaceholders(parts: Part[], table: Readonly<Record<string, readonly string[]>>): Part[][] {
  let alts: Part[][] = [[]];
  for (const p of parts) {
    if (p.k !== 'ph') { for (const a of alts) a.push(p); continue; }
    const values = table[p.name];
    if (!values || values.length === 0) throw new ValueError(`placeholder %${p.name}% has no values configured`);
    const next: Part[][] = [];
    for (const a of alts) for (const v of values) next.push([...a, ...parseSigmaString(v)]);
    if (next.length > 4096) throw new ValueError(`placeholders expand to more than 4096 values`);
    alts = next;
  }
  return alts.map(mergeLiterals);
}
