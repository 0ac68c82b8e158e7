// MITRE ATT&CK lookups: technique names and tactics for the attack.* tags of Sigma rules.
import table from './techniques.json' with { type: 'json' };

export interface Technique {
  id: string;
  name: string;
  tactics: string[];
}

const TECHNIQUES = table.techniques as Readonly<Record<string, { name: string; tactics: string[] }>>;
const TACTICS = table.tactics as Readonly<Record<string, { id: string; name: string }>>;
export const ATTACK_VERSION: string = table.attack_version;

export function technique(id: string): Technique | undefined {
  const t = TECHNIQUES[id.toUpperCase()];
  return t ? { id: id.toUpperCase(), name: t.name, tactics: [...t.tactics] } : undefined;
}

/** The ATT&CK tactic shortname of a tag value ("credential_access" or "credential-access"), if it is one. */
export function tacticOf(tagValue: string): string | undefined {
  const s = tagValue.toLowerCase().replace(/_/g, '-');
  return TACTICS[s] ? s : undefined;
}

export function tacticName(shortname: string): string | undefined {
  return TACTICS[shortname]?.name;
}

const TECHNIQUE_TAG = /^attack\.(t\d{4}(?:\.\d{3})?)$/i;

/**
 * The techniques a rule's tags name, with their names and tactics. A technique serves several tactics;
 * when the rule also names tactics, only those the technique serves are kept (the rule says which
 * use it detects). Unknown technique ids are kept with an empty name rather than dropped.
 */
export function techniquesFromTags(tags: readonly string[]): Technique[] {
  const ruleTactics = new Set<string>();
  const ids: string[] = [];
  for (const tag of tags) {
    const m = TECHNIQUE_TAG.exec(tag);
    if (m) { const id = m[1]!.toUpperCase(); if (!ids.includes(id)) ids.push(id); continue; }
    if (tag.toLowerCase().startsWith('attack.')) {
      const t = tacticOf(tag.slice(7));
      if (t) ruleTactics.add(t);
    }
  }
  return ids.map((id) => {
    const t = technique(id);
    if (!t) return { id, name: '', tactics: [...ruleTactics] };
    const chosen = t.tactics.filter((x) => ruleTactics.has(x));
    return { ...t, tactics: chosen.length ? chosen : t.tactics };
  });
}
