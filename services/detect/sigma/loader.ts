// Reads Sigma YAML (rules, correlations, collections) into parsed rules, reporting each problem as file:line.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ConditionError, parseCondition, referencedSearches } from './condition.js';
import {
  CORRELATION_TYPES, LEVELS, type ConditionNode, type CorrelationRule, type CorrelationType, type CountCondition, type DetectionRule,
  type FieldTest, type Level, type LoadProblem, type Logsource, type RuleTest, type Search, type SigmaRule,
} from './types.js';
import { parseFieldTest, ValueError } from './values.js';
import { carryLines, DocError, keyLineOf, lineOf, readDocuments, setKeyLine } from './yaml.js';

export interface LoadResult {
  rules: SigmaRule[];
  /** Errors (the rule concerned was skipped) and warnings (it loaded), in file order. */
  problems: LoadProblem[];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const STATUSES = new Set(['stable', 'test', 'experimental', 'deprecated', 'unsupported']);
const TAG = /^[a-z0-9_.-]+$/;
/** Keys of a detection section that are not search identifiers. */
const DETECTION_META = new Set(['condition', 'timeframe']);

/** Rules whose level was not written (they alert as medium). */
const defaultedLevel = new WeakSet<SigmaRule>();

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);

/** Parses every document of one file. Documents that fail are reported and skipped; the rest load. */
export function parseRuleText(text: string, file: string): LoadResult {
  const rules: SigmaRule[] = [];
  const problems: LoadProblem[] = [];
  const err = (line: number, message: string): void => { problems.push({ file, line: line + 1, message, severity: 'error' }); };
  const warn = (line: number, message: string): void => { problems.push({ file, line: line + 1, message, severity: 'warning' }); };
  let global: Obj | undefined;
  let previous: Obj | undefined;
  for (const doc of readDocuments(text)) {
    if (doc.error) { err(doc.error.line, doc.error.message); continue; }
    if (doc.value === null || doc.value === undefined) continue;
    if (!isObj(doc.value)) { err(doc.start, 'a Sigma document must be a mapping (title, logsource, detection, ...)'); continue; }
    let value = doc.value;
    // Rule collections (Sigma 1.x): `action: global` documents hold defaults for the following ones.
    const action = value.action;
    if (action !== undefined) {
      if (action === 'global') { global = withoutAction(value); continue; }
      if (action === 'reset') { global = undefined; continue; }
      if (action === 'repeat') {
        if (!previous) { err(doc.start, `'action: repeat' needs a rule before it in the same file`); continue; }
        value = deepMerge(previous, withoutAction(value));
      } else { err(doc.start, `unknown action '${String(action)}' (global, reset and repeat are known)`); continue; }
    } else if (global) value = deepMerge(global, value);
    previous = value;
    try {
      const built = buildRule(value, file, doc.start, warn);
      if ((value.level === undefined || value.level === null) && value.filter === undefined) for (const r of built) defaultedLevel.add(r);
      rules.push(...built);
    } catch (e) {
      if (e instanceof DocError) err(e.line, e.message);
      else throw e;
    }
  }
  return { rules, problems };
}

function withoutAction(o: Obj): Obj {
  const { action: _action, ...rest } = o;
  carryLines(o, rest);
  return rest;
}

/** `over` laid on `base`, mappings merged key by key; each key keeps the line of the document that gave it. */
function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] = isObj(b) && isObj(v) ? deepMerge(b, v) : v;
  }
  carryLines(over, out);
  carryLines(base, out);
  return out;
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

