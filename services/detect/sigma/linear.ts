// Matching in time linear in the text, whatever the rule: Sigma wildcards by a glob matcher without regular
// expressions, and `|re` values by RE2 (re2js: no backtracking, so no pattern can stall the detect stage).
import { RE2JS } from 're2js';
import type { Part } from './types.js';

/** A piece of a wildcard pattern between stars: characters, `?` and character classes. */
type Atom = { k: 'lit'; c: string } | { k: 'one' } | { k: 'cls'; chars: string };

function atomsOf(parts: readonly Part[]): Atom[][] {
  const segments: Atom[][] = [[]];
  for (const p of parts) {
    if (p.k === 'star') segments.push([]);
    else if (p.k === 'lit') for (const c of p.s) segments.at(-1)!.push({ k: 'lit', c });
    else if (p.k === 'one') segments.at(-1)!.push({ k: 'one' });
    else if (p.k === 'cls') segments.at(-1)!.push({ k: 'cls', chars: p.chars });
    else throw new Error(`placeholder %${p.name}% was not expanded`);
  }
  return segments;
}

/** Whether `seg` matches the code points of `s` starting at index `at` (indexes into a code point array). */
function segmentAt(seg: readonly Atom[], s: readonly string[], at: number): boolean {
  if (at + seg.length > s.length) return false;
  for (let j = 0; j < seg.length; j++) {
    const a = seg[j]!;
    const c = s[at + j]!;
    if (a.k === 'lit' ? a.c !== c : a.k === 'cls' ? !a.chars.includes(c) : false) return false;
  }
  return true;
}

/**
 * A matcher for a wildcard pattern (`*` any run, `?` one character, classes) over whole strings. The first
 * segment is anchored at the start and the last at the end; the middle ones are taken leftmost-first, which
 * is exact for globs and costs at most (text length x pattern length), never exponential.
 */
export function globMatcher(parts: readonly Part[]): (s: string) => boolean {
  if (parts.every((p) => p.k === 'lit' || p.k === 'star')) return literalGlob(parts);
  const segments = atomsOf(parts);
  const head = segments[0]!;
  const tail = segments.length > 1 ? segments.at(-1)! : undefined;
  const middle = segments.slice(1, -1).filter((seg) => seg.length > 0);
  const min = segments.reduce((n, seg) => n + seg.length, 0);
  return (text: string) => {
    const s = Array.from(text);
    if (s.length < min) return false;
    if (!segmentAt(head, s, 0)) return false;
    if (!tail) return s.length === head.length;
    let at = head.length;
    const end = s.length - tail.length;
    for (const seg of middle) {
      let found = -1;
      for (let i = at; i + seg.length <= end; i++) if (segmentAt(seg, s, i)) { found = i; break; }
      if (found < 0) return false;
      at = found + seg.length;
    }
    return at <= end && segmentAt(tail, s, end);
  };
}

/** The common case, stars between literal text: startsWith, indexOf and endsWith on the string itself. */
function literalGlob(parts: readonly Part[]): (s: string) => boolean {
  const segments: string[] = [''];
  for (const p of parts) {
    if (p.k === 'star') segments.push('');
    else if (p.k === 'lit') segments[segments.length - 1] += p.s;
  }
  const head = segments[0]!;
  if (segments.length === 1) return (s) => s === head;
  const tail = segments.at(-1)!;
  const middle = segments.slice(1, -1).filter(Boolean);
  const min = segments.reduce((n, seg) => n + seg.length, 0);
  return (s: string) => {
    if (s.length < min || !s.startsWith(head) || !s.endsWith(tail)) return false;
    let at = head.length;
    const end = s.length - tail.length;
    for (const seg of middle) {
      const found = s.indexOf(seg, at);
      if (found < 0 || found + seg.length > end) return false;
      at = found + seg.length;
    }
    return true;
  };
}

const RE2_FLAGS: Readonly<Record<string, number>> = { i: RE2JS.CASE_INSENSITIVE, m: RE2JS.MULTILINE, s: RE2JS.DOTALL };

