// `soc rules update --from <dir|.zip|.tar.gz>`: replaces the SigmaHQ pack with a newer release, validated before anything changes.
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { x as untar } from 'tar';
import yauzl from 'yauzl';
import { loadConfig } from '../../services/core/config.js';
import { ConfigError } from '../../services/core/errors.js';
import { formatProblem, loadRules, ruleDirs, type SigmaRule } from '../../services/detect/index.js';

/** The folders of a SigmaHQ release that the pack keeps (the same as the shipped rules-sigmahq/). */
const PACK_FOLDERS = ['rules', 'rules-emerging-threats', 'rules-threat-hunting', 'rules-placeholder', 'rules-compliance', 'rules-dfir'];
const LICENCE = /^licen[cs]e/i;
/** Most bytes an archive may unpack to (the whole SigmaHQ repository's rules are ~20 MB). */
const MAX_UNPACKED_BYTES = 512 * 1024 * 1024;

async function unzip(file: string, dest: string): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((res, rej) => yauzl.open(file, { lazyEntries: true }, (err, z) => (err ? rej(err) : res(z))));
  let total = 0;
  await new Promise<void>((res, rej) => {
    zip.on('error', rej);
    zip.on('end', () => res());
    zip.on('entry', (entry: yauzl.Entry) => {
      // yauzl refuses absolute names and '..' parts (decodeStrings), so every name stays under dest.
      if (entry.fileName.endsWith('/')) { zip.readEntry(); return; }
      total += entry.uncompressedSize;
      if (total > MAX_UNPACKED_BYTES) { zip.close(); rej(new ConfigError(`${file}: unpacks to more than ${MAX_UNPACKED_BYTES} bytes`)); return; }
      const out = join(dest, entry.fileName);
      mkdirSync(dirname(out), { recursive: true });
      zip.openReadStream(entry, (err, stream) => {
        if (err) { rej(err); return; }
        pipeline(stream, createWriteStream(out)).then(() => zip.readEntry(), rej);
      });
    });
    zip.readEntry();
  });
}

async function unpack(from: string): Promise<{ dir: string; cleanup: () => void }> {
  if (!existsSync(from)) throw new ConfigError(`--from ${from}: no such file or directory`);
  if (statSync(from).isDirectory()) return { dir: from, cleanup: () => undefined };
  const tmp = mkdtempSync(join(tmpdir(), 'soc-rules-'));
  const cleanup = () => rmSync(tmp, { recursive: true, force: true });
  try {
    if (/\.zip$/i.test(from)) await unzip(from, tmp);
    else if (/\.(tar\.gz|tgz|tar)$/i.test(from)) {
      let total = 0;
      // node-tar strips absolute paths and refuses '..'; only plain files and directories are taken.
      await untar({ file: from, cwd: tmp, strict: true, filter: (_p, e) => {
        if (!('type' in e)) return true;
        total += e.size ?? 0;
        if (total > MAX_UNPACKED_BYTES) throw new ConfigError(`${from}: unpacks to more than ${MAX_UNPACKED_BYTES} bytes`);
        return e.type === 'File' || e.type === 'Directory';
      } });
    } else throw new ConfigError(`--from ${from}: expected a directory, a .zip or a .tar.gz`);
  } catch (err) {
    cleanup();
    throw err;
  }
  return { dir: tmp, cleanup };
}

/** The directory of the release that holds `rules/` (the top, or a folder such as sigma-r2026-08-05/). */
function packRoot(dir: string, depth = 0): string | undefined {
  if (existsSync(join(dir, 'rules')) && statSync(join(dir, 'rules')).isDirectory()) return dir;
  if (depth >= 3) return undefined;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory() && !name.startsWith('.')) { const r = packRoot(p, depth + 1); if (r) return r; }
  }
  return undefined;
}

function files(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out);
    else if (/\.ya?ml$/i.test(name)) out.push(p);
  }
  return out;
}

/** Rule id -> hash of its file's text and its title, for the added / changed / removed summary. */
function fingerprints(root: string, rules: readonly SigmaRule[]): Map<string, { hash: string; title: string; file: string }> {
  const texts = new Map<string, string>();
  const out = new Map<string, { hash: string; title: string; file: string }>();
  for (const r of rules) {
    let text = texts.get(r.source.file);
    if (text === undefined) { text = readFileSync(r.source.file, 'utf8'); texts.set(r.source.file, text); }
    out.set(r.id, { hash: createHash('sha256').update(text).digest('hex'), title: r.title, file: relative(root, r.source.file) });
  }
  return out;
}

