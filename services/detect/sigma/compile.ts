// Compiles a parsed detection rule into one predicate over an evaluation context.
import { resolveField } from './fieldmap.js';
import { allOf, anyOf, compileFieldTest, type Compiled, type EvalContext, type FieldSlots, type MatchOptions, type Predicate } from './match.js';
import type { ConditionNode, DetectionRule, FieldTest, Search, Value } from './types.js';

/**
 * A cheap necessary condition on one field: its lowercase value equals `value` ('eq'), the file name
 * after its last \\ or / does ('base', from endswith '\\name.exe'), or it contains every trigram of
 * `grams`, the rarest few of `value` ('gram', for any other pattern: contains, startswith, wildcards).
 */
export interface Atom {
  slot: number;
  kind: 'eq' | 'base' | 'gram';
  value: string;
  grams?: readonly number[];
}

export interface CompiledDetection {
  rule: DetectionRule;
  match: Predicate;
  /** Event codes (event.code) outside which the rule can never match, or null when any code may. */
  codes: ReadonlySet<string> | null;
  /** Atoms of which at least one holds whenever the rule matches, or null when none can be derived. */
  atoms: readonly Atom[] | null;
}

export function compileDetection(rule: DetectionRule, slots: FieldSlots, opts: MatchOptions): CompiledDetection {
  const slotOf = (field: string): number => slots.slot(resolveField(field, rule.logsource));
  const searches = new Map<string, Compiled>();
  for (const [name, search] of rule.searches) searches.set(name, compileSearch(search, slotOf, opts));
  const cond = compileCondition(rule.condition, searches);
  const atoms = requiredAtoms(rule.condition, rule.searches, slotOf);
  return { rule, match: cond.pred, codes: requiredCodes(rule.condition, rule.searches), atoms };
}

function compileSearch(search: Search, slotOf: (f: string) => number, opts: MatchOptions): Compiled {
  return anyOf(search.maps.map((tests) => allOf(tests.map((t) => compileFieldTest(t, slotOf, opts)))));
}

function compileCondition(node: ConditionNode, searches: Map<string, Compiled>): Compiled {
  switch (node.op) {
    case 'ref': return searches.get(node.name)!;
    case 'not': {
      const inner = compileCondition(node.arg, searches);
      const p = inner.pred;
      return { pred: (c: EvalContext) => !p(c), cost: inner.cost };
    }
    case 'and': return allOf(node.args.map((a) => compileCondition(a, searches)));
    case 'or': return anyOf(node.args.map((a) => compileCondition(a, searches)));
    case 'of': {
      const parts = node.names.map((n) => searches.get(n)!);
      if (node.count === 'all') return allOf(parts);
      if (node.count === 1) return anyOf(parts);
      const need = node.count;
      const preds = parts.map((p) => p.pred);
      const cost = parts.reduce((s, p) => s + p.cost, 0);
      return {
        pred: (c) => {
          let hits = 0;
          for (let i = 0; i < preds.length; i++) {
            if (preds[i]!(c) && ++hits >= need) return true;
            if (hits + (preds.length - i - 1) < need) return false;
          }
          return false;
        },
        cost,
      };
    }
  }
}

const CODE_FIELDS = new Set(['eventid', 'event.code']);

/** The event codes a single field test allows, when it is a plain EventID equality. */
function testCodes(t: FieldTest): Set<string> | null {
  if (!CODE_FIELDS.has(t.field.toLowerCase()) || t.modifiers.length > 0) return null;
  const out = new Set<string>();
  for (const alts of t.groups) {
    for (const v of alts) {
      if (v.t !== 'pattern' || v.parts.length !== 1 || v.parts[0]!.k !== 'lit') return null;
      out.add(v.parts[0]!.s.toLowerCase());
    }
  }
  return out;
}

