// The prefilter of the detection engine: which of a logsource's rules an event can match at all, found through the
// atoms of the rules (exact values, file names, trigrams) read from a few fields of the event.
import { baseName, gramHash, type CompiledDetection } from './sigma/compile.js';
import type { EvalContext } from './sigma/match.js';

/** A compiled rule with what the hot loop needs to know about it. */
export interface Entry {
  c: CompiledDetection;
  /** Position in the per-rule counters. */
  i: number;
  id: string;
  /** Raises alerts of its own (owned by this shard and not silenced by a correlation). */
  alerts: boolean;
  /** Feeds a correlation. */
  feeds: boolean;
  /** Sigma filters on this rule: a match that one of them (on its logsource) also matches is dropped. */
  filters?: CompiledDetection[];
}

/**
 * The rules an event of one logsource and event code may match. Rules with atoms are reached through
 * the atoms' value maps, read from a few fields of the event; the others are always evaluated.
 */
export interface Plan {
  rules: Entry[];
  always: Entry[];
  slots: number[];
  /** Per slot of `slots`: lowercase value -> rules, and file name -> rules. */
  eq: (Map<string, Entry[]> | null)[];
  base: (Map<string, Entry[]> | null)[];
  /** Per slot of `slots`: the trigram hashes its values must contain, and the rules of each. */
  grams: (Grams | null)[];
}

/** Rules whose atom needs these trigrams besides the first (the rarest, by which they are found). */
interface GramSet {
  rest: readonly number[];
  rules: Entry[];
}

interface Grams {
  /** The first trigram of each atom, once each. */
  hashes: number[];
  /** Per first trigram, the atoms' other trigrams and their rules. */
  sets: GramSet[][];
}

export interface Candidates {
  /** Rules without an event-code constraint. */
  any: Plan;
  /** Event code -> the code-free rules plus the rules for that code, in load order. */
  byCode: Map<string, Plan>;
}

export function makePlan(rules: Entry[]): Plan {
  const always: Entry[] = [];
  const slots: number[] = [];
  const eq: (Map<string, Entry[]> | null)[] = [];
  const base: (Map<string, Entry[]> | null)[] = [];
  const gramMaps: (Map<number, Map<string, GramSet>> | null)[] = [];
  const add = <K>(m: Map<K, Entry[]>, k: K, r: Entry): void => {
    const l = m.get(k);
    if (!l) m.set(k, [r]);
    else if (l.at(-1) !== r) l.push(r);
  };
  for (const r of rules) {
    if (!r.c.atoms) { always.push(r); continue; }
    for (const a of r.c.atoms) {
      let k = slots.indexOf(a.slot);
      if (k < 0) { k = slots.length; slots.push(a.slot); eq.push(null); base.push(null); gramMaps.push(null); }
      if (a.kind === 'eq') add((eq[k] ??= new Map()), a.value, r);
      else if (a.kind === 'base') add((base[k] ??= new Map()), a.value, r);
      else {
        const [first, ...rest] = a.grams!;
        const byFirst = (gramMaps[k] ??= new Map());
        let sets = byFirst.get(first!);
        if (!sets) byFirst.set(first!, (sets = new Map()));
        const key = rest.join(',');
        let set = sets.get(key);
        if (!set) sets.set(key, (set = { rest, rules: [] }));
        if (set.rules.at(-1) !== r) set.rules.push(r);
      }
    }
  }
  const grams = gramMaps.map((m) => (m ? { hashes: [...m.keys()], sets: [...m.values()].map((sets) => [...sets.values()]) } : null));
  return { rules, always, slots, eq, base, grams };
}

/** Picks a plan's rules for one event at a time; holds the scratch memory that pick reuses, so one per detector. */
export class RuleSelector {
  private readonly picked: Entry[] = [];
  private mark = new Int32Array(0);
  private markGen = 0;

  /** The rules of a plan worth evaluating for the current event, in load order. */
  select(plan: Plan, ctx: EvalContext, ruleCount: number): Entry[] {
    const out = this.picked;
    out.length = 0;
    if (this.mark.length < ruleCount) this.mark = new Int32Array(ruleCount);
    if (this.markGen === 0x7fffffff) { this.markGen = 0; this.mark.fill(0); }
    const gen = ++this.markGen;
    const mark = this.mark;
    for (const r of plan.always) { mark[r.i] = gen; out.push(r); }
    const take = (rules: Entry[] | undefined): void => {
      // Takes each rule once: the mark says it is already in.
      if (!rules) return;
      for (const r of rules) if (mark[r.i] !== gen) { mark[r.i] = gen; out.push(r); }
    };
    for (let k = 0; k < plan.slots.length; k++) {
      const v = ctx.lower(plan.slots[k]!);
      if (v === undefined) continue;
      const eq = plan.eq[k];
      const base = plan.base[k];
      const grams = plan.grams[k];
      if (typeof v === 'string') {
        if (eq) take(eq.get(v));
        if (base) take(base.get(baseName(v)));
        if (grams) this.takeGrams(grams, [v], take);
      } else {
        for (const x of v) { if (eq) take(eq.get(x)); if (base) take(base.get(baseName(x))); }
        if (grams) this.takeGrams(grams, v, take);
      }
    }
    if (out.length > plan.always.length) out.sort((a, b) => a.i - b.i);
    return out;
  }

  /** One bit per trigram hash, set for the value at hand and cleared after (8 KiB: stays in cache). */
  private readonly gramBits = new Uint32Array(2048);
  private gramSeen = new Uint16Array(1024);

  /** Takes the rules whose trigrams all occur in the values. */
  private takeGrams(grams: Grams, values: readonly string[], take: (rules: Entry[]) => void): void {
    const bits = this.gramBits;
    let n = 0;
    for (const v of values) {
      if (v.length < 3) continue;
      if (n + v.length > this.gramSeen.length) {
        const grown = new Uint16Array(Math.max(this.gramSeen.length * 2, n + v.length));
        grown.set(this.gramSeen.subarray(0, n));
        this.gramSeen = grown;
      }
      const seen = this.gramSeen;
      let a = v.charCodeAt(0);
      let b = v.charCodeAt(1);
      for (let i = 2; i < v.length; i++) {
        const c = v.charCodeAt(i);
        const h = gramHash(a, b, c);
        bits[h >>> 5]! |= 1 << (h & 31);
        seen[n++] = h;
        a = b;
        b = c;
      }
    }
    const { hashes, sets } = grams;
    for (let j = 0; j < hashes.length; j++) {
      const h = hashes[j]!;
      if (!(bits[h >>> 5]! & (1 << (h & 31)))) continue;
      for (const set of sets[j]!) {
        const rest = set.rest;
        let all = true;
        for (let q = 0; q < rest.length; q++) {
          const g = rest[q]!;
          if (!(bits[g >>> 5]! & (1 << (g & 31)))) { all = false; break; }
        }
        if (all) take(set.rules);
      }
    }
    const seen = this.gramSeen;
    for (let i = 0; i < n; i++) bits[seen[i]! >>> 5] = 0;
  }
}
