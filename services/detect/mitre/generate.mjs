// Regenerates techniques.json (ATT&CK id -> name and tactics) from the shared MITRE ATT&CK export.
// Usage: node services/detect/mitre/generate.mjs [/work/shared/data/mitre-attack]
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const src = process.argv[2] ?? '/work/shared/data/mitre-attack';
const data = JSON.parse(readFileSync(join(src, 'enterprise_attack_v18_techniques.json'), 'utf8'));
const titleCase = (s) => s.split('-').map((w, i) => (i > 0 && w === 'and' ? w : w[0].toUpperCase() + w.slice(1))).join(' ');

const tactics = {};
for (const t of data.tactics) tactics[t.shortname] = { id: t.id, name: titleCase(t.shortname) };
const techniques = {};
for (const t of [...data.techniques].sort((a, b) => a.id.localeCompare(b.id))) {
  techniques[t.id] = { name: t.is_subtechnique && t.parent_name ? `${t.parent_name}: ${t.name}` : t.name, tactics: t.tactics };
}
const out = { attack_version: String(data.attack_version), tactics, techniques };
const dest = join(dirname(fileURLToPath(import.meta.url)), 'techniques.json');
writeFileSync(dest, JSON.stringify(out) + '\n');
console.log(`wrote ${Object.keys(techniques).length} techniques and ${Object.keys(tactics).length} tactics to ${dest}`);
