// The rule policy: which loaded rules run (by pack folder and status), per-rule enable/disable and level overrides.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { ConfigError } from '../core/errors.js';
import { LEVELS, type Level, type SigmaRule } from './sigma/types.js';

/**
 * What runs of the rules found in RULES_DIR. Written as YAML or JSON (RULES_POLICY, default
 * DATA_DIR/rules-policy.yml); every key is optional and falls back to DEFAULT_POLICY.
 */
export interface RulePolicy {
  /** Rule statuses that load; a rule without a status loads. */
  statuses: string[];
  /** SigmaHQ pack folders that load (`rules`, `rules-emerging-threats`, `rules-threat-hunting`, `rules-placeholder`, `rules-compliance`). */
  folders: string[];
  /** Rule ids that load whatever their folder and status say. */
  enable: string[];
  /** Rule ids that never load. */
  disable: string[];
  /** Rule id -> level it alerts at instead of its own. */
  levels: Record<string, Level>;
  /** Values of `expand` placeholders (%Administrators% ...), for the rules-placeholder folder. */
  placeholders: Record<string, string[]>;
}

export const DEFAULT_POLICY: Readonly<RulePolicy> = Object.freeze({
  statuses: ['stable', 'test'],
  folders: ['rules', 'rules-emerging-threats'],
  enable: [],
  disable: [],
  levels: {},
  placeholders: {},
});

/** SigmaHQ's opt-in folders; a rule under none of them is in `rules` (MiniSOC's own pack included). */
const PACK_FOLDERS = ['rules-emerging-threats', 'rules-threat-hunting', 'rules-placeholder', 'rules-compliance', 'rules-dfir'] as const;

/** The pack folder of a rule file: the last path segment naming one of SigmaHQ's folders, else `rules`. */
export function ruleFolder(file: string): string {
  const parts = file.split(/[\\/]/);
  for (let i = parts.length - 2; i >= 0; i--) if ((PACK_FOLDERS as readonly string[]).includes(parts[i]!)) return parts[i]!;
  return 'rules';
}

function strings(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new ConfigError(`${what} must be a list of strings`);
  return (v as string[]).map((s) => s.trim()).filter(Boolean);
}

function record(v: unknown, what: string): [string, unknown][] {
  if (v === undefined || v === null) return [];
  if (typeof v !== 'object' || Array.isArray(v)) throw new ConfigError(`${what} must be a mapping`);
  return Object.entries(v as Record<string, unknown>);
}

/** Checks a parsed policy document; unknown keys are refused so a typo does not silently load everything. */
export function parsePolicy(doc: unknown, where = 'rules policy'): RulePolicy {
  if (doc === undefined || doc === null) return { ...DEFAULT_POLICY };
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`${where}: expected a mapping`);
  const o = doc as Record<string, unknown>;
  const known = ['statuses', 'folders', 'enable', 'disable', 'levels', 'placeholders'];
  for (const k of Object.keys(o)) if (!known.includes(k)) throw new ConfigError(`${where}: unknown key '${k}' (known: ${known.join(', ')})`);
  const levels: Record<string, Level> = Object.create(null) as Record<string, Level>;
  for (const [id, lv] of record(o.levels, `${where}: levels`)) {
    if (!LEVELS.includes(lv as Level)) throw new ConfigError(`${where}: levels.${id}: '${String(lv)}' is not one of ${LEVELS.join(', ')}`);
    levels[id.toLowerCase()] = lv as Level;
  }
  const placeholders: Record<string, string[]> = Object.create(null) as Record<string, string[]>;
  for (const [name, values] of record(o.placeholders, `${where}: placeholders`)) placeholders[name] = strings(values, `${where}: placeholders.${name}`);
  return {
    statuses: o.statuses === undefined ? [...DEFAULT_POLICY.statuses] : strings(o.statuses, `${where}: statuses`),
    folders: o.folders === undefined ? [...DEFAULT_POLICY.folders] : strings(o.folders, `${where}: folders`),
    enable: strings(o.enable, `${where}: enable`).map((s) => s.toLowerCase()),
    disable: strings(o.disable, `${where}: disable`).map((s) => s.toLowerCase()),
    levels,
    placeholders,
  };
}