function searchCodes(s: Search): Set<string> | null {
  const union = new Set<string>();
  for (const tests of s.maps) {
    let mapCodes: Set<string> | null = null;
    for (const t of tests) {
      const c = testCodes(t);
      if (c) mapCodes = mapCodes ? intersect(mapCodes, c) : c;
    }
    if (!mapCodes) return null;
    for (const c of mapCodes) union.add(c);
  }
  return union;
}

function intersect(a: Set<string>, b: Set<string>): Set<string> {
  return new Set([...a].filter((x) => b.has(x)));
}

/**
 * The event codes a condition requires, derived from EventID equalities on every path to a match:
 * AND takes any constrained side, OR needs all sides constrained, NOT tells nothing.
 */
export function requiredCodes(node: ConditionNode, searches: ReadonlyMap<string, Search>): Set<string> | null {
  const combine = (args: (Set<string> | null)[], and: boolean): Set<string> | null => {
    if (and) {
      let acc: Set<string> | null = null;
      for (const a of args) if (a) acc = acc ? intersect(acc, a) : a;
      return acc;
    }
    const acc = new Set<string>();
    for (const a of args) { if (!a) return null; for (const x of a) acc.add(x); }
    return acc;
  };
  switch (node.op) {
    case 'ref': return searchCodes(searches.get(node.name)!);
    case 'not': return null;
    case 'and': return combine(node.args.map((a) => requiredCodes(a, searches)), true);
    case 'or': return combine(node.args.map((a) => requiredCodes(a, searches)), false);
    case 'of': {
      const sets = node.names.map((n) => searchCodes(searches.get(n)!));
      return combine(sets, node.count === 'all');
    }
  }
}

// ---------------------------------------------------------------- atoms for the rule index

/** Rough frequency of characters in command lines, paths and log text: rarer ones make better trigrams. */
const CHAR_WEIGHT: Readonly<Record<string, number>> = {
  e: 12.7, t: 9.1, a: 8.2, o: 7.5, i: 7.0, n: 6.7, s: 6.3, h: 6.1, r: 6.0, d: 4.3, l: 4.0, c: 2.8, u: 2.8, m: 2.4, w: 2.4,
  f: 2.2, g: 2.0, y: 2.0, p: 1.9, b: 1.5, v: 1.0, k: 0.8, j: 0.15, x: 0.15, q: 0.1, z: 0.07,
  ' ': 15, '\\': 8, '.': 6, '-': 5, '/': 5, '"': 4, ':': 3, '=': 2, '_': 2,
};
const charWeight = (c: string): number => CHAR_WEIGHT[c] ?? (c >= '0' && c <= '9' ? 3 : 1);

/** The hash of three characters, as the detector computes it for every position of a field. */
export function gramHash(a: number, b: number, c: number): number {
  return ((a * 961 + b * 31 + c) >>> 0) & 0xffff;
}

/**
 * How many trigrams of a literal an event must hold before its rule is tried. One was not enough: the rarest
 * trigram of 'cmd.exe' by character frequency is '.ex', which every Windows command line holds, so dozens of rules
 * were tried on every process event. Each further trigram is one more bit test, made only when the first is there.
 * Rules tried per Windows event of the detect bench: 59.2 with one, 25.1 with three, 21.3 with four, 20.1 with six.
 */
const GRAMS_PER_ATOM = 4;

/** The rarest few distinct trigrams of a lowercase literal (by character frequency), rarest first; none if it is shorter than 3. */
function rareGrams(lit: string): number[] {
  const scored: { score: number; hash: number }[] = [];
  for (let i = 0; i + 3 <= lit.length; i++) {
    const score = charWeight(lit[i]!) * charWeight(lit[i + 1]!) * charWeight(lit[i + 2]!);
    scored.push({ score, hash: gramHash(lit.charCodeAt(i), lit.charCodeAt(i + 1), lit.charCodeAt(i + 2)) });
  }
  scored.sort((a, b) => a.score - b.score);
  const out: number[] = [];
  for (const g of scored) {
    if (out.includes(g.hash)) continue;
    out.push(g.hash);
    if (out.length === GRAMS_PER_ATOM) break;
  }
  return out;
}

