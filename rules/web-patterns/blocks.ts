// Regular-expression building blocks for request URLs that are still URL-encoded: each character that matters
// is accepted raw, percent-encoded once, twice or three times, and in the overlong / %u / nibble forms of evasion.
//
// Every block is linear-safe by construction: alternatives start differently or are bounded, and every
// repetition has an upper bound. No lookaround and no backreferences, so the patterns mean the same under
// RE2-style linear engines.

/** The percent sign of an escape: %, or %25, %2525, ... when the value was encoded again (up to five times). */
export const PCT = '%(?:25){0,4}';

/**
 * A non-capturing alternation, with the literal prefixes its alternatives share factored out
 * (cat|curl|cut -> c(?:at|url|ut)): a backtracking engine then tries one branch per position instead of all.
 */
export function alt(...xs: string[]): string {
  const body = factor([...new Set(xs)]);
  return body.length === 1 ? body[0]! : `(?:${body.join('|')})`;
}

/** The leading literal token of a regex source: one plain character or an escaped punctuation mark, not quantified. */
function leadingToken(s: string): string | undefined {
  let tok: string | undefined;
  if (/^[a-z0-9_\-%:,=@#~'"<>!&;`]/.test(s)) tok = s[0];
  else if (/^\\[^a-zA-Z0-9]/.test(s)) tok = s.slice(0, 2);
  if (tok === undefined) return undefined;
  return /^[?*+{]/.test(s.slice(tok.length)) ? undefined : tok;
}

function factor(xs: string[]): string[] {
  const groups = new Map<string, string[]>();
  const out: (string | [string, string[]])[] = [];
  for (const x of xs) {
    const tok = leadingToken(x);
    if (tok === undefined) { out.push(x); continue; }
    let g = groups.get(tok);
    if (!g) { g = []; groups.set(tok, g); out.push([tok, g]); }
    g.push(x.slice(tok.length));
  }
  return out.map((o) => {
    if (typeof o === 'string') return o;
    const [tok, rests] = o;
    if (rests.length === 1) return tok + rests[0]!;
    const inner = factor(rests);
    return inner.length === 1 ? tok + inner[0]! : `${tok}(?:${inner.join('|')})`;
  });
}

/** One of the given bytes (two lowercase hex digits each; the rules use the i flag) as a percent escape. */
export const pct = (...hexes: string[]): string => (hexes.length === 1 ? `${PCT}${hexes[0]}` : `${PCT}(?:${hexes.join('|')})`);

/** A set of characters in all their spellings, kept factored so that an engine tries few alternatives per position. */
export interface CharSet {
  /** Raw characters, written for a regex character class. */
  raw?: string;
  /** What may follow the percent sign(s): two hex digits, or longer sequences that repeat PCT themselves. */
  pct?: string[];
  /** What may follow \x (the escape servers log for bytes outside printable ASCII). */
  esc?: string[];
  /** Other spellings (0x2e, a literal \n). */
  other?: string[];
}

/** One alternation for the union of the sets: [raw] | %..(?:a|b) | \x(?:c|d) | others. */
export function chars(...sets: CharSet[]): string {
  const raw = sets.map((x) => x.raw ?? '').join('');
  const uniq = (xs: (string[] | undefined)[]): string[] => [...new Set(xs.flatMap((x) => x ?? []))];
  const p = uniq(sets.map((x) => x.pct));
  const e = uniq(sets.map((x) => x.esc));
  const alts: string[] = [];
  if (raw) alts.push(`[${raw}]`);
  if (p.length) alts.push(`${PCT}${alt(...p)}`);
  if (e.length) alts.push(`\\\\x${alt(...e)}`);
  alts.push(...uniq(sets.map((x) => x.other)));
  return alt(...alts);
}

/** The nibble forms of a byte after its first percent sign: %%32%65 and %%32e (2 then %65), %2%65. */
function nibbles(hex: string): string[] {
  const [a, b] = [hex[0]!, hex[1]!];
  return [`${PCT}${digitCode(a)}${alt(b, `${PCT}${digitCode(b)}`)}`, `${a}${PCT}${digitCode(b)}`];
}

/** The ASCII code of a hex digit as two hex digits: '2' -> 32, 'e' -> 65 or 45 (E). */
function digitCode(d: string): string {
  if (/\d/.test(d)) return `3${d}`;
  return `[46]${'abcdef'.indexOf(d) + 1}`;
}

export function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/** A printable ASCII character raw or percent-encoded at any depth. */
export function ch(c: string): string {
  const hex = c.charCodeAt(0).toString(16).padStart(2, '0');
  return `(?:${escapeRe(c)}|${PCT}${hex})`;
}

/** The ASCII characters of s as a raw character-class body and their hex codes. */
export function ascii(s: string): CharSet {
  return { raw: [...s].map((c) => (/[\]\\^-]/.test(c) ? `\\${c}` : c)).join(''), pct: [...s].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')) };
}

// ---------------------------------------------------------------- path characters

/** A dot: raw, encoded, nibble-encoded, overlong UTF-8 (%c0%ae), %u (IIS), full-width, 0x2e. */
export const DOT_SET: CharSet = {
  raw: '.\uff0e',
  pct: ['2e', ...nibbles('2e'), `c0${PCT}(?:ae|2e)`, `c1${PCT}ae`, `e0${PCT}(?:80|40)${PCT}ae`, `f0${PCT}80${PCT}80${PCT}ae`, 'u(?:002e|ff0e|2024)', `ef${PCT}bc${PCT}8e`],
  esc: ['c0\\\\xae', 'e0\\\\x80\\\\xae', 'ef\\\\xbc\\\\x8e'],
  other: ['0x2e'],
};

/** A forward slash in the same spellings, plus the invalid overlong forms IIS once accepted. */
export const SLASH_SET: CharSet = {
  raw: '/\uff0f',
  pct: ['2f', ...nibbles('2f'), `c0${PCT}(?:af|2f|9v|qf)`, `c1${PCT}af`, `e0${PCT}80${PCT}af`, `f0${PCT}80${PCT}80${PCT}af`, 'u(?:2215|002f|ff0f|2044|efc8|f025)', `ef${PCT}bc${PCT}8f`],
  esc: ['c0\\\\xaf', 'e0\\\\x80\\\\xaf', 'ef\\\\xbc\\\\x8f'],
  other: ['0x2f'],
};

/** A backslash in the same spellings. */
export const BACKSLASH_SET: CharSet = {
  raw: '\\\\\uff3c',
  pct: ['5c', ...nibbles('5c'), `c1${PCT}(?:9c|1c|8s|pc)`, `c0${PCT}5c`, 'u(?:2216|005c|ff3c|fe68)', `ef${PCT}bc${PCT}bc`],
  esc: ['c1\\\\x9c', 'ef\\\\xbc\\\\xbc'],
  other: ['0x5c'],
};

/** A dot, a slash, a backslash in every spelling above: for the ../ step itself, where evasion is the point. */
export const DOT_ANY = chars(DOT_SET);
export const SEP_ANY = chars(SLASH_SET, BACKSLASH_SET);

// The same characters as most paths carry them: raw, percent-encoded to any depth, the commonest overlong and
// %u forms. Used everywhere else, since the full sets in every path joint would make the expressions ten
// times longer, and their compilation (on a rules reload) too slow.
const DOT_SHORT: CharSet = { raw: '.', pct: ['2e', `c0${PCT}ae`, 'u002e'] };
const SLASH_SHORT: CharSet = { raw: '/', pct: ['2f', `c0${PCT}af`, 'u2215'] };
const BACKSLASH_SHORT: CharSet = { raw: '\\\\', pct: ['5c', `c1${PCT}9c`, 'u2216'] };
export const DOT = chars(DOT_SHORT);
export const SLASH = chars(SLASH_SHORT);
export const BACKSLASH = chars(BACKSLASH_SHORT);

/** Either directory separator. */
export const SEP = chars(SLASH_SHORT, BACKSLASH_SHORT);

/** One or more separators, with ./ segments between them (/./././etc, //etc, \\.\). */
export const SEPS = `${alt(SEP, `${DOT}${SEP}`)}{1,16}`;

/** Junk that servers or filters drop inside a ../ step: ..;/ (Tomcat), ..%00/, .%00./ */
export const STEP_JUNK = chars({ raw: ';', pct: ['3b', '00', '01'] });

/** Characters that end a file name: end of the value, a separator, a parameter delimiter, an escape. */
export const NAME_END = alt('$', '[^a-z0-9_-]');

/** Where a value starts inside a URL: after = (a parameter), a space, a quote, a bracket or a separator. */
export const VALUE_START = chars(ascii('=+\'"(<:,;|&>`'), { raw: '\\s', pct: ['20', '09', '0a', '0d'] }, SLASH_SHORT, BACKSLASH_SHORT);

// ---------------------------------------------------------------- shell syntax

export const SPACE_SET: CharSet = { raw: '\\s+', pct: ['20', '09', '0a', '0b', '0c', '0d', 'a0'], esc: ['0[9a-d]'] };
export const SPACE = chars(SPACE_SET);

/** The start of $IFS or ${IFS: whitespace to a shell. */
export const IFS = `${ch('$')}${ch('{')}?ifs`;
/**
 * Whitespace as a shell sees it, one token at a time: a space, $IFS / ${IFS, and the pieces that complete
 * ${IFS}, ${IFS%??} and $IFS$9 (}, %??, $9). Flat tokens in one bounded loop keep the expressions cheap to
 * compile; a nested optional tail inside every loop made them ten times slower.
 */
export const SHELL_SPACE = alt(SPACE, IFS, ch('}'), `${ch('$')}[0-9@*]`, `${ch('%')}${ch('?')}{1,8}`);
/**
 * The same without newlines, for loops that also take a command separator: a newline is one, and an
 * alternative that two branches of a loop can both match multiplies the ways to try (2^8 over eight rounds).
 */
export const SHELL_SPACE_NO_NEWLINE = alt(chars({ raw: '\\t\\x0b\\x0c +', pct: ['20', '09', '0b', '0c', 'a0'], esc: ['0[9bc]'] }), IFS, ch('}'), `${ch('$')}[0-9@*]`, `${ch('%')}${ch('?')}{1,8}`);

export const QUOTE_SET: CharSet = ascii('\'"');
export const QUOTE = chars(QUOTE_SET);

/** A newline: raw, escaped by the server (\x0a), encoded, or the two characters \n that payload lists carry. */
export const NEWLINE_SET: CharSet = { raw: '\\n\\r', pct: ['0a', '0d', '5c[nr]'], esc: ['0[ad]'], other: ['\\\\[nr]'] };

/** A character that separates shell commands: ; | & newline. */
export const CMD_SEP_SET: CharSet = { raw: ';|&\\n\\r', pct: ['3b', '7c', '26', '0a', '0d', '5c[nr]'], esc: ['0[ad]'], other: ['\\\\[nr]'] };
export const CMD_SEP = chars(CMD_SEP_SET);

/** The opening of a command substitution: $( or a backtick. */
export const SUBST = alt(`${ch('$')}${ch('(')}`, ch('`'));

/** What may follow a command name (one character is enough to tell): end of value, a space, a separator, a quote, ) ` # < > $ or %00. */
export const CMD_END = alt('$', chars(SPACE_SET, CMD_SEP_SET, QUOTE_SET, ascii(')`#<>$'), { pct: ['00'] }));

/** The directory of a binary: /bin/, /sbin/, /usr/bin/, /usr/local/sbin/. */
export const BIN_DIR = `${SEP}(?:usr${SEP}(?:local${SEP})?)?s?bin${SEP}`;
