// The detection engine's public entry: load Sigma rules, build a Detector, evaluate events into alerts.
export { loadRules, loadRuleTexts, parseRuleText, linkRules, type LoadResult } from './sigma/loader.js';
export { formatProblem, type SigmaRule, type DetectionRule, type CorrelationRule, type LoadProblem, type Level, type Logsource } from './sigma/types.js';
export { Detector, ruleShard, type DetectorOptions, type DetectorStats, type DetectorSnapshot, type RuleStats } from './detector.js';
export { runRuleTests, huntEvents, eventsFromDocs, withDependencies, type RuleTestResult, type HuntMatch } from './hunt.js';
export { eventFromDoc } from './event-doc.js';
export { buildAlert, alertScore, alertId, dedupKey } from './alert.js';
export { eventLogsource } from './sigma/logsource.js';
export { RuleDirectory } from './rules-dir.js';
export { techniquesFromTags } from './mitre/index.js';
export { applyPolicy, readPolicy, parsePolicy, policyFile, ruleDirs, filtersDir, loadedRuleDirs, ruleFolder, exclusionReason, DEFAULT_POLICY, type RulePolicy, type Excluded } from './policy.js';
export { loadCatalog, catalogEntries, coverage, logsourceLabel, type Catalog, type CatalogEntry, type CoverageRow } from './catalog.js';
export { proposeFilter, checkFilter, filterCandidates, parseSavedFilter, SavedFilterSet, FilterError, FILTER_FIELDS, type FilterField, type FilterProposal, type FilterCheck } from './fp-filter.js';
