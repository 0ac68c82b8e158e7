// Filters for false positives: the Sigma filter proposed for a closed alert, and saving an analyst's version into RULES_FILTERS_DIR, audited.
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../core/db/index.js';
import { ApiError } from '../../core/http.js';
import { audit } from '../../core/audit.js';
import { FilterError, checkFilter, filtersDir, formatProblem, proposeFilter, type DetectionRule, type FilterField } from '../../detect/index.js';
import { getAlert, type Incident } from './incidents.js';
import { loadedRuleSet } from './rules.js';

/** Close reasons after which a filter may be saved: the rule matched activity the site accepts. */
export const FILTERABLE_REASONS = ['false_positive', 'benign'] as const;

type FilterConfig = { RULES_DIR: string; RULES_POLICY?: string; RULES_FILTERS_DIR?: string; DATA_DIR: string };

export interface FilterPreview {
  alertId: string;
  ruleId: string;
  ruleTitle: string;
  /** Where saving writes the document. */
  file: string;
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
  ruleId: string;
  matchesEvent: boolean | null;
}

/** One file per alert, so a second filter for the same false positive is noticed rather than stacked. */
export function filterFile(config: FilterConfig, alertId: string): string {
  return join(filtersDir(config), `fp-${alertId.replace(/[^A-Za-z0-9_-]/g, '_')}.yml`);
}

interface FilterContext {
  alert: Incident;
  rule: DetectionRule;
  /** The first stored event of the alert (the one that opened it); absent when it is no longer stored. */
  doc?: Record<string, unknown>;
}

async function context(db: Db, config: FilterConfig, alertId: string): Promise<FilterContext & { loaded: ReturnType<typeof loadedRuleSet>['rules'] }> {
  const { alert, events } = await getAlert(db, alertId);
  const { rules } = loadedRuleSet(config);
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

/** The filter proposed for an alert; `fields` chooses which of the event's fields it selects on. */
export async function previewFilter(db: Db, config: FilterConfig, alertId: string, actor: string, fields?: string[], nowMs = Date.now()): Promise<FilterPreview> {
  const { alert, rule, doc, loaded } = await context(db, config, alertId);
  if (!doc) throw new ApiError(409, `the event of alert ${alertId} is no longer stored (retention): write the filter by hand and save it`);
  let proposal;
  try {
    proposal = proposeFilter({ rule, doc, alertId, author: actor, date: new Date(nowMs), fields });
  } catch (err) {
    if (err instanceof FilterError) throw new ApiError(fields ? 400 : 409, err.message);
    throw err;
  }
  const file = filterFile(config, alertId);
  const check = checkFilter(proposal.yaml, file, { rule, loaded, doc });
  // The proposal is built to load; failing here means the loader and the proposal disagree, which is a bug to see.
  if (check.problems.length) throw new Error(`the proposed filter does not load: ${check.problems.map(formatProblem).join('; ')}`);
  return {
    alertId, ruleId: rule.id, ruleTitle: alert.ruleTitle, file, exists: existsSync(file), yaml: proposal.yaml, candidates: proposal.candidates, matchesEvent: check.matchesEvent,
  };
}

/**
 * Saves an analyst's filter for an alert closed as a false positive (or benign): checked with the detect service's
 * loader first (a bad edit answers 400 with file:line), written into RULES_FILTERS_DIR under a name no other alert
 * takes (atomically, never over an existing file), and audited. The detect service sees the file and reloads.
 */
export async function saveFilter(db: Db, config: FilterConfig, alertId: string, text: string, actor: string, comment?: string): Promise<SavedFilter> {
  const { alert, rule, doc, loaded } = await context(db, config, alertId);
  if (alert.status !== 'closed' || !(FILTERABLE_REASONS as readonly string[]).includes(alert.closeReason ?? '')) {
    throw new ApiError(409, `alert ${alertId} is ${alert.status}${alert.closeReason ? ` (${alert.closeReason})` : ''}: close it as ${FILTERABLE_REASONS.join(' or ')} first, then save its filter`);
  }
  const file = filterFile(config, alertId);
  if (existsSync(file)) throw new ApiError(409, `a filter for alert ${alertId} was saved already: ${file}`);
  const check = checkFilter(text, file, { rule, loaded, doc });
  if (check.problems.length) throw new ApiError(400, check.problems.map(formatProblem).join('\n'));
  const f = check.filter!;
  const dir = filtersDir(config);
  mkdirSync(dir, { recursive: true });
  // Written under a hidden name (the loader skips those), then linked into place: the detect service never reads half
  // a file, and link refuses to replace a filter saved meanwhile by another analyst.
  const tmp = join(dir, `.fp-${randomBytes(6).toString('hex')}.tmp`);
  let linked = false;
  try {
    await db.transaction().execute(async (tx) => {
      await audit(tx, actor, 'filter.create', f.id, {
        alertId, ruleId: rule.id, file, title: f.title, matchesEvent: check.matchesEvent, yaml: text, ...(comment ? { comment } : {}),
      });
      writeFileSync(tmp, text.endsWith('\n') ? text : `${text}\n`, { mode: 0o644 });
      try {
        linkSync(tmp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ApiError(409, `a filter for alert ${alertId} was saved already: ${file}`);
        throw err;
      }
      linked = true;
    });
  } catch (err) {
    // The audit row did not commit: the filter must not stay in force without it.
    if (linked) unlinkSync(file);
    throw err;
  } finally {
    if (existsSync(tmp)) unlinkSync(tmp);
  }
  return { id: f.id, title: f.title, file, ruleId: rule.id, matchesEvent: check.matchesEvent };
}