function buildRule(
  o: Obj, file: string, start: number, warn: (line: number, message: string) => void,
): SigmaRule[] {
  const at = (key: string): number => keyLineOf(o, key, start);
  const title = o.title;
  if (typeof title !== 'string' || !title.trim()) throw new DocError(`missing title`, start);
  if (title.length > 256) throw new DocError(`title is longer than 256 characters`, at('title'));
  // A Sigma filter's id is optional: one is derived from its file and title, stable while they are.
  const id = str(o.id) ?? (o.filter !== undefined && o.correlation === undefined ? derivedId(file, title) : undefined);
  if (!id) throw new DocError(`rule '${title}' has no id: every rule needs a stable UUID`, start);
  if (!UUID.test(id)) throw new DocError(`id '${id}' is not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)`, at('id'));
  const name = o.name === undefined ? undefined : str(o.name);
  if (o.name !== undefined && !name) throw new DocError(`name must be a string`, at('name'));
  let level: Level = 'medium';
  if (o.level !== undefined && o.level !== null) {
    if (!LEVELS.includes(o.level as Level)) throw new DocError(`level '${String(o.level)}' is not one of ${LEVELS.join(', ')}`, at('level'));
    level = o.level as Level;
  }
  if (o.status !== undefined && o.status !== null && !STATUSES.has(String(o.status))) warn(at('status'), `status '${String(o.status)}' is not one of ${[...STATUSES].join(', ')}`);
  const tags: string[] = [];
  if (o.tags !== undefined && o.tags !== null) {
    if (!Array.isArray(o.tags)) throw new DocError(`tags must be a list`, at('tags'));
    for (const t of o.tags) {
      const s = str(t);
      if (!s) throw new DocError(`tag ${JSON.stringify(t)} is not a string`, lineOf(o.tags, at('tags')));
      if (!TAG.test(s)) warn(lineOf(o.tags, at('tags')), `tag '${s}' should be lowercase letters, digits, '_', '-' and '.'`);
      tags.push(s.toLowerCase());
    }
  }
  const falsepositives = Array.isArray(o.falsepositives) ? o.falsepositives.map((x) => String(x)) : [];
  const base = {
    id: id.toLowerCase(), title: title.trim(), name, level, tags, falsepositives,
    description: typeof o.description === 'string' ? o.description.trim() : undefined,
    status: o.status === undefined || o.status === null ? undefined : String(o.status),
    // DRL 1.1: whoever raises alerts from a rule shows its author; references help the analyst.
    author: typeof o.author === 'string' ? o.author.trim() : undefined,
    references: Array.isArray(o.references) ? o.references.filter((x): x is string => typeof x === 'string') : [],
    date: o.date === undefined || o.date === null ? undefined : String(o.date instanceof Date ? o.date.toISOString().slice(0, 10) : o.date),
    modified: o.modified === undefined || o.modified === null ? undefined : String(o.modified instanceof Date ? o.modified.toISOString().slice(0, 10) : o.modified),
    source: { file, line: start + 1 },
    tests: parseTests(o.tests, at('tests')),
  };
  if (o.correlation !== undefined) return [buildCorrelation(base, o.correlation, at('correlation'))];
  // A Sigma filter: its selections and condition are a detection that suppresses the matches of the rules it names.
  let filterFor: string[] | undefined;
  if (o.filter !== undefined) {
    if (!isObj(o.filter)) throw new DocError(`filter must be a mapping (rules, selections, condition)`, at('filter'));
    const { rules: targets, ...det } = o.filter;
    const list = (typeof targets === 'string' ? [targets] : Array.isArray(targets) ? targets.map(str) : []).filter((x): x is string => !!x);
    if (!list.length) throw new DocError(`filter.rules must name at least one rule (id or name)`, keyLineOf(o.filter, 'rules', at('filter')));
    filterFor = list;
    carryLines(o.filter, det);
    const asDetection = { ...o, detection: det };
    carryLines(o, asDetection);
    setKeyLine(asDetection, 'detection', at('filter'));
    o = asDetection;
  }

  // A detection rule.
  const logsource = parseLogsource(o.logsource, o.logsource === undefined ? at('title') : at('logsource'));
  if (!isObj(o.detection)) throw new DocError(`missing detection section (a mapping of search identifiers and a condition)`, o.detection === undefined ? start : at('detection'));
  const det = o.detection;
  const detLine = lineOf(det, at('detection'));
  const searches = new Map<string, Search>();
  for (const [key, value] of Object.entries(det)) {
    if (DETECTION_META.has(key)) continue;
    searches.set(key, parseSearch(key, value, keyLineOf(det, key, detLine)));
  }
  if (searches.size === 0) throw new DocError(`detection has no search identifiers`, detLine);
  if (det.condition === undefined || det.condition === null) throw new DocError(`detection has no condition`, detLine);
  const conditions = Array.isArray(det.condition) ? det.condition : [det.condition];
  const condLine = keyLineOf(det, 'condition', detLine);
  const names = [...searches.keys()];
  const trees: ConditionNode[] = [];
  let aggregation: string | undefined;
  for (const c of conditions) {
    if (typeof c !== 'string') throw new DocError(`condition must be a string or a list of strings`, condLine);
    let text = c;
    const pipe = c.indexOf('|');
    if (pipe >= 0) {
      if (conditions.length > 1) throw new DocError(`an aggregation ('| count() ...') cannot be used in a list of conditions`, condLine);
      aggregation = c.slice(pipe + 1).trim();
      text = c.slice(0, pipe);
    }
    try {
      trees.push(parseCondition(text, names));
    } catch (e) {
      if (e instanceof ConditionError) throw new DocError(`condition '${c}': ${e.message} (column ${e.column})`, condLine);
      throw e;
    }
  }
  const condition: ConditionNode = trees.length === 1 ? trees[0]! : { op: 'or', args: trees };
  const used = new Set<string>();
  for (const t of trees) referencedSearches(t, used);
  for (const n of names) {
    if (!used.has(n)) warn(keyLineOf(det, n, detLine), `search identifier '${n}' is not used by the condition`);
  }
  const rule: DetectionRule = { ...base, kind: 'detection', logsource, taxonomy: typeof o.taxonomy === 'string' ? o.taxonomy : 'sigma', searches, condition };
  if (filterFor) {
    if (aggregation !== undefined) throw new DocError(`a filter's condition cannot aggregate`, condLine);
    return [{ ...rule, filter: filterFor }];
  }
  if (aggregation === undefined) return [rule];
  return legacyAggregation(rule, aggregation, det.timeframe, condLine);
}

