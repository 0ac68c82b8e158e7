// Filters for false positives: the Sigma filter proposed for a closed alert, and saving, listing and removing analysts' filters in the RULE_FILTERS KV bucket, audited.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../core/db/index.js';
import { ApiError } from '../../core/http.js';
import { audit } from '../../core/audit.js';
import { errorMessage } from '../../core/errors.js';
import { FILTER_MAX_YAML_BYTES } from '../../core/topology.js';
import { FilterError, checkFilter, filtersDir, formatProblem, parseSavedFilter, proposeFilter, type DetectionRule, type FilterField } from '../../detect/index.js';
import { FilterBucketFullError, filterKey, filterLabel, type FilterStore, type SavedFilterEntry } from '../../detect/filter-store.js';
import { getAlert, type Incident } from './incidents.js';
import { loadedRuleSet } from './rules.js';

/** Close reasons after which a filter may be saved: the rule matched activity the site accepts. */
export const FILTERABLE_REASONS = ['false_positive', 'benign'] as const;

type FilterConfig = { RULES_DIR: string; RULES_POLICY?: string; RULES_FILTERS_DIR?: string; DATA_DIR: string };

/** Where filters are: the configuration (rule files, policy, the directory of filters saved by earlier versions) and the bucket. */
export interface FilterDeps {
  config: FilterConfig;
  store: FilterStore;
}

export interface FilterPreview {
  alertId: string;
  ruleId: string;
  ruleTitle: string;
  /** Where saving stores the document (`kv:RULE_FILTERS/<key>`), as the loader names it in `file:line: reason`. */
  file: string;
  /** The key in the RULE_FILTERS bucket. */
  key: string;
  /** Whether a filter was saved for this alert already (saving again is refused). */
  exists: boolean;
  yaml: string;
  candidates: FilterField[];
  /** Whether the proposed filter drops the rule's match of the alert's event (null: the rule alone does not match it as stored). */
  matchesEvent: boolean | null;
}

export interface SavedFilter {
  id: string;
  title: string;
  file: string;
  key: string;
  ruleId: string;
  matchesEvent: boolean | null;
}

/** A filter in the bucket, as listed: what its document says, or why it does not load. */
export interface SavedFilterItem {
  alertId: string | null;
  key: string;
  file: string;
  revision: number;
  savedAt: string;
  id: string | null;
  title: string | null;
  /** The rules it names. */
  rules: string[];
  /** Why the detect service skips it (it does not load), else absent. */
  error?: string;
  yaml: string;
}

export interface RemovedFilter {
  alertId: string;
  key: string;
  file: string;
  id: string | null;
  title: string | null;
}

/** Where versions before the bucket wrote an alert's filter; the detect service still loads the directory when it exists. */
export function legacyFilterFile(config: FilterConfig, alertId: string): string {
  return join(filtersDir(config), `fp-${alertId.replace(/[^A-Za-z0-9_-]/g, '_')}.yml`);
}

interface FilterContext {
  alert: Incident;
  rule: DetectionRule;
  /** The first stored event of the alert (the one that opened it); absent when it is no longer stored. */
  doc?: Record<string, unknown>;
}

async function context(db: Db, deps: FilterDeps, alertId: string): Promise<FilterContext & { loaded: ReturnType<typeof loadedRuleSet>['rules'] }> {
  const { alert, events } = await getAlert(db, alertId);
  const { rules } = loadedRuleSet(deps.config, await deps.store.list());
  const rule = rules.find((r) => r.id === alert.ruleId);
  if (!rule) throw new ApiError(409, `the rule of alert ${alertId} (${alert.ruleId}) is not loaded any more, so no filter can be made for it`);
  if (rule.kind === 'correlation') {
    throw new ApiError(409, `rule ${rule.id} is a correlation; Sigma filters apply to detection rules: filter one of the rules it correlates (${rule.rules.join(', ')})`);
  }
  if (rule.filter) throw new ApiError(409, `${rule.id} is a filter, not a rule`);
  const first = events[0];
  const doc = first !== null && typeof first === 'object' && !Array.isArray(first) ? first as Record<string, unknown> : undefined;
  return { alert, rule, doc, loaded: rules };
}

