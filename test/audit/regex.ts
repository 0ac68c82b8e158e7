// npm run audit:regex: every regular expression literal on the log path through recheck's ReDoS analysis.
// ESLint's regexp rules (eslint.config.js) catch the common shapes on every lint; recheck also searches for
// attack strings and catches what they miss (it found "Accepted ... for (.*) from" quadratic), at seconds a
// pattern, so it runs on demand. Exit status 1 when a pattern is vulnerable.
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { check } from 'recheck';
import ts from 'typescript';
import { ROOT } from '../harness.js';

/** Files whose patterns run on bodies, records, agent input or feeds. */
const ROOTS = ['services/normalize', 'services/ingest', 'services/core/ecs.ts', 'services/core/untrusted.ts', 'services/enrich/feeds.ts'];

function files(path: string): string[] {
  const full = join(ROOT, path);
  if (path.endsWith('.ts')) return [full];
  return readdirSync(full, { withFileTypes: true }).flatMap((d) => {
    const p = join(path, d.name);
    if (d.isDirectory()) return files(p);
    return d.name.endsWith('.ts') && !d.name.endsWith('.test.ts') ? [join(ROOT, p)] : [];
  });
}

interface Literal { where: string; source: string; flags: string }

function literals(file: string): Literal[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: Literal[] = [];
  const visit = (n: ts.Node): void => {
    if (n.kind === ts.SyntaxKind.RegularExpressionLiteral) {
      const text = n.getText(sf);
      const slash = text.lastIndexOf('/');
      out.push({ where: `${relative(ROOT, file)}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`, source: text.slice(1, slash), flags: text.slice(slash + 1) });
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

const timeout = Number(process.env.RECHECK_TIMEOUT_MS ?? 10_000);
const all = ROOTS.flatMap(files).flatMap(literals);
let vulnerable = 0;
let unknown = 0;
for (const l of all) {
  const started = performance.now();
  const r = await check(l.source, l.flags, { timeout });
  const ms = Math.round(performance.now() - started);
  if (r.status === 'vulnerable') vulnerable++;
  if (r.status === 'unknown') unknown++;
  const verdict = r.status === 'safe' ? r.complexity.type : r.status === 'vulnerable' ? r.complexity.summary : `unknown (${r.error.kind})`;
  const attack = r.status === 'vulnerable' ? `  attack: ${r.attack.pattern.slice(0, 100)}` : '';
  process.stdout.write(`${r.status.padEnd(10)} ${verdict.padEnd(28)} ${String(ms).padStart(6)} ms  ${l.where}  /${l.source.slice(0, 90)}/${l.flags}${attack}\n`);
}
process.stdout.write(`${all.length} patterns: ${all.length - vulnerable - unknown} safe, ${vulnerable} vulnerable, ${unknown} unknown (time-out ${timeout} ms; an unknown one must run on bounded input only)\n`);
if (vulnerable) process.exitCode = 1;