function parseLogsource(v: unknown, line: number): Logsource {
  if (!isObj(v)) throw new DocError(`missing logsource (product, category and/or service)`, line);
  const ls: Logsource = {};
  for (const k of ['product', 'category', 'service'] as const) {
    const x = v[k];
    if (x === undefined || x === null) continue;
    const s = str(x);
    if (!s) throw new DocError(`logsource ${k} must be a string`, keyLineOf(v, k, line));
    ls[k] = s.toLowerCase();
  }
  return ls;
}

function parseSearch(name: string, value: unknown, line: number): Search {
  const fail = (msg: string, l = line): never => { throw new DocError(`search '${name}': ${msg}`, l); };
  const mapTests = (m: Obj, mline: number): FieldTest[] => {
    const entries = Object.entries(m);
    if (entries.length === 0) fail('empty mapping', mline);
    return entries.map(([k, v]) => {
      const kl = keyLineOf(m, k, mline);
      try {
        return parseFieldTest(k, v, kl + 1);
      } catch (e) {
        if (e instanceof ValueError) return fail(e.message, kl);
        throw e;
      }
    });
  };
  if (isObj(value)) return { name, maps: [mapTests(value, lineOf(value, line))], line: line + 1 };
  if (Array.isArray(value)) {
    if (value.length === 0) fail('empty list');
    if (value.every(isObj)) return { name, maps: value.map((m) => mapTests(m as Obj, lineOf(m, line))), line: line + 1 };
    if (value.some((x) => isObj(x) || Array.isArray(x))) fail('a list mixes maps with keywords; use two search identifiers');
    try {
      return { name, maps: [[parseFieldTest('', value, line + 1)]], line: line + 1 };
    } catch (e) {
      if (e instanceof ValueError) return fail(e.message);
      throw e;
    }
  }
  if (typeof value === 'string' || typeof value === 'number') return { name, maps: [[parseFieldTest('', [value], line + 1)]], line: line + 1 };
  return fail(`must be a mapping of fields, a list of mappings or a list of keywords, not ${value === null ? 'null' : typeof value}`);
}

