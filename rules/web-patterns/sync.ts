// Writes the generated regular expressions into the web rule files (`npm run rules:web-patterns`), or checks
// that they are there (`-- --check`); the expressions are built from named blocks in the modules beside this one.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED } from './index.js';

const SELECTION = /^ {4}([A-Za-z0-9_]+):\s*$/;
/** `        c-uri|re|i: '...'` (one expression) or `        c-uri|re|i:` followed by a list. */
const REGEX_KEY = /^( {8}[A-Za-z0-9_.-]+\|re(?:\|[ims])*:)(?: '((?:[^']|'')*)')?\s*$/;
const LIST_ITEM = /^ {12}- '((?:[^']|'')*)'\s*$/;

export interface SyncResult {
  text: string;
  /** rule id / selection of each expression that differed from the generated one. */
  changed: string[];
  problems: string[];
}

const yamlQuote = (s: string): string => `'${s.replace(/'/g, "''")}'`;

/** The YAML lines of a generated value: one expression on the key's line, or a list below it. */
function render(key: string, value: string | readonly string[]): string[] {
  if (typeof value === 'string') return [`${key} ${yamlQuote(value)}`];
  return [key, ...value.map((v) => `            - ${yamlQuote(v)}`)];
}

/** Replaces each generated expression of a rule file's text; every `|re` value in the file must be generated. */
export function syncRuleText(file: string, text: string): SyncResult {
  const lines = text.split('\n');
  const out: string[] = [];
  const wanted = new Map(GENERATED.filter((g) => g.file === file).map((g) => [g.id, g.selections]));
  const seen = new Set<string>();
  const changed: string[] = [];
  const problems: string[] = [];
  let id = '';
  let key = '';
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const idMatch = /^id: (\S+)/.exec(line);
    if (idMatch) id = idMatch[1]!;
    const sel = SELECTION.exec(line);
    if (sel) key = sel[1]!;
    const re = REGEX_KEY.exec(line);
    if (!re) { out.push(line); continue; }
    // The value as written: the key's own line, plus list items below it.
    let end = i + 1;
    if (re[2] === undefined) while (end < lines.length && LIST_ITEM.test(lines[end]!)) end++;
    const written = lines.slice(i, end);
    const value = wanted.get(id)?.[key];
    if (value === undefined) {
      problems.push(`${file}:${i + 1}: ${id} ${key} is a regular expression that no module of rules/web-patterns generates`);
      out.push(...written);
    } else {
      seen.add(`${id} ${key}`);
      const next = render(re[1]!, value);
      if (next.join('\n') !== written.join('\n')) changed.push(`${id} ${key}`);
      out.push(...next);
    }
    i = end - 1;
  }
  for (const [rid, sels] of wanted) for (const k of Object.keys(sels)) if (!seen.has(`${rid} ${k}`)) problems.push(`${file}: rule ${rid} has no selection ${k} with a |re value to write the generated expression into`);
  return { text: out.join('\n'), changed, problems };
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