/** Whether an alert has a filter: in the bucket, or (saved by an earlier version) as a file this process can see. */
async function savedAlready(deps: FilterDeps, alertId: string): Promise<string | null> {
  if (await deps.store.get(alertId)) return filterLabel(filterKey(alertId));
  const legacy = legacyFilterFile(deps.config, alertId);
  return existsSync(legacy) ? legacy : null;
}

/** The filter proposed for an alert; `fields` chooses which of the event's fields it selects on. */
export async function previewFilter(db: Db, deps: FilterDeps, alertId: string, actor: string, fields?: string[], nowMs = Date.now()): Promise<FilterPreview> {
  const { alert, rule, doc, loaded } = await context(db, deps, alertId);
  if (!doc) throw new ApiError(409, `the event of alert ${alertId} is no longer stored (retention): write the filter by hand and save it`);
  let proposal;
  try {
    proposal = proposeFilter({ rule, doc, alertId, author: actor, date: new Date(nowMs), fields });
  } catch (err) {
    if (err instanceof FilterError) throw new ApiError(fields ? 400 : 409, err.message);
    throw err;
  }
  const key = filterKey(alertId);
  const file = filterLabel(key);
  const check = checkFilter(proposal.yaml, file, { rule, loaded, doc });
  // The proposal is built to load; failing here means the loader and the proposal disagree, which is a bug to see.
  if (check.problems.length) throw new Error(`the proposed filter does not load: ${check.problems.map(formatProblem).join('; ')}`);
  return {
    alertId, ruleId: rule.id, ruleTitle: alert.ruleTitle, file, key, exists: (await savedAlready(deps, alertId)) !== null,
    yaml: proposal.yaml, candidates: proposal.candidates, matchesEvent: check.matchesEvent,
  };
}

/**
 * Saves an analyst's filter for an alert closed as a false positive (or benign): checked with the detect service's
 * loader first (a bad edit answers 400 with file:line), created in the RULE_FILTERS bucket under the alert's key
 * (never over a saved one: 409), and audited. Every detect instance watches the bucket and reloads.
 *
 * The audit row and the key stand or fall together: the row is inserted first in a transaction, the key created
 * before it commits. A refused create (saved meanwhile, bucket full, NATS away) rolls the row back; a commit that
 * fails after the create deletes that revision of the key again. Auditing first means a failing audit never lets
 * a filter into force, which would silence detections without a trace; only a crash between the create and the
 * commit could, and the window is one round trip.
 */
export async function saveFilter(db: Db, deps: FilterDeps, alertId: string, text: string, actor: string, comment?: string): Promise<SavedFilter> {
  const { alert, rule, doc, loaded } = await context(db, deps, alertId);
  if (alert.status !== 'closed' || !(FILTERABLE_REASONS as readonly string[]).includes(alert.closeReason ?? '')) {
    throw new ApiError(409, `alert ${alertId} is ${alert.status}${alert.closeReason ? ` (${alert.closeReason})` : ''}: close it as ${FILTERABLE_REASONS.join(' or ')} first, then save its filter`);
  }
  const key = filterKey(alertId);
  const file = filterLabel(key);
  const existing = await savedAlready(deps, alertId);
  if (existing) throw new ApiError(409, `a filter for alert ${alertId} was saved already: ${existing}`);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > FILTER_MAX_YAML_BYTES) throw new ApiError(400, `the filter document has ${bytes} bytes; at most ${FILTER_MAX_YAML_BYTES} are saved`);
  const check = checkFilter(text, file, { rule, loaded, doc });
  if (check.problems.length) throw new ApiError(400, check.problems.map(formatProblem).join('\n'));
  const f = check.filter!;
  let created: SavedFilterEntry | null = null;
  try {
    await db.transaction().execute(async (tx) => {
      await audit(tx, actor, 'filter.create', f.id, {
        alertId, ruleId: rule.id, key, title: f.title, matchesEvent: check.matchesEvent, yaml: text, ...(comment ? { comment } : {}),
      });
      try {
        created = await deps.store.create(alertId, text);
      } catch (err) {
        if (err instanceof FilterBucketFullError) throw new ApiError(409, err.message);
        throw err;
      }
      if (!created) throw new ApiError(409, `a filter for alert ${alertId} was saved already: ${file}`);
    });
  } catch (err) {
    const made = created as SavedFilterEntry | null;
    // The audit row did not commit: the filter must not stay in force without it.
    if (made) await compensate(err, () => deps.store.remove(alertId, made.revision), `the filter ${file} stays saved without its audit row`);
    throw err;
  }
  return { id: f.id, title: f.title, file, key, ruleId: rule.id, matchesEvent: check.matchesEvent };
}

