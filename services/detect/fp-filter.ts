// False-positive filters: the Sigma filter document proposed from an alert's rule and event, and its checks before it is saved.
import { createHash } from 'node:crypto';
import yaml from 'js-yaml';
import { Detector } from './detector.js';
import { eventsFromDocs } from './hunt.js';
import { linkRules, parseRuleText, type LoadResult } from './sigma/loader.js';
import type { DetectionRule, LoadProblem, SigmaRule } from './sigma/types.js';

/**
 * ECS fields a filter may be built from, in the order they are offered. The first ones say who and where (the
 * benign activity's identity) and are selected by default; the others are offered for the analyst to add.
 */
export const FILTER_FIELDS = [
  'host.name', 'user.name', 'source.ip', 'process.executable', 'process.command_line', 'process.parent.executable',
  'process.name', 'destination.ip', 'destination.port', 'file.path', 'dns.question.name', 'url.path', 'user_agent.original',
] as const;
const DEFAULT_FIELDS: ReadonlySet<string> = new Set(['host.name', 'user.name', 'source.ip', 'process.executable', 'process.command_line', 'process.parent.executable']);
/** A value longer than this is not offered: a filter is meant to name an activity, not to copy a blob. */
const MAX_VALUE_LENGTH = 4096;

export interface FilterField {
  field: string;
  value: string | number;
  /** Whether the proposal uses it unless told otherwise. */
  selected: boolean;
}

type Doc = Readonly<Record<string, unknown>>;

/** A field of an ECS document, nested (`{host: {name}}`) or dotted (`{'host.name': ...}`), without walking prototypes. */
export function docField(doc: Doc, path: string): unknown {
  if (Object.hasOwn(doc, path)) return doc[path];
  const parts = path.split('.');
  for (let i = 1; i < parts.length; i++) {
    const head = parts.slice(0, i).join('.');
    const next = Object.hasOwn(doc, head) ? doc[head] : undefined;
    if (next !== null && typeof next === 'object' && !Array.isArray(next)) {
      const v = docField(next as Doc, parts.slice(i).join('.'));
      if (v !== undefined) return v;
    }
  }
  return undefined;
}

/** The fields of the event a filter can be built from: scalar, non-empty, not too long. */
export function filterCandidates(doc: Doc): FilterField[] {
  const out: FilterField[] = [];
  for (const field of FILTER_FIELDS) {
    const v = docField(doc, field);
    if (typeof v === 'number' && Number.isFinite(v)) out.push({ field, value: v, selected: DEFAULT_FIELDS.has(field) });
    else if (typeof v === 'string' && v.trim() && v !== '-' && v.length <= MAX_VALUE_LENGTH) out.push({ field, value: v, selected: DEFAULT_FIELDS.has(field) });
  }
  return out;
}

/** A Sigma value that matches exactly this text: `*`, `?` and `\` escaped (they are wildcards and the escape). */
export function sigmaLiteral(s: string): string {
  let out = '';
  for (const c of s) out += c === '\\' || c === '*' || c === '?' ? `\\${c}` : c;
  return out;
}

