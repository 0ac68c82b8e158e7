// Web attack detection measured end to end: values -> request targets in each arrival shape -> Apache access-log
// lines -> the production access parser -> the production Sigma engine with the shipped rules -> rates per class.
import type { Event } from '../../../services/core/proto.js';
import { huntEvents, type SigmaRule } from '../../../services/detect/index.js';
import { parseAccess } from '../../../services/normalize/parsers/access.js';

/** How a value reaches the server: the request target (path and query) that carries it. */
export const SHAPES = {
  /** Written into the path as typed (curl --path-as-is, a scanner, a hand-written request). */
  raw: (v: string): string => `/app/${v}`,
  /** A query parameter encoded with encodeURIComponent (JavaScript clients, most tools). */
  uri: (v: string): string => `/search?q=${encodeURIComponent(v)}`,
  /** An HTML form's GET submission (application/x-www-form-urlencoded: spaces as +). */
  form: (v: string): string => `/search?${new URLSearchParams({ q: v }).toString()}`,
  /** Encoded twice, as filter-evasion payloads arrive. */
  double: (v: string): string => `/search?q=${encodeURIComponent(encodeURIComponent(v))}`,
} as const satisfies Record<string, (v: string) => string>;

export type Shape = keyof typeof SHAPES;
export const SHAPE_NAMES = Object.keys(SHAPES) as Shape[];

const LEVELS = ['informational', 'low', 'medium', 'high', 'critical'];
export const levelRank = (level: string): number => LEVELS.indexOf(level);

/**
 * The request line as Apache's %r writes it: " and \ escaped with a backslash, control characters and
 * non-ASCII bytes as \xHH (nginx writes the same \xHH escapes).
 */
export function escapeRequest(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    if (b === 0x22) out += '\\"';
    else if (b === 0x5c) out += '\\\\';
    else if (b < 0x20 || b >= 0x7f) out += `\\x${b.toString(16).padStart(2, '0')}`;
    else out += String.fromCharCode(b);
  }
  return out;
}

/** One combined-format access-log line for a GET of target. */
export function accessLine(target: string, second = 0): string {
  const ss = String(second % 60).padStart(2, '0');
  return `198.51.100.7 - - [01/Jun/2025:10:00:${ss} +0000] "GET ${escapeRequest(target)} HTTP/1.1" 200 512 "-" "Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0"`;
}

const CTX = { sourceId: 'web-attacks', receivedMs: Date.UTC(2025, 5, 1, 10, 0, 0) };

/** The event the production parser makes of the line that carries value v in the given shape. */
export function eventOf(v: string, shape: Shape, i = 0): Event {
  const [e] = parseAccess(accessLine(SHAPES[shape](v), i), CTX);
  e!.id = `${i}`;
  return e!;
}

export interface ValueResult {
  value: string;
  shape: Shape;
  /** Titles of the rules that matched, with their level. */
  hits: { title: string; level: string }[];
}

/** Runs every value in every shape through parser and engine; one result per value and shape. */
export function runValues(rules: readonly SigmaRule[], values: readonly string[], shapes: readonly Shape[] = SHAPE_NAMES): ValueResult[] {
  const out: ValueResult[] = [];
  for (const shape of shapes) {
    const events = values.map((v, i) => eventOf(v, shape, i));
    const hits: ValueResult['hits'][] = values.map(() => []);
    for (const m of huntEvents(rules, events).matches) if (m.index >= 0) hits[m.index]!.push({ title: m.ruleTitle, level: m.level });
    values.forEach((value, i) => out.push({ value, shape, hits: hits[i]! }));
  }
  return out;
}

/** Whether a result counts as detected: a rule at minLevel or above matched. */
export const detectedAt = (r: ValueResult, minLevel: string): boolean => r.hits.some((h) => levelRank(h.level) >= levelRank(minLevel));

export interface ClassRow {
  name: string;
  values: number;
  /** Per shape: results detected at medium or higher. */
  byShape: Record<Shape, number>;
  detected: number;
  total: number;
  rate: number;
  /** The lowest per-shape rate: every shape must reach the target. */
  worstShapeRate: number;
  missed: ValueResult[];
}

export function classRow(name: string, results: readonly ValueResult[], minLevel = 'medium'): ClassRow {
  const byShape = Object.fromEntries(SHAPE_NAMES.map((s) => [s, 0])) as Record<Shape, number>;
  const perShape = Object.fromEntries(SHAPE_NAMES.map((s) => [s, 0])) as Record<Shape, number>;
  const missed: ValueResult[] = [];
  let detected = 0;
  for (const r of results) {
    perShape[r.shape]++;
    if (detectedAt(r, minLevel)) { detected++; byShape[r.shape]++; } else missed.push(r);
  }
  const shapes = SHAPE_NAMES.filter((s) => perShape[s] > 0);
  const worstShapeRate = Math.min(...shapes.map((s) => byShape[s] / perShape[s]));
  return { name, values: results.length / Math.max(1, shapes.length), byShape, detected, total: results.length, rate: detected / Math.max(1, results.length), worstShapeRate, missed };
}

/** Benign results with any alerting match (level low or above): false positives. */
export const falsePositives = (results: readonly ValueResult[]): ValueResult[] => results.filter((r) => detectedAt(r, 'low'));