/** Undoes the bucket's half of a step whose audit row did not commit; if that fails too, the error says what is left. */
async function compensate(cause: unknown, undo: () => Promise<unknown>, left: string): Promise<void> {
  try {
    await undo();
  } catch (err) {
    throw new Error(`${errorMessage(cause)}; undoing it failed too (${errorMessage(err)}): ${left}`, { cause: err });
  }
}

/** What a saved document says: its id, title and the rules it names, or why it does not load. */
function summarize(e: SavedFilterEntry): Pick<SavedFilterItem, 'id' | 'title' | 'rules' | 'error'> {
  const r = parseSavedFilter(e.yaml, filterLabel(e.key));
  const errors = r.problems.filter((p) => p.severity === 'error');
  const f = r.rules[0];
  const rules = f?.kind === 'detection' ? f.filter ?? [] : [];
  return { id: f?.id ?? null, title: f?.title ?? null, rules, ...(errors.length ? { error: errors.map(formatProblem).join('\n') } : {}) };
}

/** Every filter in the bucket, by key, with what its document says (or why detect skips it). */
export async function listSavedFilters(deps: Pick<FilterDeps, 'store'>): Promise<{ items: SavedFilterItem[] }> {
  const items = (await deps.store.list()).map((e) => ({
    alertId: e.alertId, key: e.key, file: filterLabel(e.key), revision: e.revision, savedAt: e.savedAt.toISOString(), ...summarize(e), yaml: e.yaml,
  }));
  return { items };
}

/**
 * Lifts the filter saved for an alert: deleted from the bucket (that revision only, so a filter saved again meanwhile
 * stays) and audited as `filter.delete` with the document, the row and the delete standing or falling together as
 * for a save (a commit that fails after the delete puts the filter back). 404 when there is none. Filters saved by
 * earlier versions as files are lifted by deleting the file.
 */
export async function deleteFilter(db: Db, deps: FilterDeps, alertId: string, actor: string, comment?: string): Promise<RemovedFilter> {
  const entry = await deps.store.get(alertId);
  const legacy = legacyFilterFile(deps.config, alertId);
  if (!entry) {
    throw new ApiError(404, `no filter is saved for alert ${alertId}${existsSync(legacy) ? ` in the bucket; ${legacy} was saved by an earlier version: delete the file to lift it` : ''}`);
  }
  const what = summarize(entry);
  const file = filterLabel(entry.key);
  let removed = false;
  try {
    await db.transaction().execute(async (tx) => {
      await audit(tx, actor, 'filter.delete', what.id ?? file, {
        alertId, key: entry.key, revision: entry.revision, title: what.title, rules: what.rules, yaml: entry.yaml, ...(comment ? { comment } : {}),
      });
      removed = await deps.store.remove(alertId, entry.revision);
      if (!removed) throw new ApiError(404, `no filter is saved for alert ${alertId} (it was removed or replaced meanwhile)`);
    });
  } catch (err) {
    if (removed) await compensate(err, () => deps.store.create(alertId, entry.yaml), `the filter ${file} is removed without its audit row`);
    throw err;
  }
  return { alertId, key: entry.key, file, id: what.id, title: what.title };
}
