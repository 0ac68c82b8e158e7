// The rules directory as the detect service sees it: loaded file by file, each file's last good version kept.
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { linkRules, listRuleFiles, parseRuleText } from './sigma/loader.js';
import type { LoadProblem, SigmaRule } from './sigma/types.js';

export interface RuleSetVersion {
  rules: SigmaRule[];
  problems: LoadProblem[];
  /** Files whose new text failed to load, so their previous rules stay in use. */
  kept: string[];
}

export class RuleDirectory {
  private readonly lastGood = new Map<string, { text: string; rules: SigmaRule[] }>();

  constructor(readonly dirs: readonly string[]) {}

  /**
   * Reads every rule file. A file that now fails to load keeps the rules of its last good version,
   * so a typo saved into a rule never switches that rule off; its problems are reported all the same.
   * `extra` (the saved filters, parsed) joins the files' rules before the set is linked, so an id clash between
   * them is found like one between two files.
   */
  load(extra?: { rules: readonly SigmaRule[]; problems: readonly LoadProblem[] }): RuleSetVersion {
    const files: string[] = [];
    const problems: LoadProblem[] = [];
    for (const d of this.dirs) {
      try {
        listRuleFiles(d, files);
      } catch (err) {
        problems.push({ file: d, line: 0, message: `cannot read the rules directory: ${(err as Error).message}`, severity: 'error' });
      }
    }
    const rules: SigmaRule[] = [];
    const kept: string[] = [];
    const seen = new Set<string>();
    for (const f of files) {
      seen.add(f);
      let text: string;
      try {
        text = readFileSync(f, 'utf8');
      } catch (err) {
        problems.push({ file: f, line: 0, message: `cannot read: ${(err as Error).message}`, severity: 'error' });
        continue;
      }
      const prev = this.lastGood.get(f);
      if (prev && prev.text === text) {
        rules.push(...prev.rules);
        continue;
      }
      const r = parseRuleText(text, f);
      problems.push(...r.problems);
      const failed = r.problems.some((p) => p.severity === 'error');
      if (failed && prev) {
        kept.push(f);
        rules.push(...prev.rules);
      } else {
        rules.push(...r.rules);
        if (!failed) this.lastGood.set(f, { text, rules: r.rules });
      }
    }
    for (const f of [...this.lastGood.keys()]) if (!seen.has(f)) this.lastGood.delete(f);
    if (extra) {
      rules.push(...extra.rules);
      problems.push(...extra.problems);
    }
    return { rules: linkRules(rules, problems), problems, kept };
  }

  /** Calls `onChange` (debounced) when a file under the directories changes. */
  watch(onChange: () => void, debounceMs = 300): { close(): void } {
    let timer: NodeJS.Timeout | undefined;
    const fire = () => {
      clearTimeout(timer);
      timer = setTimeout(onChange, debounceMs);
    };
    const watchers: FSWatcher[] = [];
    for (const d of this.dirs) {
      try {
        watchers.push(watch(d, { recursive: true }, fire));
      } catch {
        // A directory that does not exist yet is reported by load(); nothing to watch.
      }
    }
    return { close: () => { clearTimeout(timer); for (const w of watchers) w.close(); } };
  }
}
