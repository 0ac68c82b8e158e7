// Checks that a regular expression runs in linear time on hostile input and means the same under RE2-style
// engines: no lookaround, no backreference, no unbounded repetition; and times it on long near-miss strings.

export interface RegexProblem {
  at: number;
  what: string;
}

/**
 * The constructs of a JavaScript regular expression source that a linear engine (RE2, Rust regex) lacks or
 * that let a backtracking engine run away: lookaround, backreferences, and *, + or {n,} repetition.
 * Bounded repetition ({0,16}, ?) is allowed: with it every start position does bounded work.
 */
export function regexProblems(source: string): RegexProblem[] {
  const out: RegexProblem[] = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') {
      const n = source[i + 1] ?? '';
      if (!inClass && /[1-9]/.test(n)) out.push({ at: i, what: `backreference \\${n}` });
      if (!inClass && n === 'k' && source[i + 2] === '<') out.push({ at: i, what: 'named backreference \\k<...>' });
      i++;
      continue;
    }
    if (inClass) { if (c === ']') inClass = false; continue; }
    if (c === '[') { inClass = true; if (source[i + 1] === ']') i++; continue; }
    if (c === '(' && source[i + 1] === '?') {
      const look = /^\(\?(?:=|!|<=|<!)/.exec(source.slice(i));
      if (look) out.push({ at: i, what: `lookaround ${look[0]}` });
      continue;
    }
    if (c === '*' || c === '+') out.push({ at: i, what: `unbounded repetition ${c}` });
    if (c === '{') {
      const m = /^\{(\d+),\}/.exec(source.slice(i));
      if (m) out.push({ at: i, what: `unbounded repetition ${m[0]}` });
    }
  }
  return out;
}

/**
 * Groups of more than maxLength characters under a repetition that V8 unrolls into copies: {m,n} with n - m
 * from 1 to 3, or m of 2 or 3 (? is allowed). Each copy is compiled again with everything after it; one such
 * {0,3} made an expression take 250 ms to compile, and the detect service compiles on every rules reload.
 */
export function unrolledGroups(source: string, maxLength = 60): RegexProblem[] {
  const out: RegexProblem[] = [];
  const open: number[] = [];
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === '\\') { i++; continue; }
    if (inClass) { if (c === ']') inClass = false; continue; }
    if (c === '[') { inClass = true; continue; }
    if (c === '(') { open.push(i); continue; }
    if (c !== ')') continue;
    const start = open.pop() ?? 0;
    const q = /^\{(\d+)(?:,(\d+))?\}/.exec(source.slice(i + 1));
    if (!q || i - start <= maxLength) continue;
    const min = Number(q[1]);
    const max = Number(q[2] ?? q[1]);
    if ((max - min >= 1 && max - min <= 3) || (min >= 2 && min <= 3)) out.push({ at: start, what: `a ${i - start + 1}-character group repeated ${q[0]}` });
  }
  return out;
}

/** CPU time of fn in milliseconds (not wall time: the machine may be busy with other work). */
export function cpuMs(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  const t = process.cpuUsage(t0);
  return (t.user + t.system) / 1000;
}

/** Fragments that partly match the web patterns: encodings, separators, openings, keywords. */
export const NEAR_MISS_FRAGMENTS = [
  '%', '%25', '%2525', '%2e', '%252e', '%2f', '%5c', '%c0%ae', '%c0', '%%32', '%u002e', '\\x', '\\xc0', '0x2e', '.', '..', '../', '..%2f', '.%00.',
  './', '/', '//', '\\', '/etc', '/etc/', 'etc/', '/proc/self', '/bin/', 'c:\\', 'c:', ';', '|', '&', '&&', '%3b', '%7c', '%0a', '\\n', '`', '$', '$(',
  '${', '$IFS', '${IFS', "'", '"', "a'", "w'h'", 'c\\a', '$@', ' ', '+', '%20', '%09', 'id', 'cat ', ';cat ', '| ping ', 'sleep ', '{cat,', '/???/',
  '?', '*', '{', '{{', '{{7*', '${7*', '#{', '<%', '<%=', '{%', '[[', '__', '.__class', 'java.lang.', 'T(', 'http://', '//127.', '127.0.0.', '0x7f',
  '169.254.', 'gopher:', 'file:', 'php://', 'or ', "' or '", ' or 1=', 'union ', 'select', '/*', '/**/', '*/', '--', '#', '(', ')', '=', '<', '>',
  '<script', '<img ', ' on', 'onx', 'javascript', 'javascript:', 'alert', '&#', '&lt;', 'a', '0', '1', '_', 'é',
];

/** A string of about n characters made by repeating s. */
export function repeatTo(s: string, n: number): string {
  return s.repeat(Math.ceil(n / Math.max(1, s.length))).slice(0, n);
}

/** A seeded string of about n characters of random fragments: near misses that mix. */
export function fragmentSoup(seed: number, n: number, fragments: readonly string[] = NEAR_MISS_FRAGMENTS): string {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  let s = '';
  while (s.length < n) s += fragments[Math.floor(next() * fragments.length)];
  return s.slice(0, n);
}