/**
 * Compiles a `|re` value for RE2. Throws with RE2's reason for what it does not take (lookaround,
 * backreferences): a rule that needs them is refused at load time rather than risking the stage.
 */
export function compileRe2(source: string, flags: string): RE2JS {
  let f = 0;
  for (const c of flags) f |= RE2_FLAGS[c] ?? 0;
  return RE2JS.compile(source, f);
}

/**
 * What every match of a part of a pattern is or contains: `exact`, the part matches exactly one of these strings (so
 * they can be joined to their neighbours'); `any`, every match contains at least one of these (null: nothing known).
 */
type Need = { exact: string[] } | { any: string[] | null };

/** Most strings a Need keeps: more, and the check would cost about what RE2 does. */
const MAX_STRINGS = 24;
const UNKNOWN: Need = { any: null };
const EMPTY: Need = { exact: [''] };

/** Thrown where the pattern uses what the reader does not follow: the pattern then gets no prefilter. */
class GiveUp extends Error {}

function anyOf(n: Need): string[] | null {
  if ('any' in n) return n.any;
  return n.exact.includes('') ? null : n.exact;
}

/** The more selective of two sets: the longer shortest string, then the fewer strings. */
function better(a: string[] | null, b: string[] | null): string[] | null {
  if (!a) return b;
  if (!b) return a;
  const shortest = (x: string[]) => Math.min(...x.map((s) => s.length));
  const d = shortest(a) - shortest(b);
  return d > 0 || (d === 0 && a.length <= b.length) ? a : b;
}

/** Two exact parts one after the other, exact while the strings stay few. */
function join(a: { exact: string[] }, b: { exact: string[] }): { exact: string[] } | null {
  if (a.exact.length * b.exact.length > MAX_STRINGS) return null;
  return { exact: [...new Set(a.exact.flatMap((x) => b.exact.map((y) => x + y)))] };
}

/**
 * Parts one after the other: exact if they all are, else the best of what each run of exact parts and each other part
 * must contain (every match of the whole holds a match of each).
 */
function sequence(parts: Need[]): Need {
  let run: { exact: string[] } = { exact: [''] };
  let best: string[] | null = null;
  let exact = true;
  for (const p of parts) {
    if ('exact' in p) {
      const joined = join(run, p);
      if (joined) { run = joined; continue; }
      best = better(best, anyOf(run));
      run = p;
      exact = false;
      continue;
    }
    exact = false;
    best = better(better(best, anyOf(run)), p.any);
    run = { exact: [''] };
  }
  return exact ? run : { any: better(best, anyOf(run)) };
}

function alternate(branches: Need[]): Need {
  if (branches.every((b) => 'exact' in b)) {
    const exact = [...new Set(branches.flatMap((b) => (b as { exact: string[] }).exact))];
    if (exact.length <= MAX_STRINGS) return { exact };
  }
  const sets = branches.map(anyOf);
  if (sets.some((x) => x === null)) return UNKNOWN;
  const any = [...new Set(sets.flat() as string[])];
  return { any: any.length <= MAX_STRINGS ? any : null };
}

/** The characters of a plain ASCII literal: printable, as RE2 and V8 fold them alike (other characters are not followed). */
const plain = (c: string): boolean => c.length === 1 && c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) <= 0x7e;
/** RE2's \s and \d. */
const SPACE = ['\t', '\n', '\f', '\r', ' '];
const DIGIT = [...'0123456789'];
const CONTROL: Readonly<Record<string, string>> = { n: '\n', r: '\r', t: '\t', f: '\f', v: '\v', a: '\x07' };

/**
 * Reads an RE2 pattern (one RE2 has compiled) for the strings that every match contains one of. Conservative by
 * design: a prefilter built on it may only skip texts RE2 would not match, so whatever is unusual (inline flags after
 * the start, \Q quoting, non-ASCII literals, classes it cannot list) counts as unknown, and unknown parts never narrow
 * the result.
 */
class NeedReader {
  private i = 0;
  constructor(private readonly src: string) {}

