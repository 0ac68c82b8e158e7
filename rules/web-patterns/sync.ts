// Writes the generated regular expressions into the web rule files (`npm run rules:web-patterns`), or checks
// that they are there (`-- --check`); the expressions are built from named blocks in the modules beside this one.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED } from './index.js';

const SELECTION = /^ {4}([A-Za-z0-9_]+):\s*$/;
const REGEX_LINE = /^( {8}[A-Za-z0-9_.-]+\|re(?:\|[ims])*: )'((?:[^']|'')*)'\s*$/;

export interface SyncResult {
  text: string;
  /** rule id / selection of each expression that differed from the generated one. */
  changed: string[];
  problems: string[];
}

const yamlQuote = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** Replaces each generated expression of a rule file's text; every `|re` value in the file must be generated. */
export function syncRuleText(file: string, text: string): SyncResult {
  const lines = text.split('\n');
  const wanted = new Map(GENERATED.filter((g) => g.file === file).map((g) => [g.id, g.selections]));
  const seen = new Set<string>();
  const changed: string[] = [];
  const problems: string[] = [];
  let id = '';
  let key = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const idMatch = /^id: (\S+)/.exec(line);
    if (idMatch) { id = idMatch[1]!; continue; }
    const sel = SELECTION.exec(line);
    if (sel) { key = sel[1]!; continue; }
    const re = REGEX_LINE.exec(line);
    if (!re) continue;
    const source = wanted.get(id)?.[key];
    if (source === undefined) { problems.push(`${file}:${i + 1}: ${id} ${key} is a regular expression that no module of rules/web-patterns generates`); continue; }
    seen.add(`${id} ${key}`);
    const next = `${re[1]}${yamlQuote(source)}`;
    if (next !== line) { lines[i] = next; changed.push(`${id} ${key}`); }
  }
  for (const [rid, sels] of wanted) for (const k of Object.keys(sels)) if (!seen.has(`${rid} ${k}`)) problems.push(`${file}: rule ${rid} has no selection ${k} with a |re value to write the generated expression into`);
  return { text: lines.join('\n'), changed, problems };
}

function main(): void {
  const check = process.argv.includes('--check');
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!readdirSync(dir).includes('package.json')) dir = dirname(dir);
  const rulesDir = join(dir, 'rules');
  let failed = false;
  for (const file of [...new Set(GENERATED.map((g) => g.file))]) {
    const path = join(rulesDir, file);
    const before = readFileSync(path, 'utf8');
    const r = syncRuleText(file, before);
    for (const p of r.problems) console.error(p);
    if (r.problems.length) failed = true;
    if (r.changed.length === 0) continue;
    if (check) { console.error(`${file}: out of date (${r.changed.join(', ')}); run npm run rules:web-patterns`); failed = true; }
    else { writeFileSync(path, r.text); console.log(`${file}: wrote ${r.changed.join(', ')}`); }
  }
  if (failed) process.exit(1);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