/** Reads the policy file; a missing file means the default policy. */
export function readPolicy(file: string | undefined): RulePolicy {
  if (!file || !existsSync(file)) return { ...DEFAULT_POLICY };
  try {
    return parsePolicy(yaml.load(readFileSync(file, 'utf8')), file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${file}: ${(err as Error).message}`, { cause: err });
  }
}

export interface Excluded {
  rule: SigmaRule;
  reason: string;
}

/** Why a rule does not run under the policy, or null when it does. */
export function exclusionReason(r: SigmaRule, p: RulePolicy): string | null {
  const id = r.id.toLowerCase();
  if (p.disable.includes(id)) return 'disabled in the rules policy';
  if (p.enable.includes(id)) return null;
  const folder = ruleFolder(r.source.file);
  if (!p.folders.includes(folder)) return `folder ${folder} is opt-in (rules policy: folders)`;
  if (r.status && !p.statuses.includes(r.status)) return `status ${r.status} is opt-in (rules policy: statuses)`;
  return null;
}

/**
 * The rules that run under the policy (with their level overrides) and those left out with the reason.
 * A correlation whose rules are left out is reported by the Detector as not loaded.
 */
export function applyPolicy(rules: readonly SigmaRule[], p: RulePolicy): { rules: SigmaRule[]; excluded: Excluded[] } {
  const out: SigmaRule[] = [];
  const excluded: Excluded[] = [];
  const kept = new Set<string>();
  for (const r of rules) {
    const reason = exclusionReason(r, p);
    if (reason) { excluded.push({ rule: r, reason }); continue; }
    kept.add(r.id);
    const level = p.levels[r.id.toLowerCase()];
    out.push(level && level !== r.level ? { ...r, level } : r);
  }
  // A base rule that a running correlation rests on runs too, whatever its folder or status says.
  const byRef = new Map<string, SigmaRule>();
  for (const { rule } of excluded) { byRef.set(rule.id, rule); if (rule.name) byRef.set(rule.name, rule); }
  const pull = (r: SigmaRule): void => {
    if (r.kind !== 'correlation') return;
    for (const ref of r.rules) {
      const t = byRef.get(ref.toLowerCase()) ?? byRef.get(ref);
      if (!t || kept.has(t.id) || p.disable.includes(t.id)) continue;
      kept.add(t.id);
      out.push(t);
      pull(t);
    }
  };
  for (const r of [...out]) pull(r);
  return { rules: out, excluded: excluded.filter((e) => !kept.has(e.rule.id)) };
}

/** The policy file a configuration names: RULES_POLICY, else DATA_DIR/rules-policy.yml. */
export function policyFile(config: { RULES_POLICY?: string; DATA_DIR: string }): string {
  return config.RULES_POLICY ?? join(config.DATA_DIR, 'rules-policy.yml');
}

/**
 * Where versions before the RULE_FILTERS KV bucket saved the filters analysts make from closed false positives:
 * RULES_FILTERS_DIR, else DATA_DIR/rules-filters. Still loaded when it exists; nothing new is written there.
 */
export function filtersDir(config: { RULES_FILTERS_DIR?: string; DATA_DIR: string }): string {
  return config.RULES_FILTERS_DIR ?? join(config.DATA_DIR, 'rules-filters');
}

/** RULES_DIR as a list of directories. */
export function ruleDirs(rulesDir: string): string[] {
  return rulesDir.split(',').map((d) => d.trim()).filter(Boolean);
}

/**
 * Every directory the detect service loads: RULES_DIR, then the directory of filters saved by earlier versions when
 * it exists. The filters saved now are in the RULE_FILTERS KV bucket (filter-store.ts), not in a directory.
 */
export function loadedRuleDirs(config: { RULES_DIR: string; RULES_FILTERS_DIR?: string; DATA_DIR: string }): string[] {
  const dirs = ruleDirs(config.RULES_DIR);
  const filters = filtersDir(config);
  return existsSync(filters) && !dirs.includes(filters) ? [...dirs, filters] : dirs;
}