function parseTests(v: unknown, line: number): RuleTest[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new DocError(`tests must be a list of {name, event or events, match or alerts}`, line);
  return v.map((t, i) => {
    const tl = lineOf(t, line);
    if (!isObj(t)) throw new DocError(`test ${i + 1} must be a mapping`, tl);
    const events = t.events !== undefined ? t.events : t.event !== undefined ? [t.event] : undefined;
    if (!Array.isArray(events) || events.length === 0 || !events.every(isObj)) throw new DocError(`test ${i + 1} needs 'event' (a mapping) or 'events' (a list of mappings)`, tl);
    let expect: boolean | number;
    if (typeof t.match === 'boolean') expect = t.match;
    else if (typeof t.alerts === 'number' && Number.isInteger(t.alerts) && t.alerts >= 0) expect = t.alerts;
    else throw new DocError(`test ${i + 1} needs 'match: true|false' or 'alerts: <count>'`, tl);
    return { name: typeof t.name === 'string' ? t.name : `test ${i + 1}`, events: events as Record<string, unknown>[], expect, line: tl + 1 };
  });
}

/** Timespans: a number and a unit (s, m, h, d; also w and M for weeks and 30-day months). */
export function parseTimespan(v: unknown): number | undefined {
  const m = /^(\d+)\s*([smhdwM])$/.exec(String(v ?? '').trim());
  if (!m) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, M: 2_592_000_000 }[m[2] as 's']!;
  const ms = Number(m[1]) * unit;
  return ms > 0 ? ms : undefined;
}

function parseCountCondition(v: unknown, line: number, allowField: boolean): { condition: CountCondition; field: string | undefined } {
  if (!isObj(v)) throw new DocError(`condition must be a mapping such as {gte: 10}`, line);
  const condition: CountCondition = {};
  let field: string | undefined;
  for (const [k, x] of Object.entries(v)) {
    if (k === 'field') {
      if (!allowField) throw new DocError(`'field' only belongs to value_count, value_sum and value_avg conditions`, line);
      const f = Array.isArray(x) ? x.map(String).join(',') : str(x);
      if (!f) throw new DocError(`condition field must be a field name`, line);
      field = f;
      continue;
    }
    if (!['gt', 'gte', 'lt', 'lte', 'eq', 'neq'].includes(k)) throw new DocError(`unknown condition operator '${k}' (gt, gte, lt, lte, eq, neq)`, line);
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new DocError(`condition ${k} needs a number`, line);
    condition[k as keyof CountCondition] = x;
  }
  if (Object.keys(condition).length === 0) throw new DocError(`condition needs at least one of gt, gte, lt, lte, eq, neq`, line);
  return { condition, field };
}

type Base = Omit<DetectionRule, 'kind' | 'logsource' | 'taxonomy' | 'searches' | 'condition'>;

