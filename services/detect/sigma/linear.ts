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
