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

const QUANTIFIER = /^(?:[*+?]|\{(\d+)(?:,\d*)?\})\??/;

/**
 * The longest run of characters that every match of `source` must contain, read from the pattern's top level only
 * (groups, classes and escapes such as \d end a run), or '' when there is none worth using. Conservative by design:
 * a prefilter built on it may only skip texts RE2 would not match, so anything unusual (top-level alternation, inline
 * flags after the start, \Q quoting, non-ASCII) gives ''.
 */
export function requiredLiteral(source: string): string {
  if (source.includes('\\Q') || /\(\?[a-zA-Z-]+\)/.test(source)) return '';
  let best = '';
  let run = '';
  const end = () => { if (run.length > best.length) best = run; run = ''; };
  let i = 0;
  /** Skips a group or class that starts at i (escapes and nested classes/groups inside), returning the index after it. */
  const skipBracketed = (at: number): number => {
    let depth = 0;
    let classAt = -1;
    for (let j = at; j < source.length; j++) {
      const c = source[j]!;
      if (c === '\\') { j++; continue; }
      if (classAt >= 0) {
        // A ']' right after '[' or '[^' is a member; any other closes the class.
        const first = classAt + (source[classAt + 1] === '^' ? 2 : 1);
        if (c === ']' && j !== first) {
          classAt = -1;
          if (depth === 0) return j + 1;
        } else if (c === '[' && source[j + 1] === ':') {
          const close = source.indexOf(':]', j + 2);
          if (close > 0) j = close + 1;
        }
        continue;
      }
      if (c === '[') classAt = j;
      else if (c === '(') depth++;
      else if (c === ')') { depth--; if (depth === 0) return j + 1; }
    }
    return -1;
  };
  while (i < source.length) {
    const c = source[i]!;
    if (c === '|') return '';
    if (c === '(' || c === '[') {
      end();
      const next = skipBracketed(i);
      if (next < 0) return '';
      i = next;
      const q = QUANTIFIER.exec(source.slice(i));
      if (q) i += q[0].length;
      continue;
    }
    if (c === ')' || c === ']') return '';
    let lit: string | undefined;
    if (c === '\\') {
      const e = source[i + 1];
      if (e === undefined) return '';
      if (/[A-Za-z0-9]/.test(e)) {
        end();
        i += 2;
        if ((e === 'p' || e === 'P' || e === 'x') && source[i] === '{') { const close = source.indexOf('}', i); if (close < 0) return ''; i = close + 1; }
        else if (e === 'p' || e === 'P') i += 1;
        else if (e === 'x') i += 2;
        else if (/[0-7]/.test(e)) while (/[0-7]/.test(source[i] ?? '')) i++;
        const q = QUANTIFIER.exec(source.slice(i));
        if (q) i += q[0].length;
        continue;
      }
      lit = e;
      i += 2;
    } else if (c === '.' || c === '^' || c === '$' || c === '{' || c === '*' || c === '+' || c === '?') {
      end();
      i += 1;
      // The quantifier of a '.' (.{1,9}) belongs to it, not to the literal text after it.
      const q = c === '.' ? QUANTIFIER.exec(source.slice(i)) : null;
      if (q) i += q[0].length;
      continue;
    } else {
      lit = c;
      i += 1;
    }
    if (lit.charCodeAt(0) > 0x7e || lit.charCodeAt(0) < 0x20) { end(); continue; }
    const q = QUANTIFIER.exec(source.slice(i));
    if (q) {
      i += q[0].length;
      // x* x? x{0,n}: the character may be absent, so it ends the run without joining it; x+ x{n,}: it is there once.
      const min = q[0][0] === '+' ? 1 : q[0][0] === '{' ? Number(q[1]) : 0;
      if (min > 0) run += lit;
      end();
      continue;
    }
    run += lit;
  }
  end();
  return best.length >= 3 ? best : '';
}

/**
 * A `|re` value compiled for RE2, tried only on texts holding the literal its every match contains: RE2 in JavaScript
 * is many times slower than a substring search, and most texts an event offers a rule lack that literal. The check
 * has no quantifier (a plain substring, or under `i` a V8 pattern of escaped literal characters with Unicode case
 * folding, like RE2's), so it stays linear too.
 */
export function compileRegex(source: string, flags: string): { test(s: string): boolean } {
  const re = compileRe2(source, flags);
  const lit = requiredLiteral(source);
  if (!lit) return re;
  if (flags.includes('i')) {
    const pre = new RegExp(lit.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'), 'iu');
    return { test: (s) => pre.test(s) && re.test(s) };
  }
  return { test: (s) => s.includes(lit) && re.test(s) };
}