/** A UUID that the same alert always gets, so saving a filter twice for one alert is noticed. */
export function filterIdFor(alertId: string): string {
  const h = createHash('sha256').update(`minisoc fp-filter\n${alertId}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export interface FilterProposal {
  id: string;
  yaml: string;
  /** Every field offered, with whether this proposal uses it. */
  candidates: FilterField[];
}

/**
 * The Sigma filter document for one false positive: the rule's logsource, `rules: [<rule id>]`, and one selection
 * of the chosen fields of the event as exact values. `fields` chooses among the candidates (default: the
 * identity fields); a field the event does not have is refused, so what the analyst ticks is what is filtered.
 */
export function proposeFilter(o: {
  rule: DetectionRule; doc: Doc; alertId: string; author: string; date: Date; fields?: readonly string[];
}): FilterProposal {
  const offered = filterCandidates(o.doc);
  if (o.fields) {
    const missing = o.fields.filter((f) => !offered.some((c) => c.field === f));
    if (missing.length) throw new FilterError(`the event has no usable value for ${missing.join(', ')}; it offers ${offered.map((c) => c.field).join(', ') || 'none of the fields a filter is built from'}`);
    if (!o.fields.length) throw new FilterError('choose at least one field: a filter without a selection would drop every match of the rule');
  }
  const candidates = offered.map((c) => ({ ...c, selected: o.fields ? o.fields.includes(c.field) : c.selected }));
  const chosen = candidates.filter((c) => c.selected);
  if (!chosen.length) {
    throw new FilterError(`the event has none of the fields a filter is proposed from (${FILTER_FIELDS.join(', ')}); write the filter by hand`);
  }
  const selection: Record<string, string | number> = {};
  for (const c of chosen) selection[c.field] = typeof c.value === 'number' ? c.value : sigmaLiteral(c.value);
  const id = filterIdFor(o.alertId);
  const day = o.date.toISOString().slice(0, 10);
  const doc = {
    title: `False positive of ${o.rule.title}`.slice(0, 256),
    id,
    description: `Alert ${o.alertId} was closed as a false positive by ${o.author} on ${day}; matches of the rule that also match this selection are dropped.`,
    author: o.author,
    date: day,
    logsource: { ...o.rule.logsource },
    filter: { rules: [o.rule.id], selection, condition: 'selection' },
  };
  return { id, yaml: yaml.dump(doc, { lineWidth: -1, noRefs: true, quotingType: "'" }), candidates };
}

/** A filter that cannot be proposed or saved, for a reason the analyst can act on. */
export class FilterError extends Error {
  override name = 'FilterError';
}

export interface FilterCheck {
  /** Errors that keep the document from being saved, each as the loader reports it (file:line). */
  problems: LoadProblem[];
  filter?: DetectionRule;
  /** Whether the filter drops the rule's match of the alert's event (null when the event is not known or the rule alone does not match it). */
  matchesEvent: boolean | null;
}

/**
 * Checks an analyst's filter document with the loader and compiler the detect service uses: one Sigma filter
 * document, naming the alert's rule, whose id clashes with no loaded rule, that compiles. Then runs the rule
 * with and without it over the alert's event to say whether it drops that match.
 */
export function checkFilter(text: string, file: string, o: { rule: DetectionRule; loaded: readonly SigmaRule[]; doc?: Doc }): FilterCheck {
  const parsed = parseRuleText(text, file);
  const problems = parsed.problems.filter((p) => p.severity === 'error');
  const fail = (line: number, message: string): FilterCheck => ({ problems: [...problems, { file, line, message, severity: 'error' }], matchesEvent: null });
  if (problems.length) return { problems, matchesEvent: null };
  if (parsed.rules.length !== 1) return fail(1, `expected one Sigma filter document, found ${parsed.rules.length}`);
  const f = parsed.rules[0]!;
  if (f.kind !== 'detection' || !f.filter) return fail(f.source.line, `'${f.title}' is a rule, not a filter: a false-positive filter needs 'filter:' with 'rules:' and a condition`);
  const names = new Set([o.rule.id, ...(o.rule.name ? [o.rule.name] : [])]);
  if (!f.filter.some((ref) => names.has(ref) || names.has(ref.toLowerCase()))) {
    return fail(f.source.line, `filter.rules must name the alert's rule ${o.rule.id}${o.rule.name ? ` (or ${o.rule.name})` : ''}`);
  }
  const linkProblems: LoadProblem[] = [];
  linkRules([...o.loaded.filter((r) => r.source.file !== file), f], linkProblems);
  const clash = linkProblems.filter((p) => p.file === file && p.severity === 'error');
  if (clash.length) return { problems: clash, matchesEvent: null };
  const alone = new Detector([o.rule], { alertAll: true });
  const withFilter = new Detector([o.rule, f], { alertAll: true });
  const compile = withFilter.problems.filter((p) => p.file === file && p.severity === 'error');
  if (compile.length) return { problems: compile, matchesEvent: null };
  if (!o.doc) return { problems: [], filter: f, matchesEvent: null };
  // Each engine gets its own copy of the event: evaluation may annotate what it is given.
  if (alone.evaluate(eventsFromDocs([o.doc], 'fp-check')).length === 0) return { problems: [], filter: f, matchesEvent: null };
  withFilter.evaluate(eventsFromDocs([o.doc], 'fp-check'));
  return { problems: [], filter: f, matchesEvent: withFilter.filteredCount > 0 };
}

/**
 * One saved filter (a value of the RULE_FILTERS bucket, `file` naming its key): its rules when every document of it is
 * a Sigma filter that loads, else none, with the problems. A saved value is all or nothing: a broken one never half
 * loads, and never takes another filter with it.
 */
export function parseSavedFilter(text: string, file: string): LoadResult {
  const r = parseRuleText(text, file);
  const problems: LoadProblem[] = [...r.problems];
  for (const x of r.rules) {
    if (x.kind !== 'detection' || !x.filter) {
      problems.push({ file, line: x.source.line, message: `'${x.title}' is not a Sigma filter document: only filters are loaded from saved filters`, severity: 'error' });
    }
  }
  return problems.some((p) => p.severity === 'error') ? { rules: [], problems } : { rules: r.rules, problems };
}

/** The saved filters as rules, each value parsed once while its text stays the same. */
export class SavedFilterSet {
  private readonly cache = new Map<string, { text: string; result: LoadResult }>();

  /** Rules and problems of every saved filter given (`file`: its label); not linked, which the rule directory does with the rest. */
  load(saved: Iterable<{ file: string; text: string }>): LoadResult {
    const rules: SigmaRule[] = [];
    const problems: LoadProblem[] = [];
    const seen = new Set<string>();
    for (const { file, text } of saved) {
      seen.add(file);
      let c = this.cache.get(file);
      if (!c || c.text !== text) {
        c = { text, result: parseSavedFilter(text, file) };
        this.cache.set(file, c);
      }
      rules.push(...c.result.rules);
      problems.push(...c.result.problems);
    }
    for (const f of [...this.cache.keys()]) if (!seen.has(f)) this.cache.delete(f);
    return { rules, problems };
  }
}
