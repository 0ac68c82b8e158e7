// Threat-intelligence feeds: their definitions file, the list formats, loading from files or HTTP(S), refresh, hot reload, status.
import { watch, type FSWatcher } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import yaml from 'js-yaml';
import { z } from 'zod';
import { ConfigError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { parseCidr, parseIp } from './ip.js';
import { emptyIndicators, indicatorCount, IntelIndex, type FeedInfo, type IndicatorSet } from './intel.js';

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

export interface FetchOptions {
  timeoutMs: number;
  maxBytes: number;
}

interface Fetched {
  text: string;
  /** When the data was current: the file's modification time, or now for a URL that answered. */
  dataTimeMs: number;
  /** Validators for the next conditional request. */
  etag?: string;
  lastModified?: string;
  /** The server said 304 Not Modified. */
  unchanged?: boolean;
}

function decode(bytes: Uint8Array, maxBytes: number): string {
  let b = bytes;
  if (b[0] === 0x1f && b[1] === 0x8b) {
    try {
      b = gunzipSync(b, { maxOutputLength: maxBytes });
    } catch (err) {
      throw new FeedError(`cannot gunzip: ${errorMessage(err)}`, { cause: err });
    }
  }
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
}

async function readPath(path: string, o: FetchOptions): Promise<Fetched> {
  try {
    const st = await stat(path);
    if (!st.isFile()) throw new FeedError(`${path} is not a file`);
    if (st.size > o.maxBytes) throw new FeedError(`${path} is ${st.size} bytes, more than INTEL_FEED_MAX_BYTES (${o.maxBytes})`);
    return { text: decode(await readFile(path), o.maxBytes), dataTimeMs: st.mtimeMs };
  } catch (err) {
    if (err instanceof FeedError) throw err;
    throw new FeedError(`cannot read ${path}: ${errorMessage(err)}`, { cause: err });
  }
}

/** A URL as logs and status show it: no user info, no query (feed URLs often carry an API key there). */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}${u.search ? '?…' : ''}`;
  } catch {
    return '(invalid URL)';
  }
}

async function fetchUrl(url: string, o: FetchOptions, prev: { etag?: string; lastModified?: string }, nowMs: number): Promise<Fetched> {
  const shown = displayUrl(url);
  const headers: Record<string, string> = { 'user-agent': 'minisoc-enrich' };
  if (prev.etag) headers['if-none-match'] = prev.etag;
  if (prev.lastModified) headers['if-modified-since'] = prev.lastModified;
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: AbortSignal.timeout(o.timeoutMs), redirect: 'follow' });
  } catch (err) {
    const why = (err as Error)?.name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : errorMessage((err as Error)?.cause ?? err);
    throw new FeedError(`cannot fetch ${shown}: ${why}`, { cause: err });
  }
  if (res.status === 304) {
    await res.body?.cancel();
    return { text: '', dataTimeMs: nowMs, etag: prev.etag, lastModified: prev.lastModified, unchanged: true };
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new FeedError(`${shown} answered HTTP ${res.status} ${res.statusText}`.trim());
  }
  const declared = Number(res.headers.get('content-length') ?? 0);
  if (declared > o.maxBytes) {
    await res.body?.cancel();
    throw new FeedError(`${shown} sends ${declared} bytes, more than INTEL_FEED_MAX_BYTES (${o.maxBytes})`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body ?? []) {
      size += chunk.byteLength;
      if (size > o.maxBytes) throw new FeedError(`${shown} sent more than INTEL_FEED_MAX_BYTES (${o.maxBytes})`);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof FeedError) throw err;
    throw new FeedError(`${shown}: download failed: ${errorMessage(err)}`, { cause: err });
  }
  return {
    text: decode(Buffer.concat(chunks), o.maxBytes), dataTimeMs: nowMs,
    etag: res.headers.get('etag') ?? undefined, lastModified: res.headers.get('last-modified') ?? undefined,
  };
}

/** What `FeedManager.status()` lists for one feed. */
export interface FeedStatus {
  name: string;
  source: string;
  format: string;
  /** ok: in use; failed: never loaded; stale: the last load failed, the previous version is in use; expired: data older than max_age_s, not used. */
  state: 'ok' | 'failed' | 'stale' | 'expired' | 'pending';
  indicators: number;
  /** Lines skipped in the version in use. */
  invalidLines: number;
  /** When the version in use was loaded, and how old its data is. */
  loadedAt?: string;
  ageS?: number;
  expiresAt?: string;
  lastAttemptAt?: string;
  /** Why the last load failed (absent when it worked). */
  lastError?: string;
  /** Loads that failed in a row. */
  failures: number;
  nextRefreshAt?: string;
}

interface FeedState {
  def: FeedDefinition;
  key: string;
  info?: FeedInfo;
  data?: IndicatorSet;
  count: number;
  invalid: number;
  loadedAtMs?: number;
  dataTimeMs?: number;
  /** Hash of the text of the version in use: the same text again is not parsed again. */
  digest?: string;
  etag?: string;
  lastModified?: string;
  lastAttemptMs?: number;
  lastError?: string;
  failures: number;
  timer?: NodeJS.Timeout;
  nextMs?: number;
  loading?: Promise<void>;
  again?: boolean;
  removed?: boolean;
}

export interface FeedManagerOptions extends FetchOptions {
  /** The feeds file (YAML or JSON): watched, and reloaded when it changes. */
  file?: string;
  /** Definitions given directly instead of a file. */
  definitions?: FeedDefinition[];
  log?: Logger;
  now?: () => number;
  /** Quiet time after a file change before it is read (editors write in several steps). */
  watchDebounceMs?: number;
  /** Delay before a failed load is tried again (capped by the feed's own interval). */
  retryAfterMs?: number;
}

/**
 * Keeps every feed loaded: on a schedule, when its file changes, and when the feeds file changes.
 * A load that fails keeps the previous version and records why; data past its max age is dropped.
 * `index` is always a complete, immutable index: lookups never see a half-built one.
 */
export class FeedManager {
  private feeds = new Map<string, FeedState>();
  private current: IntelIndex = new IntelIndex([]);
  private definitionsError?: string;
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly debounce = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  private readonly now: () => number;

  constructor(private readonly opts: FeedManagerOptions) {
    this.now = opts.now ?? Date.now;
  }

  get index(): IntelIndex {
    return this.current;
  }

  /** Reads the definitions (a ConfigError when they are invalid), loads every feed once, then keeps them fresh. */
  async start(): Promise<void> {
    const defs = this.opts.file ? await this.readDefinitions() : this.opts.definitions ?? [];
    await this.apply(defs);
  }

  stop(): void {
    this.stopped = true;
    for (const f of this.feeds.values()) clearTimeout(f.timer);
    for (const t of this.debounce.values()) clearTimeout(t);
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
  }

  /** Loads one feed (or all) now; resolves when done. */
  async refresh(name?: string): Promise<void> {
    const targets = [...this.feeds.values()].filter((f) => !name || f.def.name === name);
    await Promise.all(targets.map((f) => this.load(f)));
  }

  status(): FeedStatus[] {
    const now = this.now();
    const iso = (ms?: number) => (ms === undefined || !Number.isFinite(ms) ? undefined : new Date(ms).toISOString());
    return [...this.feeds.values()].map((f) => {
      const expired = f.info !== undefined && f.info.expiresAtMs <= now;
      const state: FeedStatus['state'] = !f.info ? (f.lastError ? 'failed' : 'pending') : expired ? 'expired' : f.lastError ? 'stale' : 'ok';
      return {
        name: f.def.name, source: f.def.url ? displayUrl(f.def.url) : f.def.path!, format: f.def.format, state,
        indicators: f.info && !expired ? f.count : 0, invalidLines: f.invalid,
        loadedAt: iso(f.loadedAtMs), ageS: f.dataTimeMs === undefined ? undefined : Math.max(0, Math.round((now - f.dataTimeMs) / 1000)),
        expiresAt: iso(f.info?.expiresAtMs), lastAttemptAt: iso(f.lastAttemptMs), lastError: f.lastError, failures: f.failures,
        nextRefreshAt: iso(f.nextMs),
      };
    });
  }

  /** Why the feeds file could not be used last time it changed (its previous definitions stay). */
  get definitionsProblem(): string | undefined {
    return this.definitionsError;
  }

  private async readDefinitions(): Promise<FeedDefinition[]> {
    const file = this.opts.file!;
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`INTEL_FEEDS_FILE ${JSON.stringify(file)}: cannot read: ${errorMessage(err)}`, { cause: err });
    }
    return parseFeedDefinitions(text, dirname(resolve(file)), `INTEL_FEEDS_FILE ${file}`);
  }

  private async reloadDefinitions(): Promise<void> {
    try {
      const defs = await this.readDefinitions();
      this.definitionsError = undefined;
      await this.apply(defs);
      this.opts.log?.info({ feeds: defs.map((d) => d.name) }, 'feed definitions reloaded');
    } catch (err) {
      this.definitionsError = errorMessage(err);
      this.opts.log?.error({ err: this.definitionsError }, 'feeds file changed but is not valid; the previous definitions stay');
    }
  }

  /** Makes the running feeds match `defs`: new and changed ones are loaded, removed ones dropped, others left alone. */
  private async apply(defs: FeedDefinition[]): Promise<void> {
    const next = new Map<string, FeedState>();
    const toLoad: FeedState[] = [];
    for (const def of defs) {
      const key = JSON.stringify(def);
      const have = this.feeds.get(def.name);
      if (have && have.key === key) { next.set(def.name, have); continue; }
      const f: FeedState = { def, key, count: 0, invalid: 0, failures: 0 };
      next.set(def.name, f);
      toLoad.push(f);
    }
    for (const [name, f] of this.feeds) {
      if (next.get(name) !== f) {
        f.removed = true;
        clearTimeout(f.timer);
      }
    }
    this.feeds = next;
    if (!this.stopped) this.syncWatches();
    await Promise.all(toLoad.map((f) => this.load(f, false)));
    this.rebuild();
  }

  private load(f: FeedState, rebuild = true): Promise<void> {
    if (f.loading) {
      f.again = true;
      return f.loading;
    }
    f.loading = (async () => {
      do {
        f.again = false;
        const changed = await this.loadOnce(f);
        if (changed && rebuild && !f.removed) this.rebuild();
      } while (f.again && !this.stopped && !f.removed);
    })().finally(() => {
      f.loading = undefined;
      this.schedule(f);
    });
    return f.loading;
  }

  /** One attempt; true when the data in use changed (new version, or old version expired). */
  private async loadOnce(f: FeedState): Promise<boolean> {
    const { def } = f;
    const started = this.now();
    f.lastAttemptMs = started;
    try {
      const fetched = def.path ? await readPath(def.path, this.opts) : await fetchUrl(def.url!, this.opts, f.data ? f : {}, started);
      const digest = fetched.unchanged ? f.digest : createHash('sha256').update(fetched.text).digest('base64');
      if (f.info && f.data && digest === f.digest) {
        // The same data (a 304, or the same bytes again): only its age starts again, in place, no rebuild.
        this.recovered(f);
        f.dataTimeMs = fetched.dataTimeMs;
        f.info.expiresAtMs = this.info(def, fetched.dataTimeMs).expiresAtMs;
        f.etag = fetched.etag ?? f.etag;
        f.lastModified = fetched.lastModified ?? f.lastModified;
        return this.expireIfOld(f);
      }
      const parsed = parseFeedText(fetched.text, def);
      f.data = parsed.data;
      f.count = parsed.count;
      f.invalid = parsed.invalid;
      f.dataTimeMs = fetched.dataTimeMs;
      f.loadedAtMs = this.now();
      f.etag = fetched.etag;
      f.lastModified = fetched.lastModified;
      f.info = this.info(def, fetched.dataTimeMs);
      f.digest = digest;
      this.recovered(f);
      if (parsed.invalid) this.opts.log?.warn({ feed: def.name, invalid: parsed.invalid, examples: parsed.examples }, 'feed lines skipped');
      this.opts.log?.info({ feed: def.name, indicators: parsed.count, ms: Math.round(this.now() - started) }, 'feed loaded');
      this.expireIfOld(f);
      return true;
    } catch (err) {
      f.lastError = errorMessage(err);
      f.failures++;
      this.opts.log?.error({ feed: def.name, err: f.lastError, failures: f.failures, keeping: f.info ? f.count : 0 },
        f.info ? 'feed load failed; the previous version stays' : 'feed load failed');
      return this.expireIfOld(f);
    }
  }

  private recovered(f: FeedState): void {
    if (f.lastError) this.opts.log?.info({ feed: f.def.name, after: f.failures }, 'feed loads again');
    f.lastError = undefined;
    f.failures = 0;
  }

  /** Drops data past its max age (memory; lookups already ignore it). True when it did. */
  private expireIfOld(f: FeedState): boolean {
    if (f.info && f.data && f.info.expiresAtMs <= this.now()) {
      this.opts.log?.warn({ feed: f.def.name, expiredAt: new Date(f.info.expiresAtMs).toISOString() }, 'feed data expired and is no longer used');
      f.data = undefined;
      return true;
    }
    return false;
  }

  private info(def: FeedDefinition, dataTimeMs: number): FeedInfo {
    return {
      name: def.name, confidence: def.confidence, description: def.description, tags: def.tags, matchPrivate: def.match_private_ips,
      expiresAtMs: def.max_age_s === undefined ? Infinity : dataTimeMs + def.max_age_s * 1000,
    };
  }

  private schedule(f: FeedState): void {
    clearTimeout(f.timer);
    if (this.stopped || f.removed) return;
    const every = f.def.refresh_interval_s * 1000;
    const delay = f.lastError ? Math.min(every, this.opts.retryAfterMs ?? 60_000) : every;
    f.nextMs = this.now() + delay;
    f.timer = setTimeout(() => void this.load(f), delay);
    f.timer.unref();
  }

  private rebuild(): void {
    const now = this.now();
    const live = [...this.feeds.values()].filter((f) => f.info && f.data && f.info.expiresAtMs > now).map((f) => ({ info: f.info!, data: f.data! }));
    this.current = new IntelIndex(live);
  }

  /**
   * Watches the folders of the feeds file and of every file feed (not the files: a file replaced by
   * rename, as editors and `mv` save, would no longer be watched). Folders no longer needed are let go.
   */
  private syncWatches(): void {
    const wanted = new Set<string>();
    if (this.opts.file) wanted.add(dirname(resolve(this.opts.file)));
    for (const f of this.feeds.values()) if (f.def.path) wanted.add(dirname(f.def.path));
    for (const [dir, w] of this.watchers) if (!wanted.has(dir)) { w.close(); this.watchers.delete(dir); }
    for (const dir of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, (_event, file) => this.changed(dir, file ? file.toString() : undefined));
        w.on('error', (err) => this.opts.log?.warn({ dir, err: errorMessage(err) }, 'feed folder watch failed; changes are picked up at the next refresh'));
        this.watchers.set(dir, w);
      } catch (err) {
        this.opts.log?.warn({ dir, err: errorMessage(err) }, 'cannot watch a feed folder; changes are picked up at the next refresh');
      }
    }
  }

  /** A file in a watched folder changed (`file` undefined: the platform did not say which). */
  private changed(dir: string, file: string | undefined): void {
    const hit = (p: string) => dirname(p) === dir && (file === undefined || basename(p) === file);
    if (this.opts.file && hit(resolve(this.opts.file))) this.debounced('definitions', () => void this.reloadDefinitions());
    for (const f of this.feeds.values()) if (f.def.path && hit(f.def.path)) this.debounced(`feed:${f.def.name}`, () => { if (!f.removed) void this.load(f); });
  }

  private debounced(key: string, fn: () => void): void {
    clearTimeout(this.debounce.get(key));
    const t = setTimeout(() => {
      this.debounce.delete(key);
      if (!this.stopped) fn();
    }, this.opts.watchDebounceMs ?? 200);
    t.unref();
    this.debounce.set(key, t);
  }
}