  read(): Need {
    const n = this.alternation();
    if (this.i !== this.src.length) throw new GiveUp();
    return n;
  }

  private alternation(): Need {
    const branches = [this.branch()];
    while (this.src[this.i] === '|') {
      this.i++;
      branches.push(this.branch());
    }
    return branches.length === 1 ? branches[0]! : alternate(branches);
  }

  private branch(): Need {
    const parts: Need[] = [];
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') parts.push(this.piece());
    return sequence(parts);
  }

  private piece(): Need {
    const atom = this.atom();
    const q = /^(?:([*+?])|\{(\d+)(,(\d*))?\})\??/.exec(this.src.slice(this.i));
    if (!q) return atom;
    this.i += q[0].length;
    const min = q[1] === '+' ? 1 : q[1] ? 0 : Number(q[2]);
    const max = q[1] ? (q[1] === '?' ? 1 : Infinity) : q[3] === undefined ? min : q[4] === '' ? Infinity : Number(q[4]);
    if (min === 1 && max === 1) return atom;
    if (min === 0 && max === 1 && 'exact' in atom) return { exact: [...new Set(['', ...atom.exact])] };
    if (min === 0) return UNKNOWN;
    return { any: anyOf(atom) };
  }

  private atom(): Need {
    const c = this.src[this.i]!;
    if (c === '(') return this.group();
    if (c === '[') return this.charClass();
    if (c === '\\') return this.escape(false);
    this.i++;
    if (c === '.') return UNKNOWN;
    if (c === '^' || c === '$') return EMPTY;
    if (c === '*' || c === '+' || c === '?') throw new GiveUp();
    if (c === '{' && /^\d+(,\d*)?\}/.test(this.src.slice(this.i))) throw new GiveUp();
    return plain(c) ? { exact: [c] } : UNKNOWN;
  }

  private group(): Need {
    this.i++;
    if (this.src[this.i] === '?') {
      const head = /^\?(?::|P?<[A-Za-z_][A-Za-z0-9_]*>)/.exec(this.src.slice(this.i));
      // Inline flags, named captures of other spellings: not followed.
      if (!head) throw new GiveUp();
      this.i += head[0].length;
    }
    const n = this.alternation();
    if (this.src[this.i] !== ')') throw new GiveUp();
    this.i++;
    return n;
  }

  /** A backslash escape; in a class, only what stands for characters (assertions have no place there). */
  private escape(inClass: boolean): Need {
    const e = this.src[this.i + 1];
    if (e === undefined) throw new GiveUp();
    this.i += 2;
    if (!/[A-Za-z0-9]/.test(e)) return plain(e) ? { exact: [e] } : UNKNOWN;
    if (CONTROL[e]) return { exact: [CONTROL[e]] };
    if (e === 'd') return { exact: DIGIT };
    if (e === 's') return { exact: SPACE };
    if (!inClass && (e === 'b' || e === 'B' || e === 'A' || e === 'z')) return EMPTY;
    if (e === 'x') {
      const hex = /^(?:\{([0-9A-Fa-f]{1,6})\}|([0-9A-Fa-f]{2}))/.exec(this.src.slice(this.i));
      if (!hex) throw new GiveUp();
      this.i += hex[0].length;
      const ch = String.fromCodePoint(parseInt(hex[1] ?? hex[2]!, 16));
      return plain(ch) ? { exact: [ch] } : UNKNOWN;
    }
    if (e === 'p' || e === 'P') {
      if (this.src[this.i] === '{') {
        const close = this.src.indexOf('}', this.i);
        if (close < 0) throw new GiveUp();
        this.i = close + 1;
      } else this.i++;
      return UNKNOWN;
    }
    if (e === 'w' || e === 'W' || e === 'D' || e === 'S' || e === 'C') return UNKNOWN;
    // \Q...\E quoting, octal and anything else.
    throw new GiveUp();
  }

  /** One member of a class at i (a character or an escape), as the characters it stands for; null if not listable. */
  private classMember(): string[] | null {
    const c = this.src[this.i]!;
    if (c === '\\') {
      const n = this.escape(true);
      return 'exact' in n ? n.exact : null;
    }
    this.i++;
    return plain(c) ? [c] : null;
  }

  /** A bracketed class: the characters it lists when they are few, plain and not negated; else unknown. */
  private charClass(): Need {
    this.i++;
    const negated = this.src[this.i] === '^';
    if (negated) this.i++;
    const chars = new Set<string>();
    let listable = true;
    let first = true;
    for (;;) {
      const c = this.src[this.i];
      if (c === undefined) throw new GiveUp();
      if (c === ']' && !first) { this.i++; break; }
      first = false;
      if (c === '[' && this.src[this.i + 1] === ':') {
        const close = this.src.indexOf(':]', this.i + 2);
        if (close < 0) throw new GiveUp();
        this.i = close + 2;
        listable = false;
        continue;
      }
      const lo = this.classMember();
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && this.src[this.i + 1] !== undefined) {
        // A range: both ends must be single characters.
        this.i++;
        const hi = this.classMember();
        if (!lo || !hi || lo.length !== 1 || hi.length !== 1) { listable = false; continue; }
        const a = lo[0]!.charCodeAt(0), b = hi[0]!.charCodeAt(0);
        if (b < a) throw new GiveUp();
        if (b - a >= MAX_STRINGS) { listable = false; continue; }
        for (let x = a; x <= b; x++) chars.add(String.fromCharCode(x));
        continue;
      }
      if (lo) for (const x of lo) chars.add(x);
      else listable = false;
    }
    if (negated || !listable || chars.size === 0 || chars.size > MAX_STRINGS) return UNKNOWN;
    return { exact: [...chars] };
  }
}