/** The pack directory: --pack, else the RULES_DIR entry named rules-sigmahq. */
function packDir(o: { pack?: string }, dirs: string[]): string {
  if (o.pack) return resolve(o.pack);
  const d = dirs.find((x) => basename(resolve(x)) === 'rules-sigmahq');
  if (!d) throw new ConfigError('RULES_DIR has no rules-sigmahq entry: say which pack to replace with --pack <dir>');
  return resolve(d);
}

export async function rulesUpdate(o: { from: string; pack?: string; dryRun?: boolean }): Promise<void> {
  const config = loadConfig();
  const dirs = ruleDirs(config.RULES_DIR);
  const target = packDir(o, dirs);
  const { dir, cleanup } = await unpack(o.from);
  try {
    const root = packRoot(dir);
    if (!root) throw new ConfigError(`${o.from}: no rules/ folder found (expected a SigmaHQ release or repository)`);
    const folders = PACK_FOLDERS.filter((f) => existsSync(join(root, f)));

    // Validate everything first: the new pack together with the other rule directories (duplicate ids across them count).
    const others = dirs.map((d) => resolve(d)).filter((d) => d !== target && basename(d) !== 'rules-sigmahq' && existsSync(d));
    const next = loadRules([...others, ...folders.map((f) => join(root, f))]);
    const errors = next.problems.filter((p) => p.severity === 'error');
    if (errors.length) {
      for (const p of errors.slice(0, 50)) process.stderr.write(`${formatProblem(p)}\n`);
      if (errors.length > 50) process.stderr.write(`... and ${errors.length - 50} more\n`);
      throw new ConfigError(`${o.from}: ${errors.length} rule problem(s); nothing was changed`);
    }
    const newRules = next.rules.filter((r) => r.source.file.startsWith(root));
    const before = fingerprints(target, existsSync(target) ? loadRules(PACK_FOLDERS.map((f) => join(target, f)).filter((p) => existsSync(p))).rules : []);
    const after = fingerprints(root, newRules);
    const added = [...after].filter(([id]) => !before.has(id));
    const changed = [...after].filter(([id, v]) => before.has(id) && before.get(id)!.hash !== v.hash);
    const removed = [...before].filter(([id]) => !after.has(id));
    for (const [id, v] of added) process.stdout.write(`+ ${id}  ${v.title}  (${v.file})\n`);
    for (const [id, v] of changed) process.stdout.write(`~ ${id}  ${v.title}  (${v.file})\n`);
    for (const [id, v] of removed) process.stdout.write(`- ${id}  ${v.title}  (${v.file})\n`);
    process.stderr.write(`${after.size} rule(s) in the new pack: ${added.length} added, ${changed.length} changed, ${removed.length} removed, ${after.size - added.length - changed.length} unchanged\n`);
    if (o.dryRun) return;

    // Files are replaced in place, so the detect service's watch on RULES_DIR sees the change and reloads.
    const keep = new Set<string>();
    for (const f of folders) {
      for (const src of files(join(root, f))) {
        const rel = relative(root, src);
        keep.add(rel);
        const dst = join(target, rel);
        const text = readFileSync(src);
        if (existsSync(dst) && readFileSync(dst).equals(text)) continue;
        mkdirSync(dirname(dst), { recursive: true });
        writeFileSync(dst, text);
      }
    }
    for (const f of PACK_FOLDERS) for (const old of files(join(target, f))) if (!keep.has(relative(target, old))) unlinkSync(old);
    // DRL 1.1: the licence travels with the rules; a release without its own keeps the one already here.
    for (const name of readdirSync(root)) if (LICENCE.test(name) && statSync(join(root, name)).isFile()) writeFileSync(join(target, name), readFileSync(join(root, name)));
    writeFileSync(join(target, 'SOURCE.txt'), `${existsSync(join(root, 'SOURCE.txt')) ? readFileSync(join(root, 'SOURCE.txt'), 'utf8').trimEnd() + '\n\n' : ''}`
      + `Installed by soc rules update from ${basename(o.from)} on ${new Date().toISOString()}: ${after.size} rules (${folders.join(', ')}).\n`
      + 'License: Detection Rule License (DRL) 1.1 (LICENSE-DRL-1.1.md).\n');
    process.stderr.write(`${target} updated; a running detect service reloads it (it watches RULES_DIR)\n`);
  } finally {
    cleanup();
  }
}
