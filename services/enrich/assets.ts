// Asset context: the registry of known machines (agents table), looked up by agent id or IP, refreshed from PostgreSQL.
import type { Db } from '../core/db/index.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import { parseIp, scopeOf } from './ip.js';

/** A row of the agents table, as enrichment uses it. */
export interface AssetRecord {
  id: string;
  hostname: string | null;
  os: string | null;
  ips: string[];
  tags: string[];
}

/** Levels alert scoring knows (services/detect/alert.ts), lowest first. */
export const CRITICALITY_LEVELS = ['low', 'medium', 'high', 'critical'] as const;

export interface Asset {
  id: string;
  hostname: string;
  os: string;
  /** Canonical addresses. */
  ips: string[];
  tags: string[];
  /** From a tag 'criticality:<level>' (or '='); '' when none. */
  criticality: string;
  /** The tags sorted and comma-joined: the asset_tags label of an event that touches only this asset. */
  tagsLabel: string;
}

function criticalityOf(tags: string[]): string {
  let best = -1;
  for (const t of tags) {
    const m = /^criticality[:=](\w+)$/i.exec(t);
    const i = m ? (CRITICALITY_LEVELS as readonly string[]).indexOf(m[1]!.toLowerCase()) : -1;
    if (i > best) best = i;
  }
  return best < 0 ? '' : CRITICALITY_LEVELS[best]!;
}

/**
 * The machines enrichment knows, indexed by agent id and by address. An address claimed by more
 * than one asset (the same RFC 1918 address in two sites, docker0's 172.17.0.1 on every host) is
 * ambiguous and joins nothing; loopback, link-local and unspecified addresses are never indexed.
 */
export class AssetRegistry {
  private readonly byId = new Map<string, Asset>();
  private readonly byAddress = new Map<string, Asset>();
  /** Addresses left out because several assets claim them. */
  readonly ambiguous: string[] = [];

  constructor(records: readonly AssetRecord[]) {
    const claims = new Map<string, Asset[]>();
    for (const r of records) {
      const ips: string[] = [];
      for (const raw of r.ips ?? []) {
        const ip = parseIp(String(raw).split('/')[0]!.trim());
        if (!ip || ips.includes(ip.text)) continue;
        ips.push(ip.text);
      }
      const tags = [...new Set((r.tags ?? []).map((t) => t.trim()).filter(Boolean))];
      const a: Asset = { id: r.id, hostname: r.hostname ?? '', os: r.os ?? '', ips, tags, criticality: criticalityOf(tags), tagsLabel: [...tags].sort().join(',') };
      this.byId.set(a.id, a);
      for (const text of ips) {
        const scope = scopeOf(parseIp(text)!);
        if (scope === 'loopback' || scope === 'link-local' || scope === 'unspecified' || scope === 'multicast') continue;
        const list = claims.get(text);
        if (list) list.push(a); else claims.set(text, [a]);
      }
    }
    for (const [text, list] of claims) {
      if (list.length === 1) this.byAddress.set(text, list[0]!);
      else this.ambiguous.push(text);
    }
  }

  get size(): number {
    return this.byId.size;
  }

  byAgentId(id: string): Asset | undefined {
    return this.byId.get(id);
  }

  /** By canonical address text (IpFacts.ip.text). */
  byIp(text: string): Asset | undefined {
    return this.byAddress.get(text);
  }
}

export const EMPTY_ASSETS = new AssetRegistry([]);

/** Reads every agent of the agents table. */
export async function loadAssetRecords(db: Db): Promise<AssetRecord[]> {
  return db.selectFrom('agents').select(['id', 'hostname', 'os', 'ips', 'tags']).execute();
}

/**
 * Keeps an AssetRegistry loaded from the database: once at start, then every `refreshIntervalMs`.
 * A refresh that fails keeps the previous registry and says why.
 */
export class AssetSource {
  private current: AssetRegistry = EMPTY_ASSETS;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  lastError?: string;
  loadedAtMs?: number;

  constructor(private readonly load: () => Promise<AssetRecord[]>, private readonly opts: { refreshIntervalMs: number; log?: Logger }) {}

  get registry(): AssetRegistry {
    return this.current;
  }

  async start(): Promise<void> {
    await this.refresh();
    this.schedule();
  }

  /** Loads now; true when it worked. */
  async refresh(): Promise<boolean> {
    try {
      const records = await this.load();
      this.current = new AssetRegistry(records);
      this.loadedAtMs = Date.now();
      if (this.lastError) this.opts.log?.info({ assets: this.current.size }, 'asset registry loads again');
      this.lastError = undefined;
      if (this.current.ambiguous.length) this.opts.log?.debug({ addresses: this.current.ambiguous.slice(0, 20) }, 'addresses shared by several assets are not joined');
      return true;
    } catch (err) {
      const first = this.lastError === undefined;
      this.lastError = errorMessage(err);
      (first ? this.opts.log?.warn.bind(this.opts.log) : this.opts.log?.debug.bind(this.opts.log))?.(
        { err: this.lastError, keeping: this.current.size }, 'cannot load the asset registry; the previous one stays');
      return false;
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.refresh().finally(() => this.schedule()), this.opts.refreshIntervalMs);
    this.timer.unref();
  }
}