/** Cost of checking a set of atoms: hash lookups are cheap and selective, trigrams less so. */
const weight = (atoms: readonly Atom[]): number => atoms.reduce((w, a) => w + (a.kind === 'gram' ? 3 : 1), 0);

/** The atom of one value: plain value, '\\file.name' ending, or a rare trigram of its longest literal part. */
function valueAtom(v: Value): Atom | null {
  if (v.t !== 'pattern') return null;
  const p = v.parts;
  if (p.length === 1 && p[0]!.k === 'lit') return { slot: -1, kind: 'eq', value: p[0]!.s.toLowerCase() };
  if (p.length === 2 && p[0]!.k === 'star' && p[1]!.k === 'lit' && /^[\\/][^\\/]+$/.test(p[1]!.s)) {
    return { slot: -1, kind: 'base', value: p[1]!.s.slice(1).toLowerCase() };
  }
  let longest = '';
  for (const part of p) if (part.k === 'lit' && part.s.length > longest.length) longest = part.s;
  const lower = longest.toLowerCase();
  const grams = lower.length === longest.length ? rareGrams(lower) : [];
  return grams.length === 0 ? null : { slot: -1, kind: 'gram', value: lower, grams };
}

/** Atoms of a field test: one per allowed value (under `all`, those of its most selective value). */
function testAtoms(t: FieldTest, slotOf: (f: string) => number): Atom[] | null {
  if (t.field === '' || t.neq) return null;
  let out: Atom[] | null = null;
  if (t.all) {
    // Every value must match: any single one of them is a necessary condition.
    for (const alts of t.groups) {
      const atoms = alts.map(valueAtom);
      if (atoms.some((a) => !a)) continue;
      if (!out || weight(atoms as Atom[]) < weight(out)) out = atoms as Atom[];
    }
  } else {
    out = [];
    for (const alts of t.groups) for (const v of alts) {
      const a = valueAtom(v);
      if (!a) return null;
      out.push(a);
    }
  }
  if (!out || out.length === 0) return null;
  const slot = slotOf(t.field);
  return out.map((a) => ({ ...a, slot }));
}

function searchAtoms(s: Search, slotOf: (f: string) => number): Atom[] | null {
  const out: Atom[] = [];
  for (const tests of s.maps) {
    // Any test of a map is necessary for it; the cheapest set prunes best.
    let best: Atom[] | null = null;
    for (const t of tests) {
      const a = testAtoms(t, slotOf);
      if (a && (!best || weight(a) < weight(best))) best = a;
    }
    if (!best) return null;
    out.push(...best);
  }
  return out;
}

/**
 * Atoms of which one holds whenever the condition does: AND needs one side's, OR every side's
 * (together), NOT gives none.
 */
export function requiredAtoms(node: ConditionNode, searches: ReadonlyMap<string, Search>, slotOf: (f: string) => number): Atom[] | null {
  const pick = (sets: (Atom[] | null)[], and: boolean): Atom[] | null => {
    if (and) {
      let best: Atom[] | null = null;
      for (const a of sets) if (a && (!best || weight(a) < weight(best))) best = a;
      return best;
    }
    const out: Atom[] = [];
    for (const a of sets) { if (!a) return null; out.push(...a); }
    return out;
  };
  switch (node.op) {
    case 'ref': return searchAtoms(searches.get(node.name)!, slotOf);
    case 'not': return null;
    case 'and': return pick(node.args.map((a) => requiredAtoms(a, searches, slotOf)), true);
    case 'or': return pick(node.args.map((a) => requiredAtoms(a, searches, slotOf)), false);
    case 'of': return pick(node.names.map((n) => searchAtoms(searches.get(n)!, slotOf)), node.count === 'all');
  }
}

/** The file name of a path: what follows its last \\ or /. */
export function baseName(s: string): string {
  const i = Math.max(s.lastIndexOf('\\'), s.lastIndexOf('/'));
  return i < 0 ? s : s.slice(i + 1);
}