function buildCorrelation(base: Base, c: unknown, line: number): CorrelationRule {
  if (!isObj(c)) throw new DocError(`correlation must be a mapping (type, rules, group-by, timespan, condition)`, line);
  const cl = lineOf(c, line);
  const at = (key: string): number => keyLineOf(c, key, cl);
  const type = c.type as CorrelationType;
  if (!CORRELATION_TYPES.includes(type)) {
    throw new DocError(`correlation type '${String(c.type)}' is not supported (${CORRELATION_TYPES.join(', ')})`, at('type'));
  }
  const rulesRaw = c.rules;
  const rules = (Array.isArray(rulesRaw) ? rulesRaw : typeof rulesRaw === 'string' ? [rulesRaw] : []).map((r) => str(r) ?? '');
  if (rules.length === 0 || rules.some((r) => !r)) throw new DocError(`correlation needs 'rules': the ids or names of the rules it correlates`, at('rules'));
  const gbRaw = c['group-by'];
  const groupBy = gbRaw === undefined || gbRaw === null ? [] : (Array.isArray(gbRaw) ? gbRaw : [gbRaw]).map((g) => str(g) ?? '');
  if (groupBy.some((g) => !g)) throw new DocError(`group-by must be a list of field names`, at('group-by'));
  const timespanMs = parseTimespan(c.timespan ?? c.timeframe);
  if (timespanMs === undefined) throw new DocError(`correlation needs a timespan such as 10m (s, m, h, d)`, at('timespan'));
  let condition: CountCondition | undefined;
  let field: string | undefined;
  const valueType = type === 'value_count' || type === 'value_sum' || type === 'value_avg';
  if (c.condition !== undefined) ({ condition, field } = parseCountCondition(c.condition, at('condition'), valueType));
  else if (type !== 'temporal' && type !== 'temporal_ordered') throw new DocError(`${type} needs a condition such as {gte: 10}`, cl);
  if (valueType && !field) throw new DocError(`${type} needs 'field' in its condition`, at('condition'));
  if ((type === 'temporal' || type === 'temporal_ordered') && rules.length < 2 && !condition) {
    throw new DocError(`${type} needs at least two rules`, at('rules'));
  }
  const aliases: Record<string, Record<string, string>> = {};
  if (c.aliases !== undefined && c.aliases !== null) {
    if (!isObj(c.aliases)) throw new DocError(`aliases must map alias -> rule name -> field`, at('aliases'));
    for (const [alias, m] of Object.entries(c.aliases)) {
      if (!isObj(m)) throw new DocError(`alias '${alias}' must map rule names to fields`, keyLineOf(c.aliases, alias, at('aliases')));
      aliases[alias] = Object.fromEntries(Object.entries(m).map(([r, f]) => [r, String(f)]));
      for (const r of Object.keys(m)) if (!rules.includes(r)) throw new DocError(`alias '${alias}' names '${r}', which is not among the correlated rules`, keyLineOf(m, r, keyLineOf(c.aliases, alias, at('aliases'))));
    }
  }
  if (c.generate !== undefined && typeof c.generate !== 'boolean') throw new DocError(`generate must be true or false`, at('generate'));
  const generate = c.generate === true;
  return { ...base, kind: 'correlation', type, rules, groupBy, timespanMs, condition, field, aliases, generate };
}

