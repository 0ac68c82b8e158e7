// Threat-intelligence feed lists: the definitions file and the list formats (ip, cidr, netset, domain, hash, csv) read into indicator sets.
import { resolve } from 'node:path';
import yaml from 'js-yaml';
import { z } from 'zod';
import { ConfigError, errorMessage } from '../core/errors.js';
import { parseCidr, parseIp } from './ip.js';
import { emptyIndicators, indicatorCount, type IndicatorSet } from './intel.js';

/** A feed that cannot be used as it is now (unreadable, refused by its server, not a list). Its previous version stays. */
export class FeedError extends Error {
  override name = 'FeedError';
  constructor(message: string, options?: ErrorOptions) { super(message, options); }
}

const FORMATS = ['ip', 'cidr', 'netset', 'domain', 'hash', 'csv'] as const;

const feedSchema = z.object({
  /** Names the feed in indicators, tags, metrics and logs. */
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, ".", "-" and "_" only (at most 64)'),
  /** An http(s) URL to fetch... */
  url: z.string().regex(/^https?:\/\/\S+$/i, 'an http:// or https:// URL').optional(),
  /** ...or a file path (relative paths start at the feeds file's folder). */
  path: z.string().min(1).optional(),
  /** ip: addresses; cidr or netset: addresses and blocks; domain: names (hosts-file lines too); hash: MD5/SHA-1/SHA-256; csv: one column of any of these. */
  format: z.enum(FORMATS),
  /** csv: the header name of the value column, or its 0-based index when the file has no usable header. */
  column: z.union([z.string().min(1), z.number().int().min(0)]).optional(),
  /** 0-100, copied into every indicator the feed matches. */
  confidence: z.number().int().min(0).max(100),
  /** How often the feed is loaded again (a file is also reloaded as soon as it changes). */
  refresh_interval_s: z.number().int().min(1).default(3600),
  /** Data older than this is no longer used: since the file was modified, or since the URL last answered. Unset: never expires. */
  max_age_s: z.number().int().min(1).optional(),
  description: z.string().default(''),
  /** Extra event tags when the feed matches, e.g. [c2, malicious-ip]. */
  tags: z.array(z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/)).default([]),
  /** Also match private, loopback and other special-purpose addresses (internal blocklists). */
  match_private_ips: z.boolean().default(false),
}).strict().superRefine((f, ctx) => {
  if (!f.url === !f.path) ctx.addIssue({ code: 'custom', message: 'give either url or path' });
  if (f.format === 'csv' && f.column === undefined) ctx.addIssue({ code: 'custom', message: 'format csv needs column' });
});

const fileSchema = z.object({ feeds: z.array(feedSchema) }).strict();

export type FeedDefinition = z.infer<typeof feedSchema>;

/** Parses and checks a feeds file (YAML or JSON); relative paths are made absolute from `baseDir`. */
export function parseFeedDefinitions(text: string, baseDir: string, where = 'feeds file'): FeedDefinition[] {
  let doc: unknown;
  try {
    doc = yaml.load(text);
  } catch (err) {
    throw new ConfigError(`${where}: not YAML or JSON: ${errorMessage(err)}`, { cause: err });
  }
  const parsed = fileSchema.safeParse(doc ?? { feeds: [] });
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top)'}: ${i.message}`);
    throw new ConfigError(`${where}: invalid feed definitions:\n${lines.join('\n')}`);
  }
  const seen = new Set<string>();
  for (const f of parsed.data.feeds) {
    if (seen.has(f.name)) throw new ConfigError(`${where}: feed name ${JSON.stringify(f.name)} is used twice`);
    seen.add(f.name);
    if (f.path) f.path = resolve(baseDir, f.path);
  }
  return parsed.data.feeds;
}

export interface ParsedFeed {
  data: IndicatorSet;
  count: number;
  /** Lines that held no indicator this format accepts, with the first few of them for the log. */
  invalid: number;
  examples: string[];
}

const HASH = /^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/;
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+[a-z0-9][a-z0-9-]{0,61}[a-z0-9]$/;

type Kind = 'net' | 'ip' | 'domain' | 'hash';