/** A literal as a regular expression that matches exactly it. */
export const escapeLiteral = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');

/** Literals as one alternation of escaped strings: no quantifier, so V8 runs it in time linear in the text. */
export const literalAlternation = (literals: readonly string[], flags: string): RegExp => new RegExp(literals.map(escapeLiteral).join('|'), flags);

/** Inline flags at the very start of a pattern, as Sigma rules write `(?i)`: only these are followed. */
const LEADING_FLAGS = /^\(\?([imsU]+)\)/;

/**
 * Strings every match of an RE2 pattern contains at least one of, and whether they are compared without case; null
 * when nothing certain is known. A set is worth a check only if its strings are rarer than the pattern's matches'
 * texts, which they are for most patterns of the pack: a literal name, or one of the few characters an attack needs.
 */
export function requiredLiterals(source: string, flags: string): { strings: string[]; fold: boolean } | null {
  let fold = flags.includes('i');
  let body = source;
  const lead = LEADING_FLAGS.exec(source);
  if (lead) {
    if (lead[1]!.includes('i')) fold = true;
    body = source.slice(lead[0].length);
  }
  if (/[^\x20-\x7e]/.test(body)) return null;
  try {
    const strings = anyOf(new NeedReader(body).read());
    return strings && strings.length > 0 && !strings.includes('') ? { strings, fold } : null;
  } catch (err) {
    if (err instanceof GiveUp) return null;
    throw err;
  }
}

/**
 * A `|re` value compiled for RE2, tried only on texts holding one of the strings its every match contains
 * (requiredLiterals): RE2 in JavaScript is many times slower than a substring search, and most texts an event offers a
 * rule lack them. The check has no quantifier (a plain substring, or a V8 pattern of escaped literal alternatives,
 * under `i` with Unicode case folding like RE2's), so it stays linear too.
 */
export function compileRegex(source: string, flags: string): { test(s: string): boolean } {
  const re = compileRe2(source, flags);
  const need = requiredLiterals(source, flags);
  if (!need) return re;
  if (!need.fold && need.strings.length === 1) {
    const lit = need.strings[0]!;
    return { test: (s) => s.includes(lit) && re.test(s) };
  }
  const pre = literalAlternation(need.strings, need.fold ? 'iu' : 'u');
  return { test: (s) => pre.test(s) && re.test(s) };
}