/** A UUID derived from another, for the rules a legacy aggregation is split into. */
function derivedId(id: string, what: string): string {
  const h = createHash('sha1').update(`${id}/${what}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/**
 * Sigma 1's `condition: selection | count(field) by group > N` with `timeframe`: rewritten as the
 * base rule plus an event_count (or value_count) correlation that keeps the rule's id.
 */
function legacyAggregation(rule: DetectionRule, agg: string, timeframe: unknown, line: number): SigmaRule[] {
  const m = /^count\(\s*([^)\s]*)\s*\)\s*(?:by\s+(.+?))?\s*(==|=|>=|<=|>|<|!=)\s*(\d+)\s*$/i.exec(agg);
  if (!m) throw new DocError(`aggregation '| ${agg}' is not supported (only '| count([field]) [by field] <op> N'); write a correlation rule`, line);
  const timespanMs = parseTimespan(timeframe);
  if (timespanMs === undefined) throw new DocError(`aggregation '| ${agg}' needs 'timeframe' in the detection section (e.g. 5m)`, line);
  const op = { '==': 'eq', '=': 'eq', '>=': 'gte', '<=': 'lte', '>': 'gt', '<': 'lt', '!=': 'neq' }[m[3]!] as keyof CountCondition;
  const baseId = derivedId(rule.id, 'aggregation-base');
  const baseRule: DetectionRule = { ...rule, id: baseId, name: undefined, tests: [] };
  const { logsource: _l, taxonomy: _t, searches: _s, condition: _c, ...meta } = rule;
  const corr: CorrelationRule = {
    ...meta, kind: 'correlation',
    type: m[1] ? 'value_count' : 'event_count',
    rules: [baseId],
    groupBy: m[2] ? m[2].split(',').map((s) => s.trim()).filter(Boolean) : [],
    timespanMs,
    condition: { [op]: Number(m[4]) },
    field: m[1] || undefined,
    aliases: {},
    generate: false,
  };
  return [baseRule, corr];
}

/**
 * Checks what only the whole rule set can tell: duplicate ids and names, and correlation
 * references to rules that exist, without cycles. Rules that fail are dropped with an error.
 */
export function linkRules(rules: SigmaRule[], problems: LoadProblem[]): SigmaRule[] {
  const err = (r: SigmaRule, message: string): void => { problems.push({ file: r.source.file, line: r.source.line, message, severity: 'error' }); };
  const byId = new Map<string, SigmaRule>();
  const byName = new Map<string, SigmaRule>();
  const kept: SigmaRule[] = [];
  for (const r of rules) {
    const dup = byId.get(r.id);
    if (dup) { err(r, `duplicate rule id ${r.id} (also ${dup.source.file}:${dup.source.line})`); continue; }
    if (r.name) {
      const dn = byName.get(r.name);
      if (dn) { err(r, `duplicate rule name '${r.name}' (also ${dn.source.file}:${dn.source.line})`); continue; }
      byName.set(r.name, r);
    }
    byId.set(r.id, r);
    kept.push(r);
  }
  const resolve = (ref: string): SigmaRule | undefined => byId.get(ref.toLowerCase()) ?? byName.get(ref);
  // Drop correlations with unknown or cyclic references until the set is stable.
  const alive = new Set(kept);
  for (let changed = true; changed;) {
    changed = false;
    for (const r of [...alive]) {
      if (r.kind !== 'correlation') continue;
      const missing = r.rules.filter((ref) => { const t = resolve(ref); return !t || !alive.has(t); });
      if (missing.length) {
        err(r, `correlation '${r.title}' refers to unknown or invalid rule(s): ${missing.join(', ')}`);
        alive.delete(r);
        changed = true;
      } else if (reaches(r, r, resolve, new Set())) {
        err(r, `correlation '${r.title}' refers to itself through its rules`);
        alive.delete(r);
        changed = true;
      }
    }
  }
  // Rules that only feed a correlation need no level of their own; standalone ones should say it.
  const referenced = new Set<SigmaRule>();
  for (const r of alive) if (r.kind === 'correlation') for (const ref of r.rules) referenced.add(resolve(ref)!);
  for (const r of alive) {
    if (defaultedLevel.has(r) && !referenced.has(r)) {
      problems.push({ file: r.source.file, line: r.source.line, message: `rule '${r.title}' has no level; it alerts as medium`, severity: 'warning' });
    }
  }
  return kept.filter((r) => alive.has(r));
}

function reaches(from: SigmaRule, target: SigmaRule, resolve: (r: string) => SigmaRule | undefined, seen: Set<SigmaRule>): boolean {
  if (from.kind !== 'correlation') return false;
  for (const ref of from.rules) {
    const t = resolve(ref);
    if (!t) continue;
    if (t === target) return true;
    if (seen.has(t)) continue;
    seen.add(t);
    if (reaches(t, target, resolve, seen)) return true;
  }
  return false;
}

/** Rule files under a path (recursively, *.yml and *.yaml, hidden entries skipped), or the path itself if it is a file. */
export function listRuleFiles(path: string, out: string[]): void {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      if (name.startsWith('.')) continue;
      const p = join(path, name);
      if (statSync(p).isDirectory()) listRuleFiles(p, out);
      else if (/\.ya?ml$/i.test(name)) out.push(p);
    }
  } else out.push(path);
}

/** Loads rule files and directories (recursively, *.yml and *.yaml) and links the rule set, with `extra` rules (parsed elsewhere) if given. */
export function loadRules(paths: readonly string[], extra?: LoadResult): LoadResult {
  const files: string[] = [];
  const problems: LoadProblem[] = [];
  for (const p of paths) {
    try {
      listRuleFiles(p, files);
    } catch (e) {
      problems.push({ file: p, line: 0, message: `cannot read: ${(e as Error).message}`, severity: 'error' });
    }
  }
  const rules: SigmaRule[] = [];
  for (const f of files) {
    const r = parseRuleText(readFileSync(f, 'utf8'), f);
    rules.push(...r.rules);
    problems.push(...r.problems);
  }
  if (extra) {
    rules.push(...extra.rules);
    problems.push(...extra.problems);
  }
  return { rules: linkRules(rules, problems), problems };
}

/** Parses and links rules held in memory (one text per file name). */
export function loadRuleTexts(texts: Readonly<Record<string, string>>): LoadResult {
  const rules: SigmaRule[] = [];
  const problems: LoadProblem[] = [];
  for (const [file, text] of Object.entries(texts)) {
    const r = parseRuleText(text, file);
    rules.push(...r.rules);
    problems.push(...r.problems);
  }
  return { rules: linkRules(rules, problems), problems };
}
