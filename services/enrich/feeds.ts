// Threat-intelligence feeds at run time: loading each (feed-fetch.ts), parsing it (feed-lists.ts), refresh, hot reload, status.
import { watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { basename, dirname, resolve } from 'node:path';
import { ConfigError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { IntelIndex, type FeedInfo, type IndicatorSet } from './intel.js';
import { parseFeedDefinitions, parseFeedText, type FeedDefinition } from './feed-lists.js';
import { displayUrl, fetchUrl, readPath, type FetchOptions } from './feed-fetch.js';

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