/** Adds one value of the given kind (or, for 'auto', whatever it is); false when it is none of them. */
function addValue(set: IndicatorSet, raw: string, kind: Kind | 'auto'): boolean {
  const v = raw.trim();
  if (!v) return false;
  if (kind === 'ip' || kind === 'net' || kind === 'auto') {
    const c = v.indexOf('/') < 0 || kind !== 'ip' ? parseCidr(v) : undefined;
    if (c) {
      const bits = c.version === 4 ? 32 : 128;
      if (c.len === bits) {
        if (c.version === 4) set.ips4.push(Number(c.start));
        else set.ips6.push(parseIp(c.text.slice(0, c.text.lastIndexOf('/')))!.text);
      } else if (c.version === 4) {
        set.nets4.push({ start: Number(c.start), end: Number(c.end), len: c.len });
      } else {
        set.nets6.push({ start: c.start, end: c.end, len: c.len });
      }
      return true;
    }
    if (kind !== 'auto') return false;
  }
  const lower = v.toLowerCase();
  if ((kind === 'hash' || kind === 'auto') && HASH.test(lower)) { set.hashes.push(lower); return true; }
  if (kind === 'domain' || kind === 'auto') {
    let d = lower.endsWith('.') ? lower.slice(0, -1) : lower;
    if (d.startsWith('*.')) d = d.slice(2);
    if (DOMAIN.test(d)) { set.domains.push(d); return true; }
  }
  return false;
}

/** One CSV record's fields (RFC 4180 quoting: "a ""b""", commas inside quotes). */
export function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  for (;;) {
    let field = '';
    if (line[i] === '"') {
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) { field += line.slice(i); i = line.length; break; }
        field += line.slice(i, q);
        if (line[q + 1] === '"') { field += '"'; i = q + 2; } else { i = q + 1; break; }
      }
      const comma = line.indexOf(',', i);
      i = comma < 0 ? line.length + 1 : comma + 1;
    } else {
      const comma = line.indexOf(',', i);
      field = comma < 0 ? line.slice(i) : line.slice(i, comma);
      i = comma < 0 ? line.length + 1 : comma + 1;
    }
    out.push(field.trim());
    if (i > line.length) return out;
  }
}

const isComment = (line: string) => line.startsWith('#') || line.startsWith(';') || line.startsWith('//');

/**
 * Parses a feed's text. Comments ('#', ';', '//') and blank lines are skipped; in line formats only the
 * first word counts, so trailing notes ("1.2.3.0/24 ; SBL123") are fine. A text where more than a tenth
 * of the lines hold no indicator is refused as a whole: it is an error page or the wrong format, not a list.
 */
export function parseFeedText(text: string, def: Pick<FeedDefinition, 'name' | 'format' | 'column'>): ParsedFeed {
  const set = emptyIndicators();
  let lines = 0;
  let invalid = 0;
  const examples: string[] = [];
  const bad = (n: number, line: string) => {
    invalid++;
    if (examples.length < 3) examples.push(`line ${n}: ${JSON.stringify(line.slice(0, 80))}`);
  };
  const rows = text.split(/\r?\n/);
  let columnIndex = typeof def.column === 'number' ? def.column : -1;
  for (let n = 0; n < rows.length; n++) {
    const line = rows[n]!.trim();
    if (!line || isComment(line)) continue;
    if (def.format === 'csv') {
      const fields = csvFields(line);
      if (columnIndex < 0) {
        columnIndex = fields.findIndex((f) => f.toLowerCase() === String(def.column).toLowerCase());
        if (columnIndex < 0) throw new FeedError(`column ${JSON.stringify(def.column)} is not in the CSV header (${fields.slice(0, 12).join(', ')})`);
        continue;
      }
      lines++;
      const v = fields[columnIndex];
      if (v === undefined || !addValue(set, v, 'auto')) bad(n + 1, line);
      continue;
    }
    lines++;
    const words = line.split(/[\s,;]+/);
    let value = words[0]!;
    if (def.format === 'domain' && words.length > 1 && parseIp(value)) {
      // A hosts-file line ("0.0.0.0 evil.example"); its local names are not indicators.
      value = words[1]!;
      if (!value.includes('.')) { lines--; continue; }
    }
    const kind: Kind = def.format === 'ip' ? 'ip' : def.format === 'domain' ? 'domain' : def.format === 'hash' ? 'hash' : 'net';
    if (!addValue(set, value, kind)) bad(n + 1, line);
  }
  const count = indicatorCount(set);
  if (invalid * 10 > lines) {
    throw new FeedError(`not a ${def.format} list: ${invalid} of ${lines} lines hold no indicator (${examples.join('; ')})`);
  }
  if (count === 0) throw new FeedError('the feed holds no indicators');
  return { data: set, count, invalid, examples };
}
