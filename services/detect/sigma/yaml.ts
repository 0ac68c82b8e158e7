// Reads the YAML documents of a rule file into plain values, keeping the line of every mapping, list and key.
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node } from 'yaml';

/** A problem with one document's YAML or shape; carries the 0-based line within the file. */
export class DocError extends Error {
  override name = 'DocError';
  constructor(message: string, readonly line: number) { super(message); }
}

/** One YAML document of a file: its value, or the first error that made it unreadable. */
export interface RuleDoc {
  value: unknown;
  /** 0-based line of the document's first content line (past the comments that open it). */
  start: number;
  error?: DocError;
}

/** Where each mapping or list read here starts, and where each of a mapping's keys is written. */
const nodeLines = new WeakMap<object, number>();
const keyLines = new WeakMap<object, Map<string, number>>();

/** The 0-based line a mapping or list starts on, or `fallback` for other values and values built in code. */
export function lineOf(node: unknown, fallback: number): number {
  return (node !== null && typeof node === 'object' ? nodeLines.get(node) : undefined) ?? fallback;
}

/** The 0-based line of `key:` in a mapping, else the mapping's own line, else `fallback`. */
export function keyLineOf(map: unknown, key: string, fallback: number): number {
  if (map === null || typeof map !== 'object') return fallback;
  return keyLines.get(map)?.get(key) ?? nodeLines.get(map) ?? fallback;
}

/** Gives `to` (built from `from` in code) the lines `from` was read with; keys of `to` already located win. */
export function carryLines(from: object, to: object): void {
  const line = nodeLines.get(from);
  if (line !== undefined && !nodeLines.has(to)) nodeLines.set(to, line);
  const keys = keyLines.get(from);
  if (!keys) return;
  const mine = keyLines.get(to) ?? new Map<string, number>();
  for (const [k, l] of keys) if (!mine.has(k)) mine.set(k, l);
  keyLines.set(to, mine);
}

/** Sets where a key of a mapping built in code is written (for a key renamed on the way). */
export function setKeyLine(map: object, key: string, line: number): void {
  const keys = keyLines.get(map) ?? new Map<string, number>();
  keys.set(key, line);
  keyLines.set(map, keys);
}

/**
 * Plain scalars are null, booleans and plain decimal numbers; everything else is a string, so unquoted
 * 0x1010, 0755 or 2023-06-16 stay the strings events carry, not 4112, 493 or a date.
 */
const DECIMAL = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$/;
const NULLS = new Set(['', '~', 'null', 'Null', 'NULL']);
const BOOLS = new Map([['true', true], ['True', true], ['TRUE', true], ['false', false], ['False', false], ['FALSE', false]]);

function plainScalar(s: string): unknown {
  if (NULLS.has(s)) return null;
  const b = BOOLS.get(s);
  if (b !== undefined) return b;
  return DECIMAL.test(s) ? Number(s) : s;
}

/** How many nodes aliases may repeat in one document: anchors are shared, never copied, but walks over them are not. */
const MAX_ALIASED_NODES = 10_000;

/** Parses every document of a rule file. A document with broken YAML carries its error; the others their values. */
export function readDocuments(text: string): RuleDoc[] {
  const lineCounter = new LineCounter();
  const line = (offset: number): number => lineCounter.linePos(offset).line - 1;
  // The failsafe schema leaves every scalar a string; plainScalar decides the few that are not.
  const docs = parseAllDocuments(text, { lineCounter, schema: 'failsafe', prettyErrors: false, uniqueKeys: true });
  const out: RuleDoc[] = [];
  for (const doc of docs) {
    const start = line(doc.contents?.range[0] ?? doc.range[0]);
    const broken = doc.errors[0];
    if (broken) {
      out.push({ value: undefined, start, error: new DocError(`YAML: ${broken.message}`, line(broken.pos[0])) });
      continue;
    }
    try {
      out.push({ value: toValue(doc, line), start });
    } catch (e) {
      if (!(e instanceof DocError)) throw e;
      out.push({ value: undefined, start, error: e });
    }
  }
  return out;
}

function toValue(doc: Document.Parsed, line: (offset: number) => number): unknown {
  // The walk meets nodes in document order, so an alias finds the latest anchor of its name before it
  // (Alias.resolve would search the whole document again for each alias).
  const anchors = new Map<string, Node>();
  const done = new Map<Node, { value: unknown; size: number }>();
  let aliased = 0;
  const walk = (node: unknown): { value: unknown; size: number } => {
    if (node === null || node === undefined) return { value: null, size: 1 };
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      const at = line(node.range?.[0] ?? 0);
      if (!target) throw new DocError(`YAML: unknown alias *${node.source}`, at);
      const got = done.get(target);
      if (!got) throw new DocError(`YAML: alias *${node.source} refers to a node that contains it`, at);
      aliased += got.size;
      if (aliased > MAX_ALIASED_NODES) throw new DocError(`YAML: aliases repeat more than ${MAX_ALIASED_NODES} nodes`, at);
      return got;
    }
    const n = node as Node;
    if (n.anchor) anchors.set(n.anchor, n);
    if (isScalar(n)) {
      const raw = n.value === null || n.value === undefined ? '' : String(n.value);
      return remember(n, { value: n.type === 'PLAIN' ? plainScalar(raw) : raw, size: 1 });
    }
    const at = line(n.range?.[0] ?? 0);
    if (isSeq(n)) {
      const list: unknown[] = [];
      let size = 1;
      for (const item of n.items) {
        const got = walk(item);
        list.push(got.value);
        size += got.size;
      }
      nodeLines.set(list, at);
      return remember(n, { value: list, size });
    }
    if (isMap(n)) {
      const map: Record<string, unknown> = {};
      const keys = new Map<string, number>();
      let size = 1;
      for (const pair of n.items) {
        const k = walk(pair.key);
        const keyNode = isAlias(pair.key) ? anchors.get(pair.key.source) : pair.key;
        if (k.value !== null && typeof k.value === 'object') throw new DocError('YAML: a mapping key must be a plain value, not a mapping or a list', line((pair.key as Node).range?.[0] ?? at));
        // Keys are taken as written: `1.0:` stays '1.0', `true:` stays 'true'.
        const key = isScalar(keyNode) && keyNode.value !== null && keyNode.value !== undefined ? String(keyNode.value) : String(k.value);
        const v = walk(pair.value);
        // Defined, not assigned: a key named __proto__ stays an ordinary key.
        Object.defineProperty(map, key, { value: v.value, enumerable: true, writable: true, configurable: true });
        keys.set(key, isScalar(pair.key) || isAlias(pair.key) ? line(pair.key.range?.[0] ?? 0) : at);
        size += k.size + v.size;
      }
      nodeLines.set(map, at);
      keyLines.set(map, keys);
      return remember(n, { value: map, size });
    }
    throw new DocError('YAML: a node of an unknown kind', at);
  };
  const remember = (n: Node, got: { value: unknown; size: number }) => {
    if (n.anchor) done.set(n, got);
    return got;
  };
  return walk(doc.contents).value;
}
