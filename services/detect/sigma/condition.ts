// Parses a Sigma condition ("selection and not 1 of filter_*") into a tree over the search identifiers.
import type { ConditionNode } from './types.js';

/** A condition that does not parse; `column` is 1-based within the condition text. */
export class ConditionError extends Error {
  override name = 'ConditionError';
  constructor(message: string, readonly column: number) { super(message); }
}

interface Token {
  text: string;
  col: number;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(\(|\)|[^\s()]+)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < text.length && (m = re.exec(text))) {
    tokens.push({ text: m[1]!, col: m.index + m[0].length - m[1]!.length + 1 });
  }
  return tokens;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'of', 'them', 'all']);

/** Turns an identifier pattern with `*` wildcards into an anchored RegExp. */
function patternRegExp(pattern: string): RegExp {
  const body = pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return new RegExp(`^${body}$`);
}

/**
 * Parses one condition string. Precedence, loosest first: or, and, not, `x of`, parentheses.
 * Identifiers must name a search of the rule; patterns must match at least one.
 */
export function parseCondition(text: string, identifiers: readonly string[]): ConditionNode {
  const tokens = tokenize(text);
  const known = new Set(identifiers);
  let i = 0;
  const peek = (): Token | undefined => tokens[i];
  const lower = (t: Token | undefined): string | undefined => t?.text.toLowerCase();
  const fail = (message: string, t: Token | undefined): never => {
    throw new ConditionError(message, t ? t.col : text.length + 1);
  };

  function parseOr(): ConditionNode {
    const args = [parseAnd()];
    while (lower(peek()) === 'or') { i++; args.push(parseAnd()); }
    return args.length === 1 ? args[0]! : { op: 'or', args };
  }
  function parseAnd(): ConditionNode {
    const args = [parseNot()];
    while (lower(peek()) === 'and') { i++; args.push(parseNot()); }
    return args.length === 1 ? args[0]! : { op: 'and', args };
  }
  function parseNot(): ConditionNode {
    if (lower(peek()) === 'not') { i++; return { op: 'not', arg: parseNot() }; }
    return parsePrimary();
  }
  function parsePrimary(): ConditionNode {
    const t = peek();
    if (!t) return fail('condition ends where a search identifier was expected', t);
    if (t.text === '(') {
      i++;
      const inner = parseOr();
      if (peek()?.text !== ')') fail(`expected ')' to close the '(' at column ${t.col}`, peek());
      i++;
      return inner;
    }
    if (t.text === ')') return fail(`unexpected ')'`, t);
    const lt = t.text.toLowerCase();
    if (lower(tokens[i + 1]) === 'of' && (lt === 'all' || lt === 'any' || /^\d+$/.test(lt))) {
      i += 2;
      const target = peek();
      if (!target || target.text === '(' || target.text === ')') return fail(`'${t.text} of' needs 'them' or a search identifier pattern`, target);
      i++;
      const count = lt === 'all' ? 'all' : lt === 'any' ? 1 : Number(lt);
      if (count === 0) fail(`'0 of' never matches anything`, t);
      let names: string[];
      let pattern: string;
      if (target.text.toLowerCase() === 'them') {
        pattern = 'them';
        // By convention identifiers starting with '_' are helpers that `them` leaves out.
        names = identifiers.filter((n) => !n.startsWith('_'));
      } else {
        pattern = target.text;
        const re = patternRegExp(pattern);
        names = identifiers.filter((n) => re.test(n));
        if (names.length === 0) fail(`'${pattern}' matches no search identifier`, target);
      }
      if (typeof count === 'number' && count > names.length) {
        fail(`'${count} of ${pattern}' can never match: only ${names.length} search identifier(s) match`, t);
      }
      return { op: 'of', count, pattern, names };
    }
    if (KEYWORDS.has(lt)) return fail(`unexpected '${t.text}'`, t);
    if (!known.has(t.text)) {
      const hint = identifiers.find((n) => n.toLowerCase() === lt);
      return fail(`unknown search identifier '${t.text}'${hint ? ` (did you mean '${hint}'?)` : ''}`, t);
    }
    i++;
    return { op: 'ref', name: t.text };
  }

  if (tokens.length === 0) fail('empty condition', undefined);
  const tree = parseOr();
  if (i < tokens.length) fail(`unexpected '${tokens[i]!.text}' after a complete condition`, tokens[i]);
  return tree;
}

/** The search identifiers a condition uses. */
export function referencedSearches(node: ConditionNode, out = new Set<string>()): Set<string> {
  switch (node.op) {
    case 'ref': out.add(node.name); break;
    case 'of': for (const n of node.names) out.add(n); break;
    case 'not': referencedSearches(node.arg, out); break;
    default: for (const a of node.args) referencedSearches(a, out);
  }
  return out;
}
